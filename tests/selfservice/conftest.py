"""Two customers of one reseller and one of another, each with one of everything.

Customer A's numbers are on a Simwood account (it holds a number's routing and its
forwards), its SIP account on a Sipwise one (it holds a subscriber's forwards), so every
self-service page has something to show. Nothing here talks to a carrier: the sync jobs
stay queued (the tests that need the sandbox start it themselves).
"""

from __future__ import annotations

import datetime as dt

import pytest

from portal.accounts.services import invite_customer_user
from portal.carriers.kinds import CarrierKind
from portal.customers.models import LoginRole
from portal.forwards.services import ForwardInput, WindowInput, set_forwards
from portal.subscribers.models import Subscriber
from tests.factories import (
    PASSWORD,
    CarrierAccountFactory,
    CustomerFactory,
    CustomerUserFactory,
    NumberFactory,
    ResellerFactory,
    StaffFactory,
    SubscriberFactory,
    TrunkFactory,
)


SIPWISE_SETTINGS = {"username": "portal", "billing_profile_id": "1", "domain": "sip.example.com"}


def services_of(customer, *, simwood, sipwise, tag: str) -> dict:
    """A SIP account, a number ringing it (with an always-on forward), a trunk and a second number."""
    subscriber = SubscriberFactory(customer=customer, carrier_account=sipwise, username=f"2{tag}1", display_name="Kira")
    number = NumberFactory(customer=customer, carrier_account=simwood, subscriber=subscriber)
    Subscriber.objects.filter(pk=subscriber.pk).update(primary_number=number)
    trunk = TrunkFactory(customer=customer, carrier_account=simwood)
    spare = NumberFactory(customer=customer, carrier_account=simwood, trunk=trunk)
    set_forwards(number, [ForwardInput("unconditional", True, [("+447911123456", 20)],
                                       [WindowInput([0, 1, 2, 3, 4], dt.time(9), dt.time(17, 30))])])
    set_forwards(subscriber, [ForwardInput("no_answer", True, [("+447911222333", 25)])])
    return {"customer": customer, "subscriber": subscriber, "number": number, "trunk": trunk, "spare": spare}


@pytest.fixture
def world(db):
    reseller, elsewhere = ResellerFactory(name="Northwind Telecom"), ResellerFactory(name="Acme Voice")
    simwood = CarrierAccountFactory(reseller=reseller, kind=CarrierKind.SIMWOOD)
    sipwise = CarrierAccountFactory(reseller=reseller, kind=CarrierKind.SIPWISE, settings=SIPWISE_SETTINGS)
    other_simwood = CarrierAccountFactory(reseller=elsewhere, kind=CarrierKind.SIMWOOD)
    other_sipwise = CarrierAccountFactory(reseller=elsewhere, kind=CarrierKind.SIPWISE, settings=SIPWISE_SETTINGS)
    a = services_of(CustomerFactory(reseller=reseller, name="Anchor Clinic", carrier_account=simwood),
                    simwood=simwood, sipwise=sipwise, tag="0")
    b = services_of(CustomerFactory(reseller=reseller, name="Beacon Legal", carrier_account=simwood),
                    simwood=simwood, sipwise=sipwise, tag="1")
    c = services_of(CustomerFactory(reseller=elsewhere, name="Copper Bakery", carrier_account=other_simwood),
                    simwood=other_simwood, sipwise=other_sipwise, tag="2")
    for found, name in ((a, "a"), (b, "b"), (c, "c")):
        found["admin"] = CustomerUserFactory(customer=found["customer"], role=LoginRole.ADMIN,
                                             user__email=f"admin@{name}.example")
        found["user"] = CustomerUserFactory(customer=found["customer"], user__email=f"user@{name}.example")
        found["invitation"] = invite_customer_user(customer=found["customer"], email=f"new@{name}.example",
                                                   invited_by=found["admin"].user, site_url="http://testserver/")
    manager = StaffFactory(reseller=reseller, manager=True, user__first_name="Dana", user__last_name="Shaw")
    agent = StaffFactory(reseller=reseller, user__first_name="Alex", user__last_name="Agent")
    return {"a": a, "b": b, "c": c, "manager": manager.user, "agent": agent.user, "reseller": reseller,
            "simwood": simwood, "sipwise": sipwise, "outsider": StaffFactory(reseller=elsewhere).user}


@pytest.fixture
def reauthenticated(client):
    """Type the logged-in user's password again (allauth's re-authentication)."""

    def do():
        response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
        assert response.status_code == 302, response.content.decode()[:2000]

    return do


@pytest.fixture
def viewing_as(client):
    """The logged-in staff user opens a customer's self-service pages."""

    def do(customer):
        response = client.post(f"/staff/customers/{customer.pk}/view-as/")
        assert response.status_code == 302 and response["Location"] == "/my/"

    return do


# The end-to-end test drives a real worker against the sandbox, as the sync tests do.
from tests.web.conftest import log_in  # noqa: E402,F401  (the real login form)
from tests.sync.conftest import (  # noqa: E402,F401
    _purged_broker,
    carrier_state,
    sandbox_carrier_account,
    start_worker,
    worker,
)
