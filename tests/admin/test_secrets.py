"""Secrets typed into the admin are stored encrypted and never shown again on any admin page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from portal.carriers.models import CarrierAccount
from tests.factories import ResellerFactory, SubscriberFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

API_KEY = "sk-live-typed-into-the-admin-4711"
SIP_PASSWORD = "Typed1nto7heAdminSip"


def raw_column(obj, field: str) -> str:
    column = connection.ops.quote_name(obj._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {obj._meta.db_table} WHERE id = %s", [obj.pk])
        return cursor.fetchone()[0]


def test_secrets_are_write_only_and_encrypted(client, form_data):
    reseller = ResellerFactory()
    subscriber = SubscriberFactory(customer__reseller=reseller)
    client.force_login(SuperuserFactory())

    add_url = reverse("admin:carriers_carrieraccount_add")
    typed = {
        "reseller": reseller.pk,
        "name": "Simwood main",
        "kind": "simwood",
        "base_url": "https://api.simwood.com/v3",
        "account_id": "930001",
        "settings": '{"api_user": "portal"}',
    }
    missing_key = client.post(add_url, form_data(client.get(add_url), **typed))
    assert missing_key.status_code == 200
    errors = missing_key.context["adminform"].form.errors
    assert errors == {"secret_api_key": ["Simwood needs the API key."]}
    assert 'value="Simwood main"' in missing_key.content.decode()  # nothing typed is lost

    assert client.post(add_url, form_data(missing_key, secret_api_key=API_KEY)).status_code == 302
    account = CarrierAccount.objects.get(name="Simwood main")
    assert account.credentials == {"api_key": API_KEY}
    assert API_KEY not in raw_column(account, "credentials")

    change_url = reverse("admin:subscribers_subscriber_change", args=[subscriber.pk])
    assert client.post(change_url, form_data(client.get(change_url), new_sip_password=SIP_PASSWORD)).status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.sip_password == SIP_PASSWORD
    assert SIP_PASSWORD not in raw_column(subscriber, "sip_password")

    # Saving with the secret inputs left blank keeps the stored secrets.
    account_url = reverse("admin:carriers_carrieraccount_change", args=[account.pk])
    assert client.post(account_url, form_data(client.get(account_url), name="Simwood primary")).status_code == 302
    assert client.post(change_url, form_data(client.get(change_url), display_name="Reception")).status_code == 302
    account.refresh_from_db()
    subscriber.refresh_from_db()
    assert (account.name, account.credentials) == ("Simwood primary", {"api_key": API_KEY})
    assert (subscriber.display_name, subscriber.sip_password) == ("Reception", SIP_PASSWORD)

    pages = [
        reverse("admin:carriers_carrieraccount_changelist"),
        account_url,
        reverse("admin:carriers_carrieraccount_history", args=[account.pk]),
        reverse("admin:subscribers_subscriber_changelist"),
        change_url,
        reverse("admin:subscribers_subscriber_history", args=[subscriber.pk]),
        reverse("admin:auditlog_logentry_changelist"),
    ]
    for url in pages:
        page = client.get(url).content.decode()
        assert API_KEY not in page and SIP_PASSWORD not in page, url
