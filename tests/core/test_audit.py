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


def test_a_change_inside_the_requests_audit_context_leaks_no_receiver_and_keeps_the_address():
    """AuditlogMiddleware opens a context for the request; a service opens one for its actor
    inside it. auditlog alone left the request's receiver connected for good (one per
    request, each called by every later entry) and the address lost for the rest of it."""
    from django.db.models.signals import pre_save

    from portal.core.audit import acting_as

    actor = StaffFactory().user
    first, second = CustomerFactory.create_batch(2)
    before = len(pre_save.receivers)
    with set_actor(None, remote_addr="198.51.100.7"):  # what the middleware does for a token request
        with acting_as(actor):
            first.name = "Renamed by the service"
            first.save()
        second.name = "Renamed after it"
        second.save()
    assert len(pre_save.receivers) == before
    inside = LogEntry.objects.get_for_object(first).filter(action=LogEntry.Action.UPDATE).get()
    after = LogEntry.objects.get_for_object(second).filter(action=LogEntry.Action.UPDATE).get()
    assert (inside.actor, inside.remote_addr) == (actor, "198.51.100.7")
    assert after.remote_addr == "198.51.100.7"


def test_a_change_after_the_requests_audit_context_ended_takes_nothing_from_it():
    """auditlog leaves an ended context's values behind in the thread (a worker, a command
    run after a request): its address is not this change's, and its actor not either."""
    from portal.core.audit import acting_as

    earlier, actor = StaffFactory().user, StaffFactory().user
    customer = CustomerFactory()
    with set_actor(earlier, remote_addr="198.51.100.8"):
        pass
    with acting_as(actor):
        customer.name = "Renamed by a worker"
        customer.save()
    entry = LogEntry.objects.get_for_object(customer).filter(action=LogEntry.Action.UPDATE).get()
    assert (entry.actor, entry.remote_addr) == (actor, None)
