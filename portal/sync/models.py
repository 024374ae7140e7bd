from __future__ import annotations

from django.db import models


class SyncState(models.TextChoices):
    PENDING = "pending", "Pending"
    SYNCING = "syncing", "Syncing"
    SYNCED = "synced", "Synced"
    ERROR = "error", "Error"


class Provisioned(models.Model):
    """Fields of every object the portal keeps provisioned on a carrier account.

    The sync engine alone writes the sync fields; pages and the API only read them.
    """

    carrier_account = models.ForeignKey(
        "carriers.CarrierAccount", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    remote_id = models.CharField(max_length=64, blank=True, db_index=True)
    sync_state = models.CharField(max_length=8, choices=SyncState.choices, default=SyncState.PENDING, db_index=True)
    sync_error = models.TextField(blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SYNC_FIELDS = ("remote_id", "sync_state", "sync_error", "synced_at")

    class Meta:
        abstract = True
