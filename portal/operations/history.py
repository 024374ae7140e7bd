"""The global audit log: django-auditlog's entries, each scoped to the reseller it belongs to.

An entry is tied to its reseller as it is written (``post_log``): the entry names its
object only by type and id, and that object may be gone by the time someone reads the
log. "On behalf of" (staff acting as a customer) is shown when the entry carries it in
``additional_data`` (``on_behalf_of``: a name, or ``{"name"|"email"|"customer": …}``).
"""

from __future__ import annotations

import logging

from auditlog.models import LogEntry
from auditlog.signals import post_log
from django.contrib.contenttypes.models import ContentType

from .models import AuditScope

log = logging.getLogger(__name__)

# Models whose reseller is their parent's (they carry no reseller_path of their own).
THROUGH = {"forwarddestination": "forward", "forwardwindow": "forward"}


def _follow(obj, path: str):
    if path == "pk":
        return obj.pk
    *through, last = path.split("__")
    for part in through:
        if getattr(obj, f"{part}_id", None) is None:
            return None
        obj = getattr(obj, part)
    return getattr(obj, f"{last}_id", None)


def reseller_of(instance) -> int | None:
    """The reseller an audited object belongs to (None for what belongs to none)."""
    path = getattr(type(instance), "reseller_path", None)
    if path is None:
        parent = THROUGH.get(type(instance)._meta.model_name)
        if parent and getattr(instance, f"{parent}_id", None):
            return reseller_of(getattr(instance, parent))
        return None
    for one in (path,) if isinstance(path, str) else path:
        value = _follow(instance, one)
        if value:
            return value
    return None


def _scope(sender, instance, log_entry=None, **kwargs) -> None:
    if log_entry is None:
        return
    try:
        reseller_id = reseller_of(instance)
        if reseller_id:
            AuditScope.objects.create(entry=log_entry, reseller_id=reseller_id)
    except Exception:  # the change itself must never fail for its audit scope
        log.exception("audit entry %s: its reseller could not be recorded", log_entry.pk)


def connect() -> None:
    post_log.connect(_scope, dispatch_uid="portal.operations.audit_scope")


def entries_for(request):
    """The audit entries this request may read, newest first."""
    access = request.access
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    if access.is_platform_admin:
        return entries
    if not access.is_staff:
        return entries.none()
    return entries.filter(scope__reseller_id=access.reseller_id)


def audited_types():
    """The object types the audit log records, for its filter."""
    from auditlog.registry import auditlog

    return ContentType.objects.get_for_models(*auditlog.get_models()).values()


def on_behalf_of(entry) -> str:
    data = entry.additional_data or {}
    value = data.get("on_behalf_of") if isinstance(data, dict) else None
    if isinstance(value, dict):
        return str(value.get("name") or value.get("email") or value.get("customer") or "")
    return str(value or "")
