"""Invitations end to end: the mail, the one-time link, the new login and where it lands."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.accounts.models import Invitation
from portal.customers.models import CustomerLogin
from portal.tenancy.models import Role, StaffMembership
from tests.factories import CustomerFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plum-orchard-lantern-42"


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (the invitation mail) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def invitation_link(mail) -> str:
    match = re.search(r"http://testserver(/invite/[^/\s]+/)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_a_manager_invites_a_colleague_who_sets_a_password_once(client, log_in, mailoutbox, on_commit):
    manager = StaffFactory(manager=True)
    log_in(manager.user)
    with on_commit():
        response = client.post("/staff/team/", {"email": "New.Agent@Example.com", "role": Role.AGENT}, follow=True)
    assert "Invitation sent to new.agent@example.com" in response.content.decode()
    assert "new.agent@example.com" in response.content.decode()  # listed as pending
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new.agent@example.com"]
    link = invitation_link(mailoutbox[0])
    client.logout()

    form_page = client.get(link)
    assert form_page.status_code == 200 and "new.agent@example.com" in form_page.content.decode()

    # A weak password is refused next to the field, and the name typed stays in the form.
    weak = client.post(link, {"first_name": "Ada", "password1": "12345678", "password2": "12345678"})
    assert weak.status_code == 200
    assert weak.context["form"].errors["password2"]
    assert 'value="Ada"' in weak.content.decode()

    accepted = client.post(
        link, {"first_name": "Ada", "last_name": "Agent", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert accepted.status_code == 302
    assert client.get(accepted["Location"], follow=True).redirect_chain[-1][0] == "/staff/"
    membership = StaffMembership.objects.get(user__email="new.agent@example.com")
    assert (membership.reseller, membership.role) == (manager.reseller, Role.AGENT)
    assert membership.user.check_password(NEW_PASSWORD)

    client.logout()
    reused = client.get(link)
    assert reused.status_code == 410
    assert "This link has been used or has expired" in reused.content.decode()
    assert client.post(link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 410


def test_staff_invite_a_customer_user_who_lands_on_self_service(client, log_in, mailoutbox, on_commit):
    agent = StaffFactory(role=Role.AGENT)
    customer = CustomerFactory(reseller=agent.reseller)
    log_in(agent.user)
    with on_commit():
        response = client.post(f"/staff/customers/{customer.pk}/invite/", {"email": "pat@customer.example"})
    assert response["Location"] == f"/staff/customers/{customer.pk}/"
    assert "pat@customer.example" in client.get(response["Location"]).content.decode()
    client.logout()

    accepted = client.post(invitation_link(mailoutbox[0]), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert client.get(accepted["Location"], follow=True).redirect_chain[-1][0] == "/my/"
    assert CustomerLogin.objects.get(user__email="pat@customer.example").customer == customer


@pytest.mark.parametrize("spoil", ["expire", "revoke"])
def test_expired_or_revoked_links_are_refused(client, log_in, mailoutbox, on_commit, spoil):
    manager = StaffFactory(manager=True)
    log_in(manager.user)
    with on_commit():
        client.post("/staff/team/", {"email": "late@example.com", "role": Role.MANAGER})
    invitation = Invitation.objects.get(email="late@example.com")
    if spoil == "expire":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    else:
        client.post(f"/staff/invitations/{invitation.pk}/revoke/")
    client.logout()

    response = client.post(invitation_link(mailoutbox[0]), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 410
    assert not StaffMembership.objects.filter(user__email="late@example.com").exists()


def test_an_email_that_already_has_a_login_is_refused(client, log_in, mailoutbox):
    manager = StaffFactory(manager=True)
    existing = UserFactory(email="taken@example.com")
    customer = CustomerFactory(reseller=manager.reseller)
    log_in(manager.user)

    for url, data in [
        ("/staff/team/", {"email": "Taken@example.com", "role": Role.AGENT}),
        (f"/staff/customers/{customer.pk}/invite/", {"email": existing.email}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 200
        form = response.context.get("invite_form") or response.context["form"]
        assert form.errors["email"] == ["This email address already has a login."]
        assert data["email"] in response.content.decode()  # what was typed is still there
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_agents_cannot_revoke_staff_invitations_and_nobody_another_resellers(client, log_in):
    manager = StaffFactory(manager=True)
    agent = StaffFactory(reseller=manager.reseller, role=Role.AGENT)
    outsider = StaffFactory(manager=True)
    log_in(manager.user)
    client.post("/staff/team/", {"email": "colleague@example.com", "role": Role.AGENT})
    invitation = Invitation.objects.get()
    client.logout()

    log_in(agent.user)
    assert client.post(f"/staff/invitations/{invitation.pk}/revoke/").status_code == 403
    client.logout()
    log_in(outsider.user)
    assert client.post(f"/staff/invitations/{invitation.pk}/revoke/").status_code == 404
    invitation.refresh_from_db()
    assert not invitation.revoked
