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
    """The latest sync jobs of a customer and of everything it has."""
    condition = Q(object_kind="customer", object_id=customer.pk)
    for kind, related in (("subscriber", customer.subscribers), ("number", customer.numbers), ("trunk", customer.trunks)):
        ids = related.values("pk")
        condition |= Q(object_kind=kind, object_id__in=ids)
        if kind in ("subscriber", "number"):
            condition |= Q(object_kind=f"{kind}_forwards", object_id__in=ids)
    return SyncJob.objects.for_request(request).filter(condition).select_related("caused_by")[:SHOWN]


def history_of(obj):
    """The object's audit trail, newest first (who, when, which fields from what to what)."""
    return LogEntry.objects.get_for_object(obj).select_related("actor").order_by("-timestamp")[:SHOWN]
