"""Headers every page carries: the Content-Security-Policy, and no-store once logged in."""

from __future__ import annotations

import pytest

from tests.factories import CustomerUserFactory, StaffFactory, SuperuserFactory

pytestmark = pytest.mark.django_db

POLICY_PARTS = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'")


def test_every_kind_of_page_carries_the_policy(client):
    for response in (client.get("/accounts/login/"), client.get("/accounts/password/reset/"), client.get("/healthz")):
        policy = response["Content-Security-Policy"]
        assert all(part in policy for part in POLICY_PARTS), policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.parametrize(
    "who, path",
    [("staff", "/staff/"), ("staff", "/staff/customers/"), ("customer", "/my/"), ("admin", "/admin/"), ("staff", "/accounts/2fa/")],
)
def test_pages_for_a_logged_in_user_are_never_stored(client, who, path):
    user = {"staff": lambda: StaffFactory().user, "customer": lambda: CustomerUserFactory().user, "admin": SuperuserFactory}[who]()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert "Content-Security-Policy" in response


def test_the_admins_own_password_page_is_allauths(client):
    client.force_login(SuperuserFactory())
    assert client.get("/admin/password_change/")["Location"] == "/accounts/password/change/"
