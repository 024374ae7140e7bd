"""SIP password reset: only after the password (or MFA) was typed again, shown once, kept nowhere.

Re-authentication is allauth's ("Confirm Access"), within the last five minutes. The
new password reaches the carrier through the subscriber service; it is in the page that
shows it and nowhere after: not in a later page, the logs, the audit log, the messages
or a cookie.
"""

from __future__ import annotations

import logging
import time

import pytest
from auditlog.models import LogEntry
from django.test import override_settings

from portal.subscribers.models import Subscriber
from portal.sync.models import SyncJob

pytestmark = pytest.mark.django_db


def test_a_reset_without_recent_re_authentication_is_refused(client, log_in, world):
    subscriber = world["a"]["subscriber"]
    before = subscriber.sip_password
    log_in(world["a"]["user"].user)  # logging in is not confirming it again
    page = client.get(f"/my/phones/{subscriber.pk}/password/")
    assert "asked for your own password first" in page.content.decode()
    response = client.post(f"/my/phones/{subscriber.pk}/password/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/reauthenticate/?next=%2Fmy%2Fphones%2F{subscriber.pk}%2Fpassword%2F"
    subscriber.refresh_from_db()
    assert subscriber.sip_password == before
    assert not SyncJob.objects.filter(object_kind="subscriber", object_id=subscriber.pk).exists()


def test_re_authentication_older_than_five_minutes_does_not_count(client, log_in, reauthenticated, world):
    subscriber = world["a"]["subscriber"]
    log_in(world["a"]["user"].user)
    reauthenticated()
    later = time.time() + 301
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("allauth.account.internal.flows.reauthentication.time.time", lambda: later)
        response = client.post(f"/my/phones/{subscriber.pk}/password/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauthenticate/")


@override_settings(LOGGING_CONFIG=None)
def test_with_re_authentication_the_password_is_shown_once_and_kept_nowhere(client, log_in, reauthenticated, world,
                                                                              caplog):
    subscriber = world["a"]["subscriber"]
    log_in(world["a"]["user"].user)
    reauthenticated()
    caplog.set_level(logging.DEBUG)
    response = client.post(f"/my/phones/{subscriber.pk}/password/")
    assert response.status_code == 302 and response["Location"].startswith("/my/shown-once/")
    shown = client.get(response["Location"])
    subscriber = Subscriber.objects.get(pk=subscriber.pk)
    password = subscriber.sip_password
    html = shown.content.decode()
    assert f'value="{password}"' in html and "shown this once" in html
    assert len(password) >= 20
    # The carrier is sent it: a push of the subscriber is queued by the same change.
    assert SyncJob.objects.filter(object_kind="subscriber", object_id=subscriber.pk).exists()

    again = client.get(response["Location"]).content.decode()
    assert password not in again and "already shown" in again
    later_pages = [f"/my/phones/{subscriber.pk}/", "/my/", "/my/activity/", f"/my/phones/{subscriber.pk}/password/",
                   "/my/account/"]
    for path in later_pages:
        assert password not in client.get(path).content.decode(), path
    assert "SIP password:</span> the old one → a new one" in client.get("/my/activity/").content.decode()
    assert password not in caplog.text
    for entry in LogEntry.objects.all():
        assert password not in str(entry.changes) and password not in str(entry.additional_data or "")
        assert password not in str(entry.serialized_data or "")
    assert all(password not in morsel.value for morsel in client.cookies.values())
    assert password not in str(dict(client.session))


def test_staff_viewing_as_the_customer_confirm_their_own_password(client, log_in, reauthenticated, viewing_as, world):
    subscriber = world["a"]["subscriber"]
    log_in(world["manager"])
    viewing_as(world["a"]["customer"])
    response = client.post(f"/my/phones/{subscriber.pk}/password/")
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert client.get(response["Location"]).status_code == 200  # open to them while viewing as
    reauthenticated()
    response = client.post(f"/my/phones/{subscriber.pk}/password/")
    assert response["Location"].startswith("/my/shown-once/")
    subscriber.refresh_from_db()
    assert f'value="{subscriber.sip_password}"' in client.get(response["Location"]).content.decode()
