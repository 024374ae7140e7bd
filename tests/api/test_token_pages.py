"""The API token pages: make one (after confirming the password), see it once, list, revoke;
a manager sees and revokes the team's tokens; nobody else's tokens are reachable."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from portal.apitokens.models import ApiToken
from tests.factories import PASSWORD, StaffFactory

from .conftest import token_for

pytestmark = pytest.mark.django_db

LIST = "/staff/api-tokens/"
ADD = "/staff/api-tokens/add/"


def reauthenticated(client, user):
    """Logged in, and the password confirmed just now (what making a token asks for)."""
    client.force_login(user)
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def test_making_a_token_asks_for_the_password_again(client, world):
    client.force_login(world["a"]["agent"])
    response = client.get(ADD)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/reauthenticate/?next=%2Fstaff%2Fapi-tokens%2Fadd%2F"
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert client.get(ADD).status_code == 200


def test_a_new_token_is_shown_once_works_and_is_listed_without_its_secret(client, world):
    agent = world["a"]["agent"]
    reauthenticated(client, agent)
    response = client.post(ADD, {"description": "Billing system", "write_enabled": "on", "lifetime": "30",
                                 "allowed_ips": "127.0.0.1\n10.0.0.0/8"})
    assert response.status_code == 302 and response["Location"].startswith("/staff/shown-once/")
    shown = client.get(response["Location"])
    page = shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    plaintext = re.search(r'value="(rpt_[a-z0-9]{12}\.[A-Za-z0-9]{40})"', page).group(1)
    assert "API token for Billing system" in page and "make a new token" in page
    assert "rpt_" not in client.get(response["Location"]).content.decode()  # once only

    token = ApiToken.objects.get(user=agent, description="Billing system")
    assert token.write_enabled and token.allowed_ips == ["127.0.0.1", "10.0.0.0/8"]
    assert 29 <= (token.expires_at - token.created_at).days <= 30
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert api.get("/api/v1/customers/").status_code == 200

    listed = client.get(LIST).content.decode()
    assert "Billing system" in listed and token.prefix in listed and plaintext not in listed
    detail = client.get(f"{LIST}{token.pk}/").content.decode()
    assert "Read and write" in detail and "10.0.0.0/8" in detail and plaintext.split(".")[1] not in detail


def test_the_form_says_what_is_wrong_next_to_the_field_and_keeps_the_input(client, world):
    reauthenticated(client, world["a"]["agent"])
    response = client.post(ADD, {"description": "", "lifetime": "forever", "allowed_ips": "10.0.0.300\nhello"})
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"description", "lifetime"}  # every field at once
    response = client.post(ADD, {"description": "Billing", "lifetime": "90", "allowed_ips": "10.0.0.300\nhello"})
    assert response.status_code == 200
    assert "10.0.0.300" in str(response.context["form"].errors["allowed_ips"])
    assert "hello" in response.content.decode()  # the input is kept
    assert not ApiToken.objects.filter(description="Billing").exists()


def test_revoking_a_token_ends_it(client, world):
    agent = world["a"]["agent"]
    plaintext = token_for(agent, description="Old CRM")
    token = ApiToken.objects.get(description="Old CRM")
    client.force_login(agent)
    confirm = client.get(f"{LIST}{token.pk}/do/revoke/")
    assert confirm.status_code == 200 and "stops working at once" in confirm.content.decode()
    assert client.post(f"{LIST}{token.pk}/do/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == agent
    assert APIClient(HTTP_AUTHORIZATION=f"Bearer {plaintext}").get("/api/v1/customers/").status_code == 401
    assert "/do/revoke/" not in client.get(f"{LIST}{token.pk}/").content.decode()  # nothing left to revoke


def test_colleagues_tokens_are_the_managers_to_see_and_revoke(client, world):
    a = world["a"]
    agents_token = ApiToken.objects.filter(user=a["agent"]).first()
    colleague = StaffFactory(reseller=a["reseller"]).user
    client.force_login(colleague)
    assert client.get(f"{LIST}{agents_token.pk}/").status_code == 404
    assert client.post(f"{LIST}{agents_token.pk}/do/revoke/").status_code == 404
    assert agents_token.description not in client.get(LIST).content.decode()

    client.force_login(a["manager"])
    listed = client.get(LIST).content.decode()
    assert a["agent"].email in listed  # the owner column, for managers
    assert client.post(f"{LIST}{agents_token.pk}/do/revoke/").status_code == 302
    agents_token.refresh_from_db()
    assert agents_token.revoked_by == a["manager"]

    client.force_login(world["b"]["manager"])  # another reseller's manager
    assert client.get(f"{LIST}{agents_token.pk}/").status_code == 404


def test_anonymous_visitors_log_in_first(client, world):
    response = client.get(LIST)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_admin_lists_tokens_without_their_digest_and_revokes_them(client, world):
    from tests.factories import SuperuserFactory

    token = ApiToken.objects.filter(user=world["a"]["agent"]).first()
    client.force_login(SuperuserFactory())
    listed = client.get("/admin/apitokens/apitoken/")
    assert listed.status_code == 200 and token.description in listed.content.decode()
    page = client.get(f"/admin/apitokens/apitoken/{token.pk}/change/").content.decode()
    assert token.digest not in page and token.key in page
    client.post("/admin/apitokens/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
    client.force_login(world["a"]["agent"])  # agents keep to their pages
    assert client.get("/admin/apitokens/apitoken/").status_code in (302, 403)
