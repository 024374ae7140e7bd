"""Every login path goes through allauth: the admin's, MFA, one lockout, the client address behind a proxy."""

from __future__ import annotations

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value

from portal.accounts.models import Invitation
from tests.factories import PASSWORD, StaffFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


@pytest.fixture(autouse=True)
def _totp_tolerance(settings):
    # A code computed just before a 30-second boundary must still pass just after it.
    settings.MFA_TOTP_TOLERANCE = 1


def code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def with_totp(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def log_in_with_code(client, user, secret: str, next_url: str = "") -> None:
    login_url = "/accounts/login/" + (f"?next={next_url}" if next_url else "")
    response = client.post(login_url, {"login": user.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    response = client.post("/accounts/2fa/authenticate/", {"code": code(secret)})
    assert response.status_code == 302, response.content.decode()[:500]


# ------------------------------------------------------------------ the admin's login
def test_the_admin_login_is_allauths_login(client):
    response = client.get("/admin/")
    assert response["Location"] == "/admin/login/?next=/admin/"
    response = client.get("/admin/login/?next=/admin/customers/customer/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fcustomers%2Fcustomer%2F"
    # A next pointing elsewhere is dropped, not followed.
    assert client.get("/admin/login/?next=https://evil.example/")["Location"] == "/accounts/login/?next=%2Fadmin%2F"


def test_posting_a_password_to_the_admin_login_logs_nobody_in(client):
    admin = SuperuserFactory()
    response = client.post("/admin/login/", {"username": admin.email, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_a_manager_with_totp_gets_no_session_without_the_code(client):
    """The issue's first finding: password alone at /admin/login/ gave a session for everything."""
    manager = StaffFactory(manager=True, reseller__require_staff_mfa=True, user__is_staff=True)
    secret = with_totp(manager.user)

    client.post("/admin/login/", {"username": manager.user.email, "password": PASSWORD})
    assert client.get("/staff/").status_code == 302
    response = client.post("/accounts/login/", {"login": manager.user.email, "password": PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/admin/").status_code == 302 and client.get("/staff/").status_code == 302

    client.post("/accounts/2fa/authenticate/", {"code": code(secret)})
    assert client.get("/staff/").status_code == 200
    assert client.get("/admin/").status_code == 200


def test_a_session_that_never_passed_mfa_is_ended_where_mfa_is_required(client):
    # A session that began before the user added an authenticator (here: force_login, which
    # skips allauth's flow as the old admin login did) does not count as having passed MFA.
    manager = StaffFactory(manager=True, reseller__require_staff_mfa=True, user__is_staff=True)
    secret = with_totp(manager.user)
    client.force_login(manager.user)

    response = client.get("/admin/customers/customer/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fcustomers%2Fcustomer%2F"
    assert "_auth_user_id" not in client.session  # logged out
    client.force_login(manager.user)
    htmx = client.get("/staff/customers/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == "/accounts/login/?next=%2Fstaff%2Fcustomers%2F"

    log_in_with_code(client, manager.user, secret)
    assert client.get("/admin/customers/customer/").status_code == 200


def test_platform_admins_must_enrol_and_then_pass_mfa(client, settings):
    settings.PLATFORM_ADMIN_MFA = True
    admin = SuperuserFactory()
    response = client.post("/accounts/login/?next=/admin/", {"login": admin.email, "password": PASSWORD})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/")["Location"] == "/accounts/2fa/totp/activate/"
    assert client.get("/staff/")["Location"] == "/accounts/2fa/totp/activate/"

    secret = with_totp(admin)  # enrolled elsewhere: this session still showed no code
    assert client.get("/admin/")["Location"].startswith("/accounts/login/")
    log_in_with_code(client, admin, secret, next_url="/admin/")
    assert client.get("/admin/").status_code == 200

    settings.PLATFORM_ADMIN_MFA = False
    client.logout()
    client.post("/accounts/login/", {"login": StaffFactory().user.email, "password": PASSWORD})
    other_admin = SuperuserFactory()
    client.logout()
    client.post("/accounts/login/", {"login": other_admin.email, "password": PASSWORD})
    assert client.get("/admin/").status_code == 200  # the rule can be switched off


def test_staff_whose_address_is_unverified_can_still_enrol(client, django_capture_on_commit_callbacks):
    from allauth.account.models import EmailAddress

    staff = StaffFactory(reseller__require_staff_mfa=True)
    EmailAddress.objects.create(user=staff.user, email=staff.user.email, primary=True, verified=False)
    client.post("/accounts/login/", {"login": staff.user.email, "password": PASSWORD})
    assert client.get("/staff/")["Location"] == "/accounts/2fa/totp/activate/"
    setup = client.get("/accounts/2fa/totp/activate/")
    assert setup.status_code == 200, setup.get("Location")
    response = client.post("/accounts/2fa/totp/activate/", {"code": code(setup.context["form"].secret)})
    assert response.status_code == 302 and response["Location"] != "/accounts/2fa/totp/activate/"
    assert staff.user.authenticator_set.filter(type="totp").exists()


# ------------------------------------------------------------------ one rate limit and lockout
def test_25_wrong_passwords_lock_the_address_and_the_right_one_does_not_get_in(client):
    user = StaffFactory().user
    for _ in range(25):
        client.post("/admin/login/", {"username": user.email, "password": WRONG})  # no login here at all
        client.post("/accounts/login/", {"login": user.email, "password": WRONG})
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "reset your password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_password_reset_lifts_the_lock_on_the_address(client, mailoutbox):
    user = StaffFactory().user  # a login made by hand: no EmailAddress row yet
    for _ in range(5):
        client.post("/accounts/login/", {"login": user.email, "password": WRONG})
    assert "Too many failed" in client.post("/accounts/login/", {"login": user.email, "password": PASSWORD}).content.decode()

    client.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+)", mailoutbox[-1].body).group(1)
    form_page = client.get(link, follow=True)
    new = "quince-harbour-meadow-7"
    client.post(form_page.redirect_chain[-1][0], {"password1": new, "password2": new})

    response = client.post("/accounts/login/", {"login": user.email, "password": new})
    assert response.status_code == 302, response.content.decode()[:800]


# ------------------------------------------------------------------ the client behind a proxy
def failed_logins_from(client, address: str, user, count: int, proxy="10.0.0.5"):
    for _ in range(count):
        client.post(
            "/accounts/login/",
            {"login": user.email, "password": WRONG},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"203.0.113.99, {address}",  # the left part is the client's own claim
        )


def test_behind_a_proxy_each_client_has_its_own_login_limit(client, settings):
    settings.BEHIND_PROXY = True
    victims = [StaffFactory().user for _ in range(11)]
    for victim in victims:  # 11 bad logins from one client, one per address: its per-IP limit (10/m)
        failed_logins_from(client, "198.51.100.7", victim, 1)
    blocked = client.post(
        "/accounts/login/",
        {"login": StaffFactory().user.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert blocked.status_code != 302 and "_auth_user_id" not in client.session  # that client is refused...

    someone_else = StaffFactory().user
    response = client.post(
        "/accounts/login/",
        {"login": someone_else.email, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="203.0.113.99, 192.0.2.44",  # the same made-up left part as the first client's
    )
    assert response.status_code == 302  # ...another one behind the same proxy is not


def test_without_behind_proxy_the_forwarded_header_is_ignored(client, settings):
    settings.BEHIND_PROXY = False
    for index in range(11):
        failed_logins_from(client, f"198.51.100.{index}", StaffFactory().user, 1, proxy="192.0.2.200")
    response = client.post(
        "/accounts/login/",
        {"login": StaffFactory().user.email, "password": PASSWORD},
        REMOTE_ADDR="192.0.2.200",
        HTTP_X_FORWARDED_FOR="198.51.100.250",  # a made-up header does not escape the limit
    )
    assert response.status_code != 302


# ------------------------------------------------------------------ e-mail change
def test_a_new_address_counts_only_once_verified(client, mailoutbox, log_in):
    from allauth.account.models import EmailAddress

    user = StaffFactory().user
    old = user.email
    log_in(user)
    response = client.post("/accounts/email/", {"action_add": "", "email": "new-me@example.net"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == old  # not yet
    # Nobody can be invited with the address meanwhile: it is this login's change in progress.
    from django.core.exceptions import ValidationError

    from portal.accounts.services import check_invitable

    with pytest.raises(ValidationError, match="Another login is changing to this address"):
        check_invitable("New-Me@example.net", StaffFactory().reseller)

    # Making the unverified address primary is refused (allauth allows it when no address is verified).
    client.post("/accounts/email/", {"action_primary": "", "email": "new-me@example.net"})
    user.refresh_from_db()
    assert user.email == old
    assert not EmailAddress.objects.get(email="new-me@example.net").primary

    link = re.search(r"http://testserver(/accounts/confirm-email/\S+)", mailoutbox[-1].body).group(1)
    client.post(link)
    user.refresh_from_db()
    assert user.email == "new-me@example.net"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "verified", "primary")) == [
        ("new-me@example.net", True, True)
    ]


def test_another_logins_address_or_a_pending_invitation_cannot_be_taken(client, log_in):
    customer_user = StaffFactory().user
    other = StaffFactory(reseller__name="Other reseller")
    invitation = Invitation(email="newmgr@example.org", reseller=other.reseller, role="manager")
    invitation.issue_token()
    invitation.save()
    log_in(customer_user)

    for address in (other.user.email, other.user.email.upper(), "newmgr@example.org"):
        response = client.post("/accounts/email/", {"action_add": "", "email": address})
        assert response.status_code == 200
        assert response.context["form"].errors["email"] == [
            "This address belongs to another login or to a pending invitation, so it cannot be yours."
        ]
    assert customer_user.emailaddress_set.filter(email__in=[other.user.email, "newmgr@example.org"]).count() == 0
