"""Secrets are encrypted at rest, survive a key rotation, and never leak into the audit log."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from cryptography.fernet import Fernet
from django.db import connection

from portal.carriers.models import CarrierAccount
from portal.subscribers.models import Subscriber
from tests.factories import CarrierAccountFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def raw_column(model, field: str, pk: int) -> str:
    table = model._meta.db_table
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_carrier_credentials_are_encrypted_at_rest():
    account = CarrierAccountFactory(credentials={"api_key": "sk-live-123456789"})
    stored = raw_column(CarrierAccount, "credentials", account.pk)
    assert stored.startswith("fernet:")
    assert "sk-live-123456789" not in stored
    assert CarrierAccount.objects.get(pk=account.pk).credentials == {"api_key": "sk-live-123456789"}


def test_sip_password_is_encrypted_at_rest():
    subscriber = SubscriberFactory(sip_password="Sup3rSecretSip")
    stored = raw_column(Subscriber, "sip_password", subscriber.pk)
    assert "Sup3rSecretSip" not in stored
    assert Subscriber.objects.get(pk=subscriber.pk).sip_password == "Sup3rSecretSip"


def test_old_key_still_decrypts_after_rotation(settings):
    subscriber = SubscriberFactory(sip_password="RotateMe123")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS]
    assert Subscriber.objects.get(pk=subscriber.pk).sip_password == "RotateMe123"


def test_wrong_key_is_a_clear_error(settings):
    subscriber = SubscriberFactory(sip_password="LostKey123")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(ValueError, match="encryption key has changed"):
        Subscriber.objects.get(pk=subscriber.pk)


def test_audit_entries_hold_no_secret():
    subscriber = SubscriberFactory(sip_password="NeverInTheLog1")
    subscriber.sip_password = "NeverInTheLog2"
    subscriber.display_name = "Reception"
    subscriber.save()
    account = CarrierAccountFactory(credentials={"api_key": "NeverInTheLog3"})
    account.credentials = {"api_key": "NeverInTheLog4"}
    account.save()
    dumped = " ".join(str(entry.changes) for entry in LogEntry.objects.all())
    assert "Reception" in dumped  # the audit log did record these saves
    assert "NeverInTheLog" not in dumped


def test_a_new_sip_password_is_audited_as_changed_with_nothing_of_it():
    subscriber = SubscriberFactory(sip_password="NeverInTheLog5")
    subscriber.sip_password = "NeverInTheLog6"
    subscriber.save()
    entry = LogEntry.objects.get_for_object(subscriber).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.changes_dict == {"sip_password": ["(concealed)", "(concealed)"]}
