"""Phone settings by e-mail: a one-time link to a new SIP password; nothing secret in the mail.

The link needs no login but is unguessable, shows the password only when its button is
pressed (a mail scanner opening it uses nothing up), once, for a day, and only while the
password is still the one made for it.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from portal.selfservice.models import PhoneSettingsLink
from portal.subscribers.models import Subscriber
from portal.subscribers.services import reset_sip_password

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(client, log_in, reauthenticated, world, django_capture_on_commit_callbacks):
    """Customer A's user e-mails the settings of their phone to its user; the mail and its link."""
    subscriber = world["a"]["subscriber"]
    log_in(world["a"]["user"].user)
    reauthenticated()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/my/phones/{subscriber.pk}/send-settings/", {"email": "Kira@Anchor.example"})
    assert response.status_code == 302 and response["Location"] == f"/my/phones/{subscriber.pk}/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    link = re.search(r"http://testserver(/phone-settings/[\w-]+/)", message.body).group(1)
    client.logout()
    return {"message": message, "path": link, "subscriber": Subscriber.objects.get(pk=subscriber.pk)}


def test_the_mail_has_the_settings_and_a_link_but_not_the_password(sent, world):
    message, subscriber = sent["message"], sent["subscriber"]
    assert message.to == ["kira@anchor.example"]
    assert subscriber.username in message.body and subscriber.domain in message.body
    assert subscriber.sip_password not in message.body and subscriber.sip_password not in message.subject
    assert len(sent["path"].split("/")[2]) >= 40  # 256 random bits
    # The customer's reseller's brand, never the platform's name.
    assert "Reseller Portal" not in message.body + message.subject + message.from_email
    assert world["reseller"].name in message.from_email or "Northwind" in message.from_email


def test_opening_the_link_shows_the_settings_and_no_password_until_asked(client, sent):
    page = client.get(sent["path"])
    html = page.content.decode()
    assert page.status_code == 200 and sent["subscriber"].username in html
    assert sent["subscriber"].sip_password not in html
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    assert page["Referrer-Policy"] == "same-origin"  # the token goes to no other site in a Referer
    assert client.get(sent["path"]).status_code == 200  # opening it again (a mail scanner) uses nothing up


def test_the_password_is_shown_once_then_the_link_is_gone(client, sent):
    shown = client.post(sent["path"])
    assert shown.status_code == 200
    assert f'value="{sent["subscriber"].sip_password}"' in shown.content.decode()
    for method in (client.get, client.post):
        gone = method(sent["path"])
        assert gone.status_code == 410 and sent["subscriber"].sip_password not in gone.content.decode()
    link = PhoneSettingsLink.objects.get()
    assert link.revealed_at is not None


def test_an_expired_link_shows_nothing(client, sent):
    PhoneSettingsLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(sent["path"]).status_code == 410


def test_a_link_whose_password_changed_since_shows_nothing(client, sent):
    newer = reset_sip_password(sent["subscriber"])
    response = client.post(sent["path"])
    html = response.content.decode()
    assert "changed again after this link was sent" in html and newer not in html
    assert client.post(sent["path"]).status_code == 410


def test_a_made_up_link_is_gone(client, db):
    assert client.get("/phone-settings/not-a-real-token-at-all/").status_code == 410


def test_sending_needs_re_authentication_and_a_valid_address(client, log_in, world):
    subscriber = world["a"]["subscriber"]
    before = subscriber.sip_password
    log_in(world["a"]["user"].user)
    bad = client.post(f"/my/phones/{subscriber.pk}/send-settings/", {"email": "not an address"})
    assert bad.status_code == 200 and "Enter a valid email address" in bad.content.decode()
    refused = client.post(f"/my/phones/{subscriber.pk}/send-settings/", {"email": "kira@anchor.example"})
    assert refused["Location"].startswith("/accounts/reauthenticate/")
    assert "email%3Dkira%2540anchor.example" in refused["Location"]  # the address is kept for after
    subscriber.refresh_from_db()
    assert subscriber.sip_password == before and not PhoneSettingsLink.objects.exists() and not mail.outbox


def test_the_phone_page_tells_what_became_of_each_link(client, log_in, sent, world):
    reset_sip_password(sent["subscriber"])
    log_in(world["a"]["user"].user)
    html = client.get(f"/my/phones/{sent['subscriber'].pk}/").content.decode()
    assert "To kira@anchor.example" in html and "no longer works (the password changed since)" in html
