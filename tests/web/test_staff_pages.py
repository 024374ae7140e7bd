"""The staff pages for customers, SIP accounts, numbers, trunks and forwards.

Every page for each kind of visitor: a manager and an agent of the reseller (200), staff
of another reseller (404), a customer's user (403), anonymous (login). Bad input shows
the error next to its field and saves nothing; lists run the same number of queries for
10 rows as for 500.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.customers.models import Customer, CustomerStatus
from portal.forwards.models import CallForward
from portal.numbers.models import EmergencyAddress, Number, NumberStatus
from portal.subscribers.models import Subscriber
from portal.sync.models import SyncJob
from portal.trunks.models import Trunk
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


@pytest.fixture
def world():
    """One reseller with a customer that has one of everything, on a Simwood account."""
    manager = StaffFactory(manager=True)
    reseller = manager.reseller
    agent = StaffFactory(reseller=reseller)
    account = CarrierAccountFactory(reseller=reseller)
    customer = CustomerFactory(reseller=reseller, carrier_account=account, name="Anchor Clinic")
    subscriber = SubscriberFactory(customer=customer, carrier_account=account, username="201", display_name="Kira")
    number = NumberFactory(customer=customer, carrier_account=account, e164="+442079460001", subscriber=subscriber)
    Subscriber.objects.filter(pk=subscriber.pk).update(primary_number=number)
    subscriber.refresh_from_db()
    trunk = TrunkFactory(customer=customer, carrier_account=account)
    return {"manager": manager.user, "agent": agent.user, "account": account, "customer": customer,
            "subscriber": subscriber, "number": number, "trunk": trunk,
            "outsider": StaffFactory().user, "customer_user": CustomerUserFactory(customer=customer).user}


def pages(w) -> list[str]:
    c, s, n, t = w["customer"].pk, w["subscriber"].pk, w["number"].pk, w["trunk"].pk
    return [
        "/staff/customers/", "/staff/customers/add/", f"/staff/customers/{c}/", f"/staff/customers/{c}/edit/",
        f"/staff/customers/{c}/sip-accounts/", f"/staff/customers/{c}/numbers/", f"/staff/customers/{c}/trunks/",
        f"/staff/customers/{c}/forwards/", f"/staff/customers/{c}/logins/", f"/staff/customers/{c}/sync/",
        f"/staff/customers/{c}/history/", f"/staff/customers/{c}/do/suspend/",
        "/staff/sip-accounts/", f"/staff/sip-accounts/add/?customer={c}", f"/staff/sip-accounts/{s}/",
        f"/staff/sip-accounts/{s}/edit/", f"/staff/sip-accounts/{s}/forwards/", f"/staff/sip-accounts/{s}/forwards/edit/",
        f"/staff/sip-accounts/{s}/do/delete/",
        "/staff/numbers/", "/staff/numbers/get/", f"/staff/numbers/{n}/", f"/staff/numbers/{n}/route/",
        f"/staff/numbers/{n}/emergency/", f"/staff/numbers/{n}/emergency-address/", f"/staff/numbers/{n}/forwards/edit/",
        f"/staff/numbers/{n}/do/release/",
        "/staff/trunks/", f"/staff/trunks/add/?customer={c}", f"/staff/trunks/{t}/", f"/staff/trunks/{t}/edit/",
        f"/staff/trunks/{t}/do/disable/", f"/staff/pick/subscriber/?customer={c}&q=20",
    ]


def object_pages(w) -> list[str]:
    """The pages that show one object (another reseller's staff get 404 there)."""
    return [p for p in pages(w) if any(ch.isdigit() for ch in p.split("?")[0])]


@pytest.mark.parametrize("who", ["manager", "agent"])
def test_staff_of_the_reseller_open_every_page(client, world, who):
    client.force_login(world[who])
    for path in pages(world):
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"


def test_staff_of_another_reseller_get_404_for_every_object(client, world):
    client.force_login(world["outsider"])
    for path in object_pages(world):
        if path.startswith("/staff/pick/"):
            continue
        assert client.get(path).status_code == 404, path
    # Lists answer, but show nothing of this reseller.
    assert "Anchor Clinic" not in client.get("/staff/customers/").content.decode()
    assert "Kira" not in client.get(f"/staff/pick/subscriber/?customer={world['customer'].pk}").content.decode()


def test_customer_users_are_refused_and_anonymous_visitors_sent_to_log_in(client, world, caplog):
    client.force_login(world["customer_user"])
    for path in pages(world):
        response = client.get(path)
        assert response.status_code == 403, path
        assert b"Go to your home page" in response.content  # the portal's layout, with a way back
    assert not any(record.exc_info for record in caplog.records)  # a refusal is not logged as a traceback
    client.logout()
    for path in pages(world):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next="), path


def test_agents_may_not_end_a_customer_and_see_why_before_clicking(client, world):
    client.force_login(world["agent"])
    page = client.get(f"/staff/customers/{world['customer'].pk}/").content.decode()
    assert "Only a manager can terminate or delete a customer." in page
    response = client.post(f"/staff/customers/{world['customer'].pk}/do/terminate/")
    assert response.status_code == 403
    world["customer"].refresh_from_db()
    assert world["customer"].status == CustomerStatus.ACTIVE


def test_a_customer_with_services_says_why_it_cannot_be_deleted_before_anyone_clicks(client, world):
    client.force_login(world["manager"])
    page = client.get(f"/staff/customers/{world['customer'].pk}/").content.decode()
    assert "still has subscribers, trunks, numbers" in page
    assert f"/staff/customers/{world['customer'].pk}/do/delete/" not in page  # no button to click
    empty = CustomerFactory(reseller=world["customer"].reseller)
    confirm = client.get(f"/staff/customers/{empty.pk}/do/delete/").content.decode()
    assert "is deleted from the portal" in confirm
    client.post(f"/staff/customers/{empty.pk}/do/delete/")
    assert not Customer.objects.filter(pk=empty.pk).exists()


def test_a_new_customer_takes_a_national_phone_number_and_the_reseller_s_carrier_account(client, world):
    client.force_login(world["agent"])
    response = client.post("/staff/customers/add/", {
        "name": "Harbour Dental", "phone": "020 7946 0123", "country": "gb", "carrier_account": world["account"].pk,
    })
    customer = Customer.objects.get(name="Harbour Dental")
    assert response.status_code == 302 and response["Location"] == f"/staff/customers/{customer.pk}/"
    assert customer.phone == "+442079460123" and customer.country == "GB"
    assert customer.carrier_account == world["account"]
    assert SyncJob.objects.filter(object_kind="customer", object_id=customer.pk).exists()


def test_bad_input_is_shown_next_to_each_field_and_nothing_is_saved(client, world):
    client.force_login(world["manager"])
    before = Customer.objects.count()
    response = client.post("/staff/customers/add/", {"name": "", "phone": "12", "country": "Britain",
                                                     "email": "not-an-email", "carrier_account": world["account"].pk})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"name", "phone", "country", "email"}
    html = response.content.decode()
    assert 'aria-invalid="true"' in html and "“12” is not a" in html
    assert 'value="not-an-email"' in html  # input kept
    assert Customer.objects.count() == before


def test_a_new_sip_account_shows_its_password_once_and_never_in_a_cookie(client, world):
    client.force_login(world["agent"])
    customer = world["customer"]
    response = client.post(f"/staff/sip-accounts/add/?customer={customer.pk}",
                           {"customer": customer.pk, "username": "202", "display_name": "Sam", "domain": "sip.example.com"})
    subscriber = Subscriber.objects.get(username="202")
    assert subscriber.carrier_account == customer.carrier_account  # the customer's, by default
    assert response.status_code == 302 and response["Location"].startswith("/staff/shown-once/")
    assert all(subscriber.sip_password not in value.value for value in response.cookies.values())
    shown = client.get(response["Location"]).content.decode()
    assert subscriber.sip_password in shown and "Copy" in shown
    again = client.get(response["Location"]).content.decode()
    assert subscriber.sip_password not in again and "already shown" in again


def test_a_sip_account_is_never_saved_without_a_carrier_account(client, world):
    client.force_login(world["manager"])
    bare = CustomerFactory(reseller=world["customer"].reseller, carrier_account=None)
    response = client.post("/staff/sip-accounts/add/", {"customer": bare.pk, "username": "301", "domain": "sip.example.com"})
    assert response.status_code == 200
    assert "has no carrier account" in str(response.context["form"].errors["carrier_account"])
    assert not Subscriber.objects.filter(username="301").exists()


def test_the_picker_shows_context_and_only_the_customer_s_objects(client, world):
    other = SubscriberFactory(customer__reseller=world["customer"].reseller, username="209", display_name="Other")
    client.force_login(world["agent"])
    html = client.get(f"/staff/pick/subscriber/?customer={world['customer'].pk}&q=20").content.decode()
    assert "201 · Kira (020 7946 0001) · Anchor Clinic" in html
    assert other.username not in html


def test_a_trunk_takes_ips_one_per_line_and_refuses_a_bad_one_next_to_the_field(client, world):
    client.force_login(world["agent"])
    customer = world["customer"]
    data = {"customer": customer.pk, "name": "PBX", "type": "ip", "enabled": "on",
            "allowed_ips": "192.0.2.10\n198.51.100.0/24\n"}
    response = client.post(f"/staff/trunks/add/?customer={customer.pk}", data)
    trunk = Trunk.objects.get(name="PBX")
    assert response.status_code == 302 and trunk.allowed_ips == ["192.0.2.10", "198.51.100.0/24"]
    bad = client.post(f"/staff/trunks/add/?customer={customer.pk}", {**data, "name": "PBX 2", "allowed_ips": "300.1.1.1"})
    assert bad.status_code == 200 and "allowed_ips" in bad.context["form"].errors
    assert not Trunk.objects.filter(name="PBX 2").exists()


def test_a_number_is_routed_to_a_sip_account_and_given_a_999_address(client, world):
    client.force_login(world["agent"])
    stock = NumberFactory(customer=None, reseller=world["customer"].reseller, carrier_account=world["account"],
                          e164="+442079460777")
    response = client.post(f"/staff/numbers/{stock.pk}/route/",
                           {"customer": world["customer"].pk, "subscriber": world["subscriber"].pk})
    assert response.status_code == 302
    stock.refresh_from_db()
    assert stock.customer == world["customer"] and stock.subscriber == world["subscriber"]
    assert stock.status == NumberStatus.ASSIGNED
    response = client.post(f"/staff/numbers/{stock.pk}/emergency-address/", {
        "name": "Anchor Clinic", "premises": "12", "thoroughfare": "Harbour Street", "locality": "Plymouth",
        "postcode": "pl1 2ab"})
    assert response.status_code == 302
    assert EmergencyAddress.objects.get(number=stock).postcode == "PL1 2AB"


def test_a_number_destination_typed_nationally_is_stored_as_e164(client, world):
    client.force_login(world["agent"])
    number = world["number"]
    response = client.post(f"/staff/numbers/{number.pk}/route/",
                           {"customer": world["customer"].pk, "destination": "07911-123 456"})
    assert response.status_code == 302
    number.refresh_from_db()
    assert number.destination == "+447911123456" and number.subscriber is None


def test_releasing_a_number_confirms_what_happens_at_the_carrier(client, world):
    client.force_login(world["agent"])
    number = world["number"]
    confirm = client.get(f"/staff/numbers/{number.pk}/do/release/").content.decode()
    assert "goes back to" in confirm and "calls to it stop" in confirm
    client.post(f"/staff/numbers/{number.pk}/do/release/")
    number.refresh_from_db()
    assert number.status == NumberStatus.RELEASED


def test_bulk_disable_confirms_first_then_disables(client, world):
    client.force_login(world["agent"])
    others = SubscriberFactory.create_batch(2, customer=world["customer"], carrier_account=world["account"])
    pks = [s.pk for s in others]
    confirm = client.post("/staff/sip-accounts/bulk/", {"action": "disable", "pk": pks})
    assert confirm.status_code == 200 and "Disable: 2" in confirm.content.decode()
    assert Subscriber.objects.filter(pk__in=pks, status="active").count() == 2
    client.post("/staff/sip-accounts/bulk/", {"action": "disable", "pk": pks, "confirm": "yes"})
    assert Subscriber.objects.filter(pk__in=pks, status="locked").count() == 2


def test_csv_export_holds_the_filtered_rows(client, world):
    client.force_login(world["agent"])
    CustomerFactory(reseller=world["customer"].reseller, name="Zebra Ltd")
    response = client.get("/staff/customers/", {"q": "anchor", "export": "csv"})
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "Anchor Clinic" in body and "Zebra" not in body


@pytest.mark.parametrize("typed", ["020 7946 0001", "+44 20 7946 0001", "0044-20-7946-0001", "7946 0001"])
def test_search_finds_a_number_however_it_is_typed(client, world, typed):
    client.force_login(world["agent"])
    for path in ("/staff/numbers/", "/staff/customers/", "/staff/sip-accounts/"):
        table = client.get(path, {"q": typed}).context["table"]
        assert len(table.page.object_list) == 1, (path, typed)


def test_a_time_based_forward_is_saved_through_the_editor(client, world):
    client.force_login(world["agent"])
    number = world["number"]
    url = f"/staff/numbers/{number.pk}/forwards/edit/"
    preset = client.post(url, {"op": "office-hours:unconditional", "unconditional-target": "07911 123456",
                               "unconditional-timeout": "20", "unconditional-windows": "0"})
    assert preset.status_code == 200 and not CallForward.objects.filter(number=number).exists()
    assert "Mon–Fri 09:00–17:30" in preset.content.decode()
    response = client.post(url, {
        "op": "save", "unconditional-enabled": "on", "unconditional-target": "07911 123456",
        "unconditional-timeout": "20", "unconditional-windows": "1",
        "unconditional-w0-days": ["0", "1", "2", "3", "4"], "unconditional-w0-start": "09:00",
        "unconditional-w0-end": "17:30", "unconditional-timezone": "Europe/London"})
    assert response.status_code == 302
    forward = CallForward.objects.get(number=number, type="unconditional")
    assert [d.target for d in forward.destinations.all()] == ["+447911123456"]
    window = forward.windows.get()
    assert window.weekdays == [0, 1, 2, 3, 4] and window.start == dt.time(9) and window.end == dt.time(17, 30)


def test_a_forward_loop_is_refused_next_to_its_forward_and_nothing_is_saved(client, world):
    client.force_login(world["agent"])
    number = world["number"]
    response = client.post(f"/staff/numbers/{number.pk}/forwards/edit/", {
        "op": "save", "unconditional-enabled": "on", "unconditional-target": "020 7946 0001",
        "unconditional-timeout": "20", "unconditional-windows": "0"})
    assert response.status_code == 200
    assert "calls would loop" in response.content.decode()
    assert not CallForward.objects.filter(number=number).exists()


def test_the_editor_offers_only_what_the_carrier_holds_and_says_why(client, world):
    client.force_login(world["agent"])
    page = client.get(f"/staff/sip-accounts/{world['subscriber'].pk}/forwards/edit/").content.decode()
    assert "Simwood holds call forwards on a number, not on a subscriber." in page
    assert 'name="op" value="save"' not in page


def count_queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize("path", ["/staff/customers/", "/staff/sip-accounts/", "/staff/numbers/", "/staff/trunks/",
                                  "/staff/numbers/?q=7946", "/staff/customers/?status=active"])
def test_lists_run_as_many_queries_for_500_rows_as_for_10(client, path):
    staff = StaffFactory()
    account = CarrierAccountFactory(reseller=staff.reseller)
    client.force_login(staff.user)

    def fill(n):
        for _ in range(n):
            customer = CustomerFactory(reseller=staff.reseller, carrier_account=account)
            subscriber = SubscriberFactory(customer=customer, carrier_account=account)
            Number.objects.create(reseller=staff.reseller, carrier_account=account, customer=customer,
                                  subscriber=subscriber, e164=f"+44207946{Number.objects.count():04d}",
                                  status=NumberStatus.ASSIGNED)
            TrunkFactory(customer=customer, carrier_account=account)

    fill(10)
    few = count_queries(client, path)
    fill(490)
    assert count_queries(client, path) == few
