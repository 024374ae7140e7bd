"""Who lands where, who may open which page, and that pages stay inside the user's scope."""

from __future__ import annotations

import pytest

from portal.sync.models import SyncState
from portal.tenancy.models import Role
from portal.ui.forms import national_format
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    CustomerUserFactory,
    NumberFactory,
    StaffFactory,
    SubscriberFactory,
    TrunkFactory,
)

pytestmark = pytest.mark.django_db


def test_staff_land_on_the_staff_home(client, log_in):
    staff = StaffFactory()
    log_in(staff.user)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/staff/"
    assert b"objects in sync error" in response.content


def test_customer_users_land_on_self_service(client, log_in):
    login = CustomerUserFactory()
    log_in(login.user)
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/my/"
    assert login.customer.name in response.content.decode()


@pytest.mark.parametrize("path", ["/staff/", "/staff/customers/", "/staff/team/", "/my/"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


def test_a_manager_gets_404_for_another_resellers_customer(client, log_in):
    manager = StaffFactory(manager=True)
    elsewhere = CustomerFactory()  # of another reseller
    log_in(manager.user)
    assert client.get(f"/staff/customers/{elsewhere.pk}/").status_code == 404
    assert client.get(f"/staff/customers/{elsewhere.pk}/invite/").status_code == 404
    assert elsewhere.name not in client.get("/staff/customers/").content.decode()


@pytest.mark.parametrize("path", ["/staff/", "/staff/customers/", "/staff/customers/{pk}/", "/staff/team/"])
def test_customer_users_cannot_reach_staff_pages(client, log_in, path):
    login = CustomerUserFactory()
    log_in(login.user)
    assert client.get(path.format(pk=login.customer.pk)).status_code == 403


def test_agents_cannot_reach_the_team_page(client, log_in):
    agent = StaffFactory(role=Role.AGENT)
    log_in(agent.user)
    assert client.get("/staff/team/").status_code == 403
    assert client.post("/staff/team/mfa/", {"require_staff_mfa": "on"}).status_code == 403
    agent.reseller.refresh_from_db()
    assert not agent.reseller.require_staff_mfa
    assert b'href="/staff/team/"' not in client.get("/staff/").content


def test_staff_home_counts_only_the_own_reseller(client, log_in):
    staff = StaffFactory()
    customer = CustomerFactory(reseller=staff.reseller)
    SubscriberFactory.create_batch(2, customer=customer)
    SubscriberFactory(customer=customer, sync_state=SyncState.ERROR)
    NumberFactory(customer=customer, sync_state=SyncState.ERROR)
    SubscriberFactory.create_batch(4, sync_state=SyncState.ERROR)  # another reseller's
    log_in(staff.user)
    overview = {row["label"]: row for row in client.get("/staff/").context["overview"]}
    assert overview["Customers"]["total"] == 1
    assert overview["SIP accounts"] == {"label": "SIP accounts", "url_name": "subscriber_list", "total": 3, "errors": 1}
    assert overview["Numbers"]["total"] == 1
    assert client.get("/staff/").context["sync_errors"] == 2


def test_customer_list_searches_pages_and_shows_an_empty_state(client, log_in):
    staff = StaffFactory()
    CustomerFactory.create_batch(26, reseller=staff.reseller)
    wanted = CustomerFactory(reseller=staff.reseller, name="Zebra Crossing Ltd", external_ref="ZX-42")
    log_in(staff.user)

    first_page = client.get("/staff/customers/")
    assert len(first_page.context["table"].page.object_list) == 25
    assert b'rel="next"' in first_page.content

    by_ref = client.get("/staff/customers/", {"q": "zx-4"})
    assert [row.record for row in by_ref.context["table"].page.object_list] == [wanted]

    # The search box asks with htmx and gets the results alone, without the page around them.
    partial = client.get("/staff/customers/", {"q": wanted.email}, headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div class="results" id="results"')
    assert wanted.name in partial.content.decode()

    assert "No customers match these filters" in client.get("/staff/customers/", {"q": "no such thing"}).content.decode()


def test_pages_never_show_secrets(client, log_in):
    staff = StaffFactory(manager=True)
    carrier_account = CarrierAccountFactory(reseller=staff.reseller)
    customer = CustomerFactory(reseller=staff.reseller, carrier_account=carrier_account)
    subscriber = SubscriberFactory(customer=customer, carrier_account=carrier_account)
    trunk = TrunkFactory(customer=customer, carrier_account=carrier_account, password="TrunkSecret9fQ2")
    NumberFactory(customer=customer, subscriber=subscriber, carrier_account=carrier_account)
    customer_user = CustomerUserFactory(customer=customer)
    secrets = [subscriber.sip_password, trunk.password, carrier_account.credentials["api_key"]]

    log_in(staff.user)
    paths = ("/staff/", f"/staff/customers/{customer.pk}/sip-accounts/", f"/staff/trunks/{trunk.pk}/",
             f"/staff/sip-accounts/{subscriber.pk}/", f"/staff/sip-accounts/{subscriber.pk}/edit/")
    pages = [client.get(path).content.decode() for path in paths]
    client.logout()
    log_in(customer_user.user)
    pages.append(client.get("/my/").content.decode())

    assert subscriber.username in pages[1] and subscriber.username in pages[-1]
    for html in pages:
        for secret in secrets:
            assert secret not in html


def test_self_service_shows_only_the_own_customer(client, log_in):
    login = CustomerUserFactory()
    own = NumberFactory(customer=login.customer)
    neighbour = NumberFactory(customer=CustomerFactory(reseller=login.customer.reseller))
    log_in(login.user)
    html = client.get("/my/").content.decode()
    assert national_format(own.e164) in html  # as people read it at home
    assert national_format(neighbour.e164) not in html
