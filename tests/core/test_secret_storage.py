"""Secrets in dumps, key rotation, and what a changed SECRET_KEY does (nothing to secrets)."""

from __future__ import annotations

import io
import json

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.mfa.utils import decrypt
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.carriers.models import CarrierAccount
from portal.subscribers.models import Subscriber
from portal.trunks.models import Trunk
from tests.factories import CarrierAccountFactory, StaffFactory, SubscriberFactory, TrunkFactory, UserFactory

pytestmark = pytest.mark.django_db

SIP = "Dumped9SipPassword"
TRUNK = "Dumped9TrunkPassword"
API_KEY = "sk-live-dumped-key-0042"


@pytest.fixture
def secrets_world():
    account = CarrierAccountFactory(credentials={"api_key": API_KEY})
    subscriber = SubscriberFactory(customer__reseller=account.reseller, sip_password=SIP)
    trunk = TrunkFactory(customer=subscriber.customer, password=TRUNK)
    return account, subscriber, trunk


def dump(*labels: str) -> str:
    out = io.StringIO()
    call_command("dumpdata", *labels, format="json", stdout=out)
    return out.getvalue()


def test_a_dump_holds_every_secret_encrypted_and_a_restore_gets_them_back(secrets_world, tmp_path):
    account, subscriber, trunk = secrets_world
    dumped = dump("carriers.carrieraccount", "subscribers.subscriber", "trunks.trunk")
    for secret in (SIP, TRUNK, API_KEY):
        assert secret not in dumped
    rows = {row["model"]: row["fields"] for row in json.loads(dumped)}
    for model, field in (
        ("carriers.carrieraccount", "credentials"),
        ("subscribers.subscriber", "sip_password"),
        ("trunks.trunk", "password"),
    ):
        assert rows[model][field].startswith("fernet:"), (model, rows[model][field])

    # Everything is overwritten, then restored from the dump.
    CarrierAccount.objects.filter(pk=account.pk).update(credentials="")
    subscriber.sip_password = "Changed1Meanwhile"
    subscriber.save()
    Trunk.objects.filter(pk=trunk.pk).update(password="")
    path = tmp_path / "dump.json"
    path.write_text(dumped)
    call_command("loaddata", str(path), verbosity=0)

    assert CarrierAccount.objects.get(pk=account.pk).credentials == {"api_key": API_KEY}
    assert Subscriber.objects.get(pk=subscriber.pk).sip_password == SIP
    assert Trunk.objects.get(pk=trunk.pk).password == TRUNK


def test_a_dump_from_other_keys_is_refused_not_stored_as_garbage(secrets_world, tmp_path, settings):
    dumped = dump("subscribers.subscriber")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    path = tmp_path / "dump.json"
    path.write_text(dumped)
    with pytest.raises(Exception, match="not a secret encrypted with this portal's keys"):
        call_command("loaddata", str(path), verbosity=0)


def test_rotation_re_encrypts_every_secret_with_the_first_key(secrets_world, settings, capsys):
    account, subscriber, trunk = secrets_world
    user = UserFactory()
    totp_secret = generate_totp_secret()
    TOTP.activate(user, totp_secret)
    legacy = UserFactory()  # a TOTP key stored before MFA secrets were encrypted
    Authenticator.objects.create(user=legacy, type=Authenticator.Type.TOTP, data={"secret": generate_totp_secret()})

    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *old_keys]
    with pytest.raises(CommandError, match="still need the older key"):
        call_command("rotate_field_keys", "--check")

    call_command("rotate_field_keys")
    printed = capsys.readouterr().out
    assert "subscribers.Subscriber.sip_password: 1 re-encrypted" in printed
    assert "mfa.Authenticator.data: 2 re-encrypted" in printed
    call_command("rotate_field_keys", "--check")  # nothing left on the old key
    call_command("rotate_field_keys")
    assert "0 secret(s) re-encrypted" in capsys.readouterr().out  # running again changes nothing

    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key is gone
    assert CarrierAccount.objects.get(pk=account.pk).credentials == {"api_key": API_KEY}
    assert Subscriber.objects.get(pk=subscriber.pk).sip_password == SIP
    assert Trunk.objects.get(pk=trunk.pk).password == TRUNK
    stored = Authenticator.objects.get(user=user).data["secret"]
    assert stored.startswith("fernet:") and totp_secret not in stored
    assert decrypt(stored) == totp_secret
    assert decrypt(Authenticator.objects.get(user=legacy).data["secret"]).isalnum()


def test_rotation_without_the_key_that_encrypted_a_secret_stops_with_a_clear_error(secrets_world, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="keep every key that encrypted a stored secret"):
        call_command("rotate_field_keys")


def test_a_new_secret_key_logs_people_out_and_breaks_nothing(client, settings, secrets_world):
    account, subscriber, trunk = secrets_world
    staff = StaffFactory(reseller=account.reseller)
    client.force_login(staff.user)
    assert client.get(f"/staff/customers/{subscriber.customer_id}/").status_code == 200

    settings.SECRET_KEY = "a-completely-different-secret-key-" + "x" * 40
    response = client.get(f"/staff/customers/{subscriber.customer_id}/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(staff.user)
    assert client.get(f"/staff/customers/{subscriber.customer_id}/").status_code == 200
    assert Subscriber.objects.get(pk=subscriber.pk).sip_password == SIP  # the field keys do not depend on it
