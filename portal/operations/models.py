"""Operations: long work a person starts and watches, alerts for the managers, and which
reseller each audit entry belongs to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.tenancy.scoping import ScopedQuerySet


class OperationKind(models.TextChoices):
    CSV_IMPORT = "csv_import", "CSV import"
    DRIFT_RESOLUTION = "drift_resolution", "Drift resolution"
    CARRIER_IMPORT = "carrier_import", "Carrier account import"


class OperationState(models.TextChoices):
    CHECKED = "checked", "Checked (dry run)"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Operation(models.Model):
    """Long work a person started (a CSV import, resolving many drift items, importing a
    carrier account), done by a worker, watched through ``processed`` of ``total``.

    A CSV import keeps its file here (``source``: web and worker may be different
    machines) and its per-row report (``report``: ``[line, outcome, label, reason]``).
    """

    reseller = models.ForeignKey("tenancy.Reseller", on_delete=models.CASCADE, related_name="operations")
    carrier_account = models.ForeignKey(
        "carriers.CarrierAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="operations"
    )
    kind = models.CharField(max_length=20, choices=OperationKind.choices)
    state = models.CharField(max_length=10, choices=OperationState.choices, default=OperationState.QUEUED)
    title = models.CharField(max_length=200)
    object_type = models.CharField(max_length=20, blank=True, help_text="What a CSV import holds.")
    source_name = models.CharField(max_length=200, blank=True)
    source = models.TextField(blank=True, help_text="The uploaded CSV, as text.")
    options = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="Rows or items by outcome.")
    report = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True, help_text="Why it failed as a whole, if it did.")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = None

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_working(self) -> bool:
        return self.state in (OperationState.QUEUED, OperationState.RUNNING)

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.processed / self.total)) if self.total else (100 if not self.is_working else 0)


class AlertKind(models.TextChoices):
    JOB_FAILED = "job_failed", "A sync job failed"
    JOB_STUCK = "job_stuck", "A change has waited too long"
    DRIFT_FOUND = "drift_found", "Drift found"
    CONNECTION_FAILING = "connection_failing", "A carrier account's connection fails"


class AlertQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(acknowledged_at__isnull=True)


class Alert(models.Model):
    """Something a manager should know, shown on the dashboard until acknowledged and
    mailed in the next digest. ``key`` names what it is about (``job:42``,
    ``drift:7:1903``): the same thing seen again is one alert, not another."""

    reseller = models.ForeignKey("tenancy.Reseller", on_delete=models.CASCADE, related_name="alerts")
    carrier_account = models.ForeignKey(
        "carriers.CarrierAccount", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    key = models.CharField(max_length=120)
    subject = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    mailed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AlertQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = None

    class Meta:
        ordering = ["-last_seen", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["reseller", "key"], condition=models.Q(acknowledged_at__isnull=True), name="alert_open_once"
            )
        ]
        indexes = [models.Index(fields=["reseller", "acknowledged_at"], name="alert_reseller_open")]

    def __str__(self) -> str:
        return self.subject
