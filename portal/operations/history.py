"""The global audit log: django-auditlog's entries, each filed under the reseller it belongs to.

An entry is filed under its object's customer and reseller as it is written
(``portal/core/audit.py``, ``AuditEntryOwner``): the entry names its object only by type and
id, and that object may be gone by the time someone reads the log. "On behalf of" (staff
acting as a customer) is in the entry's ``additional_data``.
"""

from __future__ import annotations

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType


def entries_for(request):
    """The audit entries this request may read, newest first."""
    access = request.access
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    if access.is_platform_admin:
        return entries
    if not access.is_staff:
        return entries.none()
    return entries.filter(owner__reseller_id=access.reseller_id)


def audited_types():
    """The object types the audit log records, for its filter."""
    from auditlog.registry import auditlog

    return ContentType.objects.get_for_models(*auditlog.get_models()).values()


def on_behalf_of(entry) -> str:
    """The customer a staff user acted for, as a name ("" when they acted as themselves)."""
    data = entry.additional_data or {}
    value = data.get("on_behalf_of") if isinstance(data, dict) else None
    if isinstance(value, dict):
        return str(value.get("name") or value.get("email") or value.get("customer") or "")
    return str(value or "")
