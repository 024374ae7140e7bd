"""The API's cast (healthchecks-style): two resellers, their staff, tokens, and a client that sends them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from portal.apitokens.services import create_token
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    CustomerUserFactory,
    NumberFactory,
    StaffFactory,
    SubscriberFactory,
    TrunkFactory,
)


class Api(APIClient):
    """An API client that sends a token: ``api.as_(token).get(...)``."""

    def as_(self, plaintext: str | None) -> Api:
        if plaintext is None:
            self.credentials()
        else:
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        return self


@pytest.fixture
def api() -> Api:
    return Api()


def token_for(user, *, write=True, **kwargs) -> str:
    return create_token(user, description=kwargs.pop("description", "CRM sync"), write_enabled=write,
                        **kwargs).plaintext


@pytest.fixture
def world(db):
    """Reseller A with a customer that has one of everything on a Simwood account; reseller B alike."""

    def reseller(name: str) -> dict:
        manager = StaffFactory(manager=True)
        r = manager.reseller
        agent = StaffFactory(reseller=r)
        account = CarrierAccountFactory(reseller=r, name=f"{name} Simwood")
        customer = CustomerFactory(reseller=r, carrier_account=account, name=f"{name} Clinic")
        subscriber = SubscriberFactory(customer=customer, carrier_account=account)
        number = NumberFactory(customer=customer, carrier_account=account)
        stock = NumberFactory(customer=None, reseller=r, carrier_account=account)
        trunk = TrunkFactory(customer=customer, carrier_account=account)
        return {"reseller": r, "manager": manager.user, "agent": agent.user, "account": account,
                "customer": customer, "subscriber": subscriber, "number": number, "stock": stock, "trunk": trunk,
                "customer_user": CustomerUserFactory(customer=customer).user}

    a, b = reseller("Anchor"), reseller("Birch")
    a["token"] = token_for(a["agent"])
    a["manager_token"] = token_for(a["manager"])
    a["read_token"] = token_for(a["agent"], write=False, description="Dashboard")
    b["token"] = token_for(b["agent"])
    return {"a": a, "b": b}


@pytest.fixture
def expired_token(world):
    issued = create_token(world["a"]["agent"], description="Old", write_enabled=True,
                          expires_at=timezone.now() + dt.timedelta(seconds=1))
    from portal.apitokens.models import ApiToken

    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    return issued.plaintext


# Carrier accounts on the sandbox (real HTTP) and real worker processes, as the sync tests have them.
from tests.sync.conftest import (  # noqa: E402,F401
    _purged_broker,
    carrier_state,
    sandbox_carrier_account,
    start_worker,
    worker,
)
