"""Logging in: password reset, TOTP, the reseller's "require MFA", rate limiting."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

from tests.factories import PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _totp_tolerance(settings):
    # A code computed just before a 30-second boundary must still pass just after it.
    settings.MFA_TOTP_TOLERANCE = 1


def current_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_password_reset_mails_a_link_that_sets_a_new_password(client, mailoutbox):
    user = StaffFactory().user
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [user.email]
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mailoutbox[0].body).group(1)

    form_page = client.get(link, follow=True)  # allauth moves the key into the session first
    new = "quince-harbour-meadow-7"
    done = client.post(form_page.redirect_chain[-1][0], {"password1": new, "password2": new})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new)


def test_with_totp_enabled_the_login_asks_for_a_code(client):
    user = StaffFactory().user
    secret = generate_totp_secret()
    TOTP.activate(user, secret)

    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/staff/").status_code == 302  # not logged in yet

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000" if current_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and wrong.context["form"].errors["code"]

    right = client.post("/accounts/2fa/authenticate/", {"code": current_code(secret)})
    assert right.status_code == 302
    assert client.get("/staff/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_when_the_reseller_requires_mfa_staff_must_set_it_up_first(client, log_in):
    staff = StaffFactory(reseller__require_staff_mfa=True)
    log_in(staff.user)

    response = client.get("/staff/customers/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"
    htmx = client.get("/staff/customers/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == "/accounts/2fa/totp/activate/"

    # allauth's own setup page works under the requirement, straight after the login (no
    # second password prompt for a first authenticator), and afterwards the portal opens.
    setup = client.get("/accounts/2fa/totp/activate/")
    assert setup.status_code == 200
    # allauth announces the new authenticator once its transaction commits (a real commit:
    # this test runs outside a test transaction); that marks the session as having passed
    # MFA, since the person just typed a code from the new app.
    activated = client.post("/accounts/2fa/totp/activate/", {"code": current_code(setup.context["form"].secret)})
    assert Authenticator.objects.filter(user=staff.user, type=Authenticator.Type.TOTP).exists()
    # allauth shows the recovery codes next, without asking for the password just typed.
    assert activated["Location"] == "/accounts/2fa/recovery-codes/"
    assert client.get("/accounts/2fa/recovery-codes/").status_code == 200
    assert client.get("/staff/customers/").status_code == 200


def test_a_manager_can_require_mfa_for_staff(client, log_in):
    manager = StaffFactory(manager=True)
    log_in(manager.user)
    response = client.post("/staff/team/mfa/", {"require_staff_mfa": "on"})
    assert response["Location"] == "/staff/team/"
    manager.reseller.refresh_from_db()
    assert manager.reseller.require_staff_mfa
    # The manager is staff too: without an authenticator app the next page is its setup.
    assert client.get("/staff/team/")["Location"] == "/accounts/2fa/totp/activate/"


def test_repeated_failed_logins_are_rate_limited(client):
    user = StaffFactory().user
    for _ in range(5):
        client.post("/accounts/login/", {"login": user.email, "password": "not-the-password"})
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
