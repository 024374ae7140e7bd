from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models
from django.db.models.functions import Coalesce
from django.utils import timezone

from portal.tenancy.scoping import ScopedQuerySet


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
    # What only the sync engine writes (with UPDATE … WHERE pk): a person's save of a row
    # loaded before a job landed must not write its stale copy back (issue #10, D1).
    ENGINE_FIELDS: tuple[str, ...] = SYNC_FIELDS

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        """Insert the whole row; update only what a person owns.

        Updating every column would write back the engine's fields as they were when the
        object was loaded (a remote id still empty, an old sync state). An update of a row
        deleted meanwhile is refused with a message, instead of inserting it again.
        """
        if self._state.adding or kwargs.get("update_fields") is not None or kwargs.get("force_insert"):
            return super().save(*args, **kwargs)
        kwargs["update_fields"] = self.person_fields()
        try:
            return super().save(*args, **kwargs)
        except DatabaseError as exc:
            if "did not affect any rows" not in str(exc):
                raise
            raise ValidationError(f"{self._meta.verbose_name.capitalize()} {self} was deleted meanwhile.") from None

    def save_as_carrier_holds_it(self) -> None:
        """Save every field, the engine's included: for what is adopted from the carrier."""
        if self._state.adding:
            self.save()
        else:
            self.save(update_fields=[f.name for f in self._meta.concrete_fields if not f.primary_key])

    @classmethod
    def person_fields(cls) -> list[str]:
        return [
            field.name
            for field in cls._meta.concrete_fields
            if not field.primary_key and field.name not in cls.ENGINE_FIELDS
        ]


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded"
    CANCELLED = "cancelled", "Cancelled"  # a person stopped it before it ran (operations.cancel_job)


class JobOperation(models.TextChoices):
    PUSH = "push", "Create or update"
    DELETE = "delete", "Delete"
    # Ask the carrier for a new secret of an object it holds (a trunk's password, which the
    # carriers generate): the kind's ``reset_secret``; the secret is kept as a create's is.
    RESET_SECRET = "reset", "Reset the password"


class ErrorKind(models.TextChoices):
    TRANSIENT = "transient", "Transient"
    RATE_LIMITED = "rate_limited", "Rate limited"
    PERMANENT = "permanent", "Permanent"
    WAITING = "waiting", "Waiting for its parent"


class SyncJobQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(state__in=(JobState.QUEUED, JobState.RUNNING))

    def replaced_by(self, operation: str):
        """The jobs a new job of ``operation`` makes redundant (while still queued).

        A push or a delete carries the object's whole latest state, so it replaces the
        object's older pushes and deletes; a password reset is a request of its own that
        neither replaces nor is replaced by them, only by a newer reset.
        """
        if operation == JobOperation.RESET_SECRET:
            return self.filter(operation=JobOperation.RESET_SECRET)
        return self.exclude(operation=JobOperation.RESET_SECRET)

    def refused_deletes(self):
        """Deletes the carrier refused: their object is gone from the portal, so these jobs
        are the only place that says the carrier still has it (and why)."""
        return self.filter(operation=JobOperation.DELETE, state=JobState.FAILED)

    def with_in_flight(self):
        """Each job with ``in_flight``: how many jobs of its carrier account are running.

        Counted without a lock: a hint (claims decide under the account's lock).
        """
        running = (
            self.model.objects.filter(carrier_account=models.OuterRef("carrier_account"), state=JobState.RUNNING)
            .order_by()
            .values("carrier_account")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        return self.annotate(in_flight=Coalesce(models.Subquery(running), 0))

    def undelivered(self):
        """Queued and due, but on no message's way to a worker.

        Never sent (the broker was down), back from a dead worker, done waiting in the
        table, or sent so long ago (``SYNC_REDELIVER_AFTER``) that the message must have
        been lost.
        """
        now = timezone.now()
        stale = now - timedelta(seconds=settings.SYNC_REDELIVER_AFTER)
        return self.filter(state=JobState.QUEUED, next_attempt_at__lte=now).filter(
            models.Q(enqueued_at__isnull=True) | models.Q(enqueued_at__lt=stale)
        )


class SyncJob(models.Model):
    """One change to bring to a carrier: the outbox row, and the durable truth.

    Celery only carries the job's id. A job names its object by kind and id (not a
    foreign key) so that a delete job outlives the row it deletes; ``payload`` keeps
    what a delete needs once the row is gone (remote id, natural key).
    """

    reseller = models.ForeignKey("tenancy.Reseller", on_delete=models.CASCADE, related_name="sync_jobs")
    # Each index costs every state change a write: the composite indexes in Meta serve
    # every lookup, so the columns they begin with carry no index of their own.
    carrier_account = models.ForeignKey(
        "carriers.CarrierAccount", on_delete=models.CASCADE, related_name="sync_jobs", db_index=False
    )
    object_kind = models.CharField(max_length=24)
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=200)
    # The carrier record the job writes, as the portal object it belongs to ("number:42"):
    # a number and its forwards are one record at some carriers, and two jobs of one
    # record never run at once (issue #10, D3).
    record = models.CharField(max_length=64, blank=True)
    # How the carrier finds the record without its id (a SIP username, a number): two
    # objects of one name (one deleted, one new) never run at once either.
    natural_key = models.CharField(max_length=300, blank=True)
    # The customer the object belongs to, so that a refused delete, whose object is gone,
    # still shows on the customer's page.
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="sync_jobs"
    )
    operation = models.CharField(max_length=8, choices=JobOperation.choices, default=JobOperation.PUSH)
    payload = models.JSONField(default=dict, blank=True)
    parent_kind = models.CharField(max_length=24, blank=True)
    parent_id = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=JobState.choices, default=JobState.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    error_kind = models.CharField(max_length=16, choices=ErrorKind.choices, blank=True)
    caused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=120, blank=True, help_text="host:pid of the worker running it")
    # The job's story, newest attempt last (the last ATTEMPTS_KEPT): when each attempt ran,
    # how long it took, how it ended and the carrier's words, and the requests it sent
    # (method, path, status, milliseconds; never a body or a header).
    attempt_log = models.JSONField(default=list, blank=True)

    ATTEMPTS_KEPT = 20

    objects = SyncJobQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = None

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["object_kind", "object_id", "state"], name="sync_job_object_state"),
            models.Index(fields=["state", "next_attempt_at"], name="sync_job_due"),
            # An account's running jobs (the in-flight cap) and its due jobs in order (claims).
            models.Index(fields=["carrier_account", "state", "next_attempt_at"], name="sync_job_account_due"),
            # The messages on their way to a worker, by account: each takes a slot when it arrives.
            models.Index(
                fields=["carrier_account", "next_attempt_at"],
                condition=models.Q(state="queued", enqueued_at__isnull=False),
                name="sync_job_on_its_way",
            ),
            # Only the children waiting for a parent: looked up each time a parent lands.
            models.Index(
                fields=["parent_kind", "parent_id"],
                condition=models.Q(state="queued", error_kind="waiting"),
                name="sync_job_waiting_children",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} {self.object_repr} ({self.get_state_display()})"

    def save(self, *args, **kwargs):
        if not self.record:
            self.record = record_of(self.object_kind, self.object_id)
        super().save(*args, **kwargs)


def record_of(object_kind: str, object_id: int) -> str:
    """The carrier record a job of ``object_kind`` writes: a number and its forwards (or a
    subscriber and its forwards) are one record at some carriers (Simwood's number
    config, Simotel's user), so their jobs share it and never run at once."""
    return f"{object_kind.removesuffix('_forwards')}:{object_id}"


class CarrierThrottle(models.Model):
    """Per carrier account: what the carrier last told us about our request budget.

    Shared by every worker through the database (the embedded default); with Redis the
    limiter keeps the same facts there instead.
    """

    carrier_account = models.OneToOneField(
        "carriers.CarrierAccount", on_delete=models.CASCADE, related_name="throttle"
    )
    blocked_until = models.DateTimeField(null=True, blank=True)


class RateLimitEvent(models.Model):
    """One request sent to a carrier account, for the database sliding-window limiter."""

    carrier_account = models.ForeignKey(
        "carriers.CarrierAccount", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    at = models.FloatField()  # Unix time; the (carrier_account, at) index serves every lookup

    class Meta:
        indexes = [models.Index(fields=["carrier_account", "at"], name="ratelimit_account_at")]


# ------------------------------------------------------------- reconciliation
class RunState(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ReconcileRun(models.Model):
    """One pull of a carrier account's real state, compared with the portal's."""

    reseller = models.ForeignKey("tenancy.Reseller", on_delete=models.CASCADE, related_name="reconcile_runs")
    carrier_account = models.ForeignKey(
        "carriers.CarrierAccount", on_delete=models.CASCADE, related_name="reconcile_runs"
    )
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.RUNNING, db_index=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    remote_objects = models.PositiveIntegerField(default=0, help_text="Objects read from the carrier.")
    drift_found = models.JSONField(default=dict, blank=True, help_text="Drift items found, by kind of drift.")
    error = models.TextField(blank=True)
    claimed_by = models.CharField(max_length=120, blank=True, help_text="host:pid of the process running it")

    objects = ScopedQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = None

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # One run per account at a time: a second one (beat and a person at once) is refused.
            models.UniqueConstraint(
                fields=["carrier_account"],
                condition=models.Q(state="running"),
                name="reconcile_one_running_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"Reconciliation of {self.carrier_account} at {self.started_at:%Y-%m-%d %H:%M} ({self.state})"


class DriftKind(models.TextChoices):
    MISSING_REMOTE = "missing_remote", "Missing at the carrier"
    UNKNOWN_LOCAL = "unknown_local", "Unknown to the portal"
    DIFFERS = "differs", "Differs"


class Resolution(models.TextChoices):
    PUSHED = "pushed", "Pushed ours"
    ADOPTED = "adopted", "Adopted theirs"
    DELETED_REMOTE = "deleted_remote", "Deleted at the carrier"


class DriftQuerySet(ScopedQuerySet):
    def open(self):
        return self.filter(resolved_at__isnull=True)


class Drift(models.Model):
    """One difference between the portal and a carrier account, found by a reconciliation.

    ``object_kind``/``object_id`` name the portal object as sync jobs do (a kind of
    ``objects.KINDS``; none for an object only the carrier has). ``diff`` maps each field
    that differs to ``[ours, theirs]``; ``theirs`` keeps everything the carrier said
    about the object, so that adopting it needs no second read.
    """

    reseller = models.ForeignKey("tenancy.Reseller", on_delete=models.CASCADE, related_name="drift")
    carrier_account = models.ForeignKey("carriers.CarrierAccount", on_delete=models.CASCADE, related_name="drift")
    run = models.ForeignKey(ReconcileRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="drift")
    kind = models.CharField(max_length=16, choices=DriftKind.choices)
    object_kind = models.CharField(max_length=24)
    object_id = models.BigIntegerField(null=True, blank=True)
    remote_id = models.CharField(max_length=64, blank=True)
    label = models.CharField(max_length=200)
    diff = models.JSONField(default=dict, blank=True)
    theirs = models.JSONField(default=dict, blank=True)
    detected_at = models.DateTimeField(default=timezone.now)
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_error = models.TextField(blank=True, help_text="Why the last attempt to resolve it failed.")
    sync_job = models.ForeignKey(SyncJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = DriftQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = None

    class Meta:
        ordering = ["carrier_account", "pk"]
        verbose_name_plural = "drift"
        indexes = [
            models.Index(fields=["carrier_account", "resolved_at", "object_kind"], name="drift_account_open"),
            models.Index(fields=["object_kind", "object_id"], name="drift_object"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.object_kind} {self.label}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
