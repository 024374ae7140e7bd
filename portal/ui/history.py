"""What a detail page shows under "Sync jobs" and "History": read-only, scoped, bounded."""

from __future__ import annotations

from auditlog.models import LogEntry
from django.db.models import Q

from portal.sync.models import SyncJob
from portal.sync.objects import KIND_OF_MODEL

SHOWN = 50


def jobs_of(request, obj, *, forwards: bool = False):
    """The latest sync jobs of one object (and of its forwards, for subscribers and numbers)."""
    kind = KIND_OF_MODEL[type(obj)]
    condition = Q(object_kind=kind, object_id=obj.pk)
    if forwards:
        condition |= Q(object_kind=f"{kind}_forwards", object_id=obj.pk)
    return SyncJob.objects.for_request(request).filter(condition).select_related("caused_by")[:SHOWN]


def jobs_of_customer(request, customer):
    """The latest sync jobs of a customer and of everything it has or had: a job names its
    object's customer, so the delete of a SIP account that is gone still shows here."""
    return SyncJob.objects.for_request(request).filter(customer=customer).select_related("caused_by")[:SHOWN]


def refused_deletes_of_customer(request, customer):
    """Deletes of the customer's objects that the carrier refused: the carrier still has them."""
    return SyncJob.objects.for_request(request).filter(customer=customer).refused_deletes()[:SHOWN]


def history_of(obj):
    """The object's audit trail, newest first (who, when, which fields from what to what)."""
    return LogEntry.objects.get_for_object(obj).select_related("actor").order_by("-timestamp")[:SHOWN]
