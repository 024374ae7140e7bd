"""The customer's account page: their name, password and MFA, and their colleagues (admins
invite and remove them; staff grant the admin role on the customer's Logins tab)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from portal.accounts.models import Invitation
from portal.customers.models import CustomerLogin, LoginRole
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_customer_user_changes_their_name_and_finds_password_and_mfa(client, log_in, world):
    user = world["a"]["user"].user
    log_in(user)
    page = client.get("/my/account/").content.decode()
    assert 'href="/accounts/password/change/"' in page and 'href="/accounts/2fa/"' in page
    assert "Invite a colleague" not in page  # not an admin
    response = client.post("/my/account/", {"first_name": " Kira ", "last_name": "Jones"})
    assert response["Location"] == "/my/account/"
    user.refresh_from_db()
    assert user.get_full_name() == "Kira Jones"


def test_an_admin_invites_a_colleague_of_the_same_customer(client, log_in, world, django_capture_on_commit_callbacks):
    a = world["a"]
    log_in(a["admin"].user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/my/account/colleagues/", {"email": "Colleague@Anchor.example"})
    assert response["Location"] == "/my/account/"
    invitation = Invitation.objects.get(email="colleague@anchor.example")
    assert invitation.customer == a["customer"] and invitation.invited_by == a["admin"].user
    assert mail.outbox[-1].to == ["colleague@anchor.example"] and "Reseller Portal" not in mail.outbox[-1].subject
    # An address that already logs in is refused next to the field.
    refused = client.post("/my/account/colleagues/", {"email": world["b"]["user"].user.email})
    assert refused.status_code == 200 and "already has a login" in refused.content.decode()
    # An admin revokes an invitation of their own customer only.
    assert client.post(f"/my/account/invitations/{world['b']['invitation'].pk}/revoke/").status_code == 404
    assert client.post(f"/my/account/invitations/{invitation.pk}/revoke/")["Location"] == "/my/account/"
    invitation.refresh_from_db()
    assert invitation.revoked


def test_an_admin_removes_a_colleague_who_then_cannot_log_in(client, log_in, world):
    a = world["a"]
    colleague = a["user"]
    their_browser = Client()
    their_browser.force_login(colleague.user)
    assert their_browser.get("/my/").status_code == 200
    log_in(a["admin"].user)
    confirm = client.get(f"/my/account/colleagues/{colleague.pk}/remove/").content.decode()
    assert "can no longer log in" in confirm
    response = client.post(f"/my/account/colleagues/{colleague.pk}/remove/")
    assert response["Location"] == "/my/account/"
    assert not CustomerLogin.objects.filter(pk=colleague.pk).exists()
    assert their_browser.get("/my/")["Location"] == "/accounts/login/?next=/my/"  # their session ended too
    client.logout()
    attempt = client.post("/accounts/login/", {"login": colleague.user.email, "password": PASSWORD})
    assert attempt.status_code != 302 or attempt["Location"] == "/accounts/inactive/"
    assert client.get("/my/")["Location"] == "/accounts/login/?next=/my/"  # not logged in


def test_an_admin_cannot_remove_themselves(client, log_in, world):
    admin = world["a"]["admin"]
    log_in(admin.user)
    confirm = client.get(f"/my/account/colleagues/{admin.pk}/remove/").content.decode()
    assert "You cannot remove your own login" in confirm
    client.post(f"/my/account/colleagues/{admin.pk}/remove/")
    assert CustomerLogin.objects.filter(pk=admin.pk).exists()


def test_a_user_who_is_no_admin_manages_no_colleagues(client, log_in, world):
    a = world["a"]
    log_in(a["user"].user)
    assert client.post("/my/account/colleagues/", {"email": "x@anchor.example"}).status_code == 403
    assert client.post(f"/my/account/colleagues/{a['admin'].pk}/remove/").status_code == 403
    assert client.post(f"/my/account/invitations/{a['invitation'].pk}/revoke/").status_code == 403
    assert CustomerLogin.objects.filter(pk=a["admin"].pk).exists() and not Invitation.objects.get(
        pk=a["invitation"].pk).revoked


def test_staff_grant_and_take_back_the_admin_role(client, log_in, world):
    a = world["a"]
    log_in(world["agent"])
    url = f"/staff/customers/{a['customer'].pk}/logins/{a['user'].pk}/role/"
    assert client.post(url, {"role": "admin"})["Location"] == f"/staff/customers/{a['customer'].pk}/logins/"
    a["user"].refresh_from_db()
    assert a["user"].role == LoginRole.ADMIN
    client.post(url, {"role": "owner"})  # no such role: refused, nothing changes
    a["user"].refresh_from_db()
    assert a["user"].role == LoginRole.ADMIN
    client.post(url, {"role": "user"})
    a["user"].refresh_from_db()
    assert a["user"].role == LoginRole.USER
    # Another customer's login through this customer's page, or another reseller's: 404.
    assert client.post(f"/staff/customers/{a['customer'].pk}/logins/{world['b']['user'].pk}/role/",
                       {"role": "admin"}).status_code == 404
    assert client.post(f"/staff/customers/{world['c']['customer'].pk}/logins/{world['c']['user'].pk}/role/",
                       {"role": "admin"}).status_code == 404


def test_staff_remove_a_customers_login(client, log_in, world):
    a = world["a"]
    log_in(world["agent"])
    url = f"/staff/customers/{a['customer'].pk}/logins/{a['user'].pk}/remove/"
    assert "Remove login" in client.get(url).content.decode()
    client.post(url)
    assert not CustomerLogin.objects.filter(pk=a["user"].pk).exists()
    a["user"].user.refresh_from_db()
    assert not a["user"].user.is_active
