"""Every write records who, when, which object and the field-level diff."""

from __future__ import annotations

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry

from tests.factories import CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db


def test_update_records_field_level_diff_and_actor():
    actor = StaffFactory().user
    customer = CustomerFactory(name="Old Name Ltd", email="old@example.com")
    with set_actor(actor):
        customer.name = "New Name Ltd"
        customer.save()
    entry = LogEntry.objects.get_for_object(customer).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == actor
    assert entry.changes_dict["name"] == ["Old Name Ltd", "New Name Ltd"]
    assert "email" not in entry.changes_dict  # only what changed
    assert entry.timestamp is not None


def test_create_and_delete_are_recorded():
    customer = CustomerFactory(name="Short Lived Ltd")
    pk = customer.pk
    customer.delete()
    actions = set(
        LogEntry.objects.filter(object_pk=str(pk), content_type__model="customer").values_list("action", flat=True)
    )
    assert actions == {LogEntry.Action.CREATE, LogEntry.Action.DELETE}
