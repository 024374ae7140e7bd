from __future__ import annotations

from django.db import models


class AuditEntryOwner(models.Model):
    """Whose object an audit entry is about: the customer and the reseller it belonged to when
    the entry was written (portal/core/audit.py).

    The index of the audit log by owner (django-auditlog's table is not ours to index): a
    customer's trail is a range of ``(customer_id, timestamp)``. Plain ids, not foreign keys:
    the trail outlives what it tells of.
    """

    entry = models.OneToOneField("auditlog.LogEntry", primary_key=True, on_delete=models.CASCADE, related_name="owner")
    customer_id = models.BigIntegerField(null=True, blank=True)
    reseller_id = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["customer_id", "-timestamp"], name="audit_owner_customer"),
            models.Index(fields=["reseller_id", "-timestamp"], name="audit_owner_reseller"),
        ]

    def __str__(self) -> str:
        return f"Entry {self.entry_id}: customer {self.customer_id}, reseller {self.reseller_id}"
