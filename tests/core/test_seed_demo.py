"""``manage.py seed_demo`` against the real sandbox: valid data, usable logins, idempotent."""

from __future__ import annotations

import httpx
import pytest
from django.core.management import call_command

from portal.accounts.models import User
from portal.carriers.kinds import CarrierKind
from portal.carriers.models import CarrierAccount
from portal.core.demo import DEMO_PASSWORD
from portal.customers.models import Customer
from portal.forwards.models import CallForward
from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from portal.tenancy.models import Reseller
from portal.trunks.models import Trunk

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    models = (Reseller, CarrierAccount, Customer, Subscriber, Number, Trunk, CallForward, User)
    return {model.__name__: model.objects.count() for model in models}


def test_seed_demo_builds_a_valid_world_and_is_idempotent(sandbox_url, capsys):
    call_command("seed_demo", sandbox_url=sandbox_url)
    printed = capsys.readouterr().out
    first = counts()
    assert first["Reseller"] == 2
    assert first["Customer"] >= 24
    assert set(CarrierAccount.objects.values_list("kind", flat=True)) == set(CarrierKind.values)
    for model in (Customer, Subscriber, Number, Trunk):
        for obj in model.objects.all():
            obj.full_clean()  # the demo must obey the rules the pages enforce

    # Every login it prints works with the printed password.
    for email in ("admin@portal.example", "manager@northwind.example", "agent@acme.example", "customer@northwind.example"):
        assert email in printed
        assert User.objects.get(email=email).check_password(DEMO_PASSWORD)

    # Its carrier accounts are real sandbox accounts whose credentials the sandbox accepts.
    simwood = CarrierAccount.objects.filter(kind=CarrierKind.SIMWOOD).first()
    response = httpx.get(
        f"{simwood.base_url.rstrip('/')}/accounts/{simwood.account_id}/prepay/balance",
        auth=(simwood.settings["api_user"], simwood.credentials["api_key"]),
    )
    assert response.status_code == 200, response.text

    call_command("seed_demo", sandbox_url=sandbox_url)
    assert counts() == first
