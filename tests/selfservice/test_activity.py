"""A customer's activity: their own changes only (deleted ones included, a number's previous
owner's never), who made each, and the changes still on their way."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry

from portal.forwards.services import ForwardInput, set_forwards
from portal.numbers.services import update_number
from portal.subscribers.models import Subscriber
from portal.sync.models import SyncState

pytestmark = pytest.mark.django_db


def test_the_trail_holds_the_customers_own_changes_and_nobody_elses(client, log_in, world):
    a, b = world["a"], world["b"]
    # A forward destination removed later still shows, as removed, with who removed it.
    set_forwards(a["number"], [ForwardInput("unconditional", True, [("+447911123457", 20)])], actor=a["user"].user)
    set_forwards(b["number"], [ForwardInput("unconditional", True, [("+447911123459", 20)])], actor=b["user"].user)
    log_in(a["admin"].user)
    html = client.get("/my/activity/").content.decode()
    assert "Removed forward destination: 07911 123456, ring 20 s" in html
    assert "Added forward destination: 07911 123457, ring 20 s" in html
    assert f"by {a['user'].user.get_full_name()}" in html
    assert "07911 123459" not in html and b["customer"].name not in html
    assert b["subscriber"].username not in html and world["c"]["subscriber"].username not in html


def test_a_number_given_to_another_customer_takes_no_history_with_it(client, log_in, world):
    a, b = world["a"], world["b"]
    spare = a["spare"]
    update_number(spare, trunk=None, destination="+447911123457")  # while it is A's
    update_number(spare, customer=b["customer"], destination="")  # now B's
    set_forwards(spare, [ForwardInput("unconditional", True, [("+447911000111", 20)])])
    log_in(b["admin"].user)
    html = client.get("/my/activity/").content.decode()
    assert "07911 000111" in html  # B's own forward
    assert "07911 123457" not in html  # A's routing of it stays A's
    client.logout()
    log_in(a["admin"].user)
    html = client.get("/my/activity/").content.decode()
    assert "07911 123457" in html and "07911 000111" not in html


def test_every_entry_of_a_customers_object_is_filed_under_the_customer(world):
    a = world["a"]
    parts = LogEntry.objects.filter(content_type__model__in=["forwarddestination", "forwardwindow"])
    assert parts.count() >= 6
    for entry in parts.select_related("owner"):
        assert entry.owner.customer_id in {world[k]["customer"].pk for k in "abc"}
        assert entry.owner.reseller_id in {world["reseller"].pk, world["c"]["customer"].reseller_id}
    customer_entry = LogEntry.objects.get_for_object(a["customer"]).get()
    assert (customer_entry.owner.customer_id, customer_entry.owner.reseller_id) == (a["customer"].pk,
                                                                                   world["reseller"].pk)
    reseller_entry = LogEntry.objects.get_for_object(world["reseller"]).get()
    assert (reseller_entry.owner.customer_id, reseller_entry.owner.reseller_id) == (None, world["reseller"].pk)


def test_changes_on_their_way_and_refused_ones_are_told_in_plain_words(client, log_in, world):
    a = world["a"]
    Subscriber.objects.filter(pk=a["subscriber"].pk).update(
        sync_state=SyncState.ERROR, sync_error="Username already taken at the carrier.")
    log_in(a["user"].user)
    html = client.get("/my/activity/").content.decode()
    assert "Not applied" in html and "The carrier refused this change: “Username already taken at the carrier.”" in html
    assert f'href="/my/phones/{a["subscriber"].pk}/"' in html
    assert "Being applied…" in html  # the forwards set up above were never sent (no worker here)
    poll = client.get(f"/my/status/phone/{a['subscriber'].pk}/")
    assert poll.status_code == 200 and b"hx-trigger" not in poll.content  # final: no more polling
    pending = client.get(f"/my/status/number-forwards/{a['number'].pk}/")
    assert b'hx-trigger="every 2s"' in pending.content
