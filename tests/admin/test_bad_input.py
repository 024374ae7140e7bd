"""Each input that used to answer 500 in the admin: now a 400 or a form error, and nothing saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.subscribers.models import Subscriber
from tests.factories import CustomerFactory, SubscriberFactory, SuperuserFactory, SyncJobFactory, TrunkFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(SuperuserFactory())
    return client


def test_a_non_integer_in_an_autocomplete_field_is_a_form_error(admin_client, form_data):
    subscriber = SubscriberFactory()
    url = reverse("admin:subscribers_subscriber_change", args=[subscriber.pk])
    response = admin_client.post(url, form_data(admin_client.get(url), customer="abc", primary_number="1e99"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "customer" in errors and "primary_number" in errors
    assert Subscriber.objects.get(pk=subscriber.pk).customer_id == subscriber.customer_id


@pytest.mark.parametrize("password", ["fernet:abc", "fernet:gAAAAABnotatoken=="])
def test_a_password_typed_with_the_fernet_prefix_is_a_form_error(admin_client, form_data, password):
    subscriber = SubscriberFactory()
    url = reverse("admin:subscribers_subscriber_change", args=[subscriber.pk])
    response = admin_client.post(url, form_data(admin_client.get(url), new_sip_password=password))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["new_sip_password"]
    assert Subscriber.objects.get(pk=subscriber.pk).sip_password == subscriber.sip_password


@pytest.mark.parametrize(
    "query",
    [
        "created_at__year=9999",
        "created_at__year=99999999999",
        "created_at__year=2025&created_at__month=99",
    ],
)
def test_a_date_filter_with_a_huge_year_is_a_400(admin_client, query):
    SyncJobFactory()
    assert admin_client.get(f"/admin/sync/syncjob/?{query}").status_code == 400


def test_a_malformed_related_filter_is_a_400(admin_client):
    SubscriberFactory()
    assert admin_client.get("/admin/subscribers/subscriber/?carrier_account__id__exact=abc").status_code == 400


@pytest.mark.parametrize("value", ["99999999999999999999999", "9223372036854775808", "-1", "abc", "0"])
def test_a_reseller_filter_with_a_huge_or_unknown_number_is_a_400(admin_client, value):
    CustomerFactory()
    assert admin_client.get(f"/admin/customers/customer/?reseller={value}").status_code == 400


def test_the_reseller_filter_still_filters(admin_client):
    ours, theirs = CustomerFactory(name="Ours Ltd"), CustomerFactory(name="Theirs Ltd")
    page = admin_client.get(f"/admin/customers/customer/?reseller={ours.reseller_id}").content.decode()
    assert "Ours Ltd" in page and "Theirs Ltd" not in page


@pytest.mark.parametrize(
    "password, message",
    [
        ("Short1a", "Use 12 to 40 characters"),
        ("no-capitals-or-digits", "Mix lower-case and capital letters and digits."),
        ("Has:Colon@And1Space here", "Use only letters, digits and - . _ ~"),
    ],
)
def test_sip_passwords_follow_the_policy_every_carrier_accepts(admin_client, form_data, password, message):
    subscriber = SubscriberFactory()
    url = reverse("admin:subscribers_subscriber_change", args=[subscriber.pk])
    response = admin_client.post(url, form_data(admin_client.get(url), new_sip_password=password))
    assert response.status_code == 200
    assert any(message in error for error in response.context["adminform"].form.errors["new_sip_password"])


def test_a_sip_password_containing_the_username_is_refused(admin_client, form_data):
    subscriber = SubscriberFactory(username="reception7")
    url = reverse("admin:subscribers_subscriber_change", args=[subscriber.pk])
    response = admin_client.post(url, form_data(admin_client.get(url), new_sip_password="Reception7Xyzzy99"))
    assert "The password must not contain the username." in response.context["adminform"].form.errors["new_sip_password"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"host": "http://pbx.example.com/"}, "host"),
        ({"host": "pbx example com"}, "host"),
        ({"host": "pbx.example.com:5060"}, "host"),
        ({"channels_in": "99999999999999999999"}, "channels_in"),
    ],
)
def test_trunk_values_outside_what_carriers_take_are_form_errors(admin_client, form_data, changes, field):
    trunk = TrunkFactory()
    url = reverse("admin:trunks_trunk_change", args=[trunk.pk])
    response = admin_client.post(url, form_data(admin_client.get(url), **changes))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors


@pytest.mark.parametrize("country, valid", [("GB", True), ("ie", True), ("XX", False), ("UK", False), ("1", False)])
def test_a_customer_country_is_an_iso_code(admin_client, form_data, country, valid):
    customer = CustomerFactory()
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    response = admin_client.post(url, form_data(admin_client.get(url), country=country))
    if valid:
        assert response.status_code == 302
        customer.refresh_from_db()
        assert customer.country == country.upper()
    else:
        assert response.context["adminform"].form.errors["country"]


def test_a_generated_sip_password_is_shown_once_and_never_in_a_cookie(admin_client, form_data):
    subscriber = SubscriberFactory()
    changelist = reverse("admin:subscribers_subscriber_changelist")
    response = admin_client.post(
        changelist, {"action": "reset_passwords", "_selected_action": [subscriber.pk], "index": 0}
    )
    assert response.status_code == 200
    subscriber.refresh_from_db()
    new_password = str(subscriber.sip_password)
    page = response.content.decode()
    assert new_password in page
    assert "no-store" in response["Cache-Control"]
    for morsel in response.cookies.values():
        assert new_password not in morsel.value
    assert 'href="/admin/subscribers/subscriber/"' in page  # the way on

    after = admin_client.get(changelist)
    assert new_password not in after.content.decode()
    for morsel in admin_client.cookies.values():  # the session and messages cookies the client holds
        assert new_password not in morsel.value
    assert new_password not in str(dict(admin_client.session))

    # The add page: a blank password is generated and shown the same way.
    add_url = reverse("admin:subscribers_subscriber_add")
    added = admin_client.post(
        add_url,
        form_data(
            admin_client.get(add_url),
            customer=subscriber.customer_id,
            carrier_account=subscriber.carrier_account_id,
            username="4711",
            domain="sip.example.com",
            status="active",
        ),
    )
    assert added.status_code == 200, added.context["adminform"].form.errors if added.context else added
    created = Subscriber.objects.get(username="4711")
    assert str(created.sip_password) in added.content.decode()
    assert all(str(created.sip_password) not in morsel.value for morsel in added.cookies.values())
