"""A carrier account's credentials never follow it to a new address; addresses are the carriers' own."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.carriers.models import CarrierAccount
from tests.factories import CarrierAccountFactory, StaffFactory

pytestmark = pytest.mark.django_db

KEY = "sk-live-stays-home-0001"
SIMWOOD = "https://api.simwood.com/v3"


@pytest.fixture
def account(settings):
    settings.CARRIER_ANY_HOST = False
    settings.SANDBOX_CARRIERS = False
    return CarrierAccountFactory(base_url=SIMWOOD, account_id="930001", settings={"api_user": "portal"}, credentials={"api_key": KEY})


@pytest.fixture
def manager_client(client, account):
    manager = StaffFactory(manager=True, reseller=account.reseller, user__is_staff=True)
    client.force_login(manager.user)
    return client


def change_url(account) -> str:
    return reverse("admin:carriers_carrieraccount_change", args=[account.pk])


def test_a_manager_who_changes_the_address_must_give_the_key_again(manager_client, account, form_data, settings):
    settings.CARRIER_API_HOSTS = {**settings.CARRIER_API_HOSTS, "simwood": ["api.simwood.com", "*.simwood.net"]}
    page = manager_client.get(change_url(account))
    moved = manager_client.post(change_url(account), form_data(page, base_url="https://eu.simwood.net/v3"))
    assert moved.status_code == 200
    assert moved.context["adminform"].form.errors == {
        "secret_api_key": [
            "The carrier or its API address changed: enter the API key again "
            "(a stored secret is never sent to a new address)."
        ]
    }
    account.refresh_from_db()
    assert (account.base_url, account.credentials) == (SIMWOOD, {"api_key": KEY})

    done = manager_client.post(change_url(account), form_data(page, base_url="https://eu.simwood.net/v3", secret_api_key="sk-new-0002"))
    assert done.status_code == 302
    account.refresh_from_db()
    assert (account.base_url, account.credentials) == ("https://eu.simwood.net/v3", {"api_key": "sk-new-0002"})


def test_the_model_refuses_and_never_stores_credentials_carried_to_a_new_address(account, settings):
    settings.CARRIER_ANY_HOST = True
    account = CarrierAccount.objects.get(pk=account.pk)
    account.base_url = "https://10.0.0.8/internal"
    with pytest.raises(ValidationError) as refused:
        account.full_clean()
    assert "credentials" in refused.value.message_dict
    account.save()  # a writer that skipped validation still sends nothing there
    assert CarrierAccount.objects.get(pk=account.pk).credentials == {}

    account.credentials = {"api_key": "sk-given-again"}
    account.full_clean()  # given again for the new address: fine
    account.save()
    assert CarrierAccount.objects.get(pk=account.pk).credentials == {"api_key": "sk-given-again"}


@pytest.mark.parametrize(
    "kind, url, allowed",
    [
        ("simwood", "https://api.simwood.com/v3", True),
        ("simwood", "http://api.simwood.com/v3", False),  # credentials over plain HTTP
        ("simwood", "https://169.254.169.254/latest/meta-data", False),
        ("simwood", "https://api.simwood.com.evil.example/v3", False),
        ("surevoip", "https://api.surevoip.co.uk", True),
        ("sipwise", "https://ngcp.example.net:1443/api", False),  # self-hosted: the platform lists the host
        ("simotel", "https://panel.hostedpbx.ir/api/v4.1", True),
    ],
)
def test_addresses_are_checked_against_the_carriers_hosts(settings, kind, url, allowed):
    from portal.carriers.models import check_api_address

    settings.CARRIER_ANY_HOST = False
    settings.SANDBOX_CARRIERS = False
    assert (check_api_address(kind, url) is None) is allowed


def test_self_hosted_platforms_sandbox_and_debug(settings):
    from portal.carriers.models import check_api_address

    settings.CARRIER_ANY_HOST = False
    settings.SANDBOX_CARRIERS = True
    settings.SANDBOX_URL = "http://127.0.0.1:8100"
    assert "CARRIER_HOSTS_SIPWISE" in check_api_address("sipwise", "https://ngcp.example.net:1443/api")
    settings.CARRIER_API_HOSTS = {**settings.CARRIER_API_HOSTS, "sipwise": ["ngcp.example.net"]}
    assert check_api_address("sipwise", "https://ngcp.example.net:1443/api") is None
    assert check_api_address("simwood", "http://127.0.0.1:8100/simwood") is None  # the sandbox itself
    assert check_api_address("simwood", "http://127.0.0.1:6379/") is not None  # not another port of it
    settings.SANDBOX_CARRIERS = False
    assert check_api_address("simwood", "http://127.0.0.1:8100/simwood") is not None
    settings.CARRIER_ANY_HOST = True
    assert check_api_address("simwood", "http://127.0.0.1:8100/simwood") is None


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"settings": "[1, 2]"}, "settings"),
        ({"settings": '"portal"'}, "settings"),
        ({"connect_timeout": "0"}, "connect_timeout"),
        ({"read_timeout": "100000"}, "read_timeout"),
        ({"max_in_flight": "0"}, "max_in_flight"),
        ({"rate_limit_requests": "10"}, "rate_limit_window"),
        ({"base_url": "https://metadata.internal/"}, "base_url"),
    ],
)
def test_bad_account_values_are_form_errors(manager_client, account, form_data, changes, field):
    page = manager_client.get(change_url(account))
    response = manager_client.post(change_url(account), form_data(page, **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors, response.context["adminform"].form.errors
