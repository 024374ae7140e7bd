"""Staff "view as customer": the customer's pages as they see them, every change recorded as the
staff user's on the customer's behalf, and the logins out of reach."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry

from portal.customers.models import CustomerLogin

pytestmark = pytest.mark.django_db

AFTER_HOURS = {
    "unconditional-enabled": "on", "unconditional-target": "07911 123457", "unconditional-timeout": "20",
    "unconditional-windows": "3",
    "unconditional-w0-days": ["0", "1", "2", "3", "4"],
    "unconditional-w0-start": "00:00", "unconditional-w0-end": "09:00",
    "unconditional-w1-days": ["0", "1", "2", "3", "4"],
    "unconditional-w1-start": "17:30", "unconditional-w1-end": "23:59",
    "unconditional-w2-days": ["5", "6"], "unconditional-w2-start": "00:00", "unconditional-w2-end": "23:59",
    "op": "save",
}


def test_staff_see_the_customers_pages_with_a_banner_and_a_way_back(client, log_in, viewing_as, world):
    a = world["a"]
    log_in(world["manager"])
    logins = client.get(f"/staff/customers/{a['customer'].pk}/logins/").content.decode()
    assert "View as customer" in logins
    viewing_as(a["customer"])
    home = client.get("/my/").content.decode()
    assert "You are viewing <strong>Anchor Clinic</strong>" in home and "Stop viewing as Anchor Clinic" in home
    assert a["subscriber"].username in home and world["b"]["subscriber"].username not in home
    # The staff pages still work, with the banner and a way back to the customer's pages.
    staff_home = client.get("/staff/")
    assert staff_home.status_code == 200 and "Back to their pages" in staff_home.content.decode()
    response = client.post("/staff/view-as/stop/")
    assert response["Location"] == f"/staff/customers/{a['customer'].pk}/"
    assert client.get("/my/").status_code == 403  # staff, no longer viewing as anyone


def test_every_change_names_the_staff_user_and_the_customer(client, log_in, viewing_as, world):
    a = world["a"]
    log_in(world["manager"])
    viewing_as(a["customer"])
    response = client.post(f"/my/numbers/{a['number'].pk}/forwards/", AFTER_HOURS)
    assert response.status_code == 302
    entries = LogEntry.objects.filter(additional_data__on_behalf_of__id=a["customer"].pk)
    assert entries.count() >= 4  # the forward's destination and its three windows at least
    assert {entry.actor for entry in entries} == {world["manager"]}
    # The customer's History tab on the staff pages tells both names.
    client.post("/staff/view-as/stop/")
    history = client.get(f"/staff/customers/{a['customer'].pk}/history/").content.decode()
    assert "by Dana Shaw (staff) on behalf of Anchor Clinic" in history
    # So does the customer's own activity page, with the reseller's portal name for staff.
    client.logout()
    log_in(a["user"].user)
    activity = client.get("/my/activity/").content.decode()
    assert "by Dana Shaw (Northwind Telecom) on behalf of Anchor Clinic" in activity
    assert "Reseller Portal" not in activity


def test_changes_outside_view_as_do_not_claim_a_customer(client, log_in, world):
    log_in(world["manager"])
    number = world["a"]["number"]
    response = client.post(f"/staff/numbers/{number.pk}/forwards/edit/", AFTER_HOURS)
    assert response.status_code == 302
    entries = LogEntry.objects.filter(actor=world["manager"])
    assert entries.exists()
    assert not any("on_behalf_of" in (entry.additional_data or {}) for entry in entries)


def test_logins_passwords_and_mfa_are_out_of_reach_while_viewing_as(client, log_in, viewing_as, world):
    a = world["a"]
    log_in(world["manager"])
    viewing_as(a["customer"])
    account = client.get("/my/account/").content.decode()
    assert "Change your password" not in account and "Invite a colleague" not in account
    for path in ("/accounts/password/change/", "/accounts/2fa/", "/accounts/email/", "/accounts/2fa/totp/activate/"):
        assert client.get(path).status_code == 403, path
    assert client.post("/my/account/", {"first_name": "Mallory"}).status_code == 403
    assert client.post("/my/account/colleagues/", {"email": "spy@example.com"}).status_code == 403
    assert client.post(f"/my/account/colleagues/{a['user'].pk}/remove/").status_code == 403
    assert CustomerLogin.objects.filter(pk=a["user"].pk).exists()
    world["manager"].refresh_from_db()
    assert world["manager"].first_name == "Dana"


def test_only_staff_of_the_customers_reseller_may_view_as_it(client, log_in, world):
    log_in(world["outsider"])
    assert client.post(f"/staff/customers/{world['a']['customer'].pk}/view-as/").status_code == 404
    client.logout()
    log_in(world["a"]["admin"].user)
    assert client.post(f"/staff/customers/{world['b']['customer'].pk}/view-as/").status_code == 403
    assert client.post(f"/staff/customers/{world['a']['customer'].pk}/view-as/").status_code == 403


def test_a_customer_moved_out_of_reach_ends_the_view(client, log_in, viewing_as, world):
    log_in(world["agent"])
    viewing_as(world["a"]["customer"])
    world["a"]["customer"].reseller = world["c"]["customer"].reseller
    world["a"]["customer"].save(update_fields=["reseller"])
    assert client.get("/my/").status_code == 403
    assert "selfservice_view_as" not in client.session
