"""What operators and staff do with sync jobs: see how the queue stands, retry what failed,
push an object again ("sync now").

The management commands (``sync_status``, ``sync_retry``), the pages and the admin all
call these functions, so a retry is the same whoever asks for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from portal.carriers.models import CarrierAccount

from .models import JobOperation, JobState, SyncJob, SyncState
from .objects import KINDS, PUSHED_AS
from .outbox import offer
from .provisioning import push_again

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------ retry
def retry_job(job: SyncJob, actor=None) -> SyncJob:
    """Send a failed job to the carrier again, its attempts counted afresh.

    It carries the object's latest state, as every run does; a change still waiting for
    the same object gives way to it (the newest state wins, sent once). If a job for the
    object is running, the retry waits for it. ``actor`` is who asked, for the log.
    ValidationError when the job is not failed.
    """
    if job.state != JobState.FAILED:
        raise ValidationError(f"Only a failed job can be retried; this one is {job.get_state_display().lower()}.")
    now = timezone.now()
    with transaction.atomic():
        # The object's rows before its jobs: the lock order of every writer (docs/sync.md).
        if job.operation != JobOperation.DELETE:
            KINDS[job.object_kind].state_rows(job.object_id).update(sync_state=SyncState.PENDING, sync_error="")
        waiting = SyncJob.objects.filter(
            object_kind=job.object_kind, object_id=job.object_id, state=JobState.QUEUED
        ).replaced_by(job.operation)
        if job.operation != JobOperation.DELETE:
            # A queued delete came after the failed change: it is the object's latest state
            # and must still run (the retried push then finds the row gone and sends nothing).
            waiting = waiting.exclude(operation=JobOperation.DELETE)
        waiting.update(state=JobState.SUPERSEDED, finished_at=now)
        requeued = SyncJob.objects.filter(pk=job.pk, state=JobState.FAILED).update(
            state=JobState.QUEUED,
            attempts=0,
            next_attempt_at=now,
            enqueued_at=None,
            started_at=None,
            finished_at=None,
            last_error="",
            error_kind="",
        )
        if not requeued:
            raise ValidationError("The job changed meanwhile (someone else retried it?).")
        transaction.on_commit(lambda: offer(job.pk))
    log.info("sync job %s (%s) retried by %s", job.pk, job.object_repr, getattr(actor, "pk", None) or "the system")
    job.refresh_from_db()
    return job


def retry_failed(jobs, actor=None) -> int:
    """Retry every failed job of ``jobs`` (a SyncJob queryset); how many were sent again."""
    return _each(jobs.filter(state=JobState.FAILED), retry_job, actor)


def _each(jobs, do, actor) -> int:
    """``do(job, actor)`` for each job, oldest first; how many it did (a job changed meanwhile is skipped)."""
    done = 0
    for job in jobs.order_by("pk"):
        try:
            do(job, actor)
        except ValidationError:
            continue  # someone (or a worker) got there first
        done += 1
    return done


def sync_now(objects, actor=None) -> list[SyncJob]:
    """Queue a fresh push of each object as the portal has it ("sync now"); the jobs queued.

    Objects on no carrier account are left out. A call forward is pushed with the whole
    set of its owner's forwards, once per owner.
    """
    queued, seen = [], set()
    for obj in objects:
        target, kind = _pushed_as(obj)
        if (kind, target.pk) in seen:
            continue
        seen.add((kind, target.pk))
        job = push_again(target, actor=actor, kind=kind)
        if job is not None:
            queued.append(job)
    return queued


def _pushed_as(obj) -> tuple[object, str | None]:
    """The object a push of ``obj`` is about, and its kind (None: the kind of its model).

    A call forward is pushed as its owner's whole set (``objects.PUSHED_AS``)."""
    through = PUSHED_AS.get(type(obj))
    return through(obj) if through is not None else (obj, None)


# ----------------------------------------------------------------------------- status
@dataclass
class AccountStatus:
    account: CarrierAccount
    counts: dict[str, int]  # JobState value -> jobs

    @property
    def open(self) -> int:
        return self.counts[JobState.QUEUED] + self.counts[JobState.RUNNING]


@dataclass
class QueueStatus:
    accounts: list[AccountStatus]
    oldest_queued: SyncJob | None
    failed: list[SyncJob]
    failed_total: int
    now: datetime = field(default_factory=timezone.now)

    @property
    def totals(self) -> dict[str, int]:
        return {state: sum(a.counts[state] for a in self.accounts) for state in JobState.values}

    @property
    def oldest_queued_age(self) -> timedelta | None:
        return self.now - self.oldest_queued.created_at if self.oldest_queued else None


def queue_status(accounts=None, *, failed_limit: int = 20) -> QueueStatus:
    """How the sync queue stands for ``accounts`` (a CarrierAccount queryset; default all)."""
    accounts = (accounts if accounts is not None else CarrierAccount.objects.all()).select_related("reseller")
    per_state = {
        state: Count("sync_jobs", filter=Q(sync_jobs__state=state)) for state in JobState.values
    }
    rows = accounts.annotate(**{f"n_{state}": count for state, count in per_state.items()}).order_by(
        "reseller__name", "name"
    )
    statuses = [
        AccountStatus(account, {state: getattr(account, f"n_{state}") for state in JobState.values})
        for account in rows
    ]
    jobs = SyncJob.objects.filter(carrier_account__in=accounts).select_related("carrier_account")
    failed = jobs.filter(state=JobState.FAILED).order_by("-finished_at", "-pk")
    return QueueStatus(
        accounts=statuses,
        oldest_queued=jobs.filter(state=JobState.QUEUED).order_by("created_at").first(),
        failed=list(failed[:failed_limit]),
        failed_total=failed.count(),
    )


def oldest_queued_since(accounts) -> datetime | None:
    """When the longest-waiting queued job of ``accounts`` was created (for health pages)."""
    return SyncJob.objects.filter(carrier_account__in=accounts, state=JobState.QUEUED).aggregate(
        oldest=Min("created_at")
    )["oldest"]


# ------------------------------------------------------------------ naming accounts
class NoSuchAccount(Exception):
    pass


def find_account(ref: str) -> CarrierAccount:
    """A carrier account by id, or by name (which must then name exactly one)."""
    matches = CarrierAccount.objects.filter(Q(pk=int(ref)) if ref.isdigit() else Q(name=ref))
    found = list(matches.select_related("reseller")[:2])
    if not found:
        raise NoSuchAccount(f"no carrier account {ref!r}")
    if len(found) > 1:
        raise NoSuchAccount(f"more than one carrier account is called {ref!r}: give its id")
    return found[0]


# ----------------------------------------------------------------------------- cancel
def cancel_job(job: SyncJob, actor=None) -> SyncJob:
    """Stop a queued job before it runs; the carrier is not told of its change.

    Locks as a claim does — the carrier account, then the object's rows, then the job —
    so a worker about to claim the job either has it already (the cancel is refused) or
    finds it cancelled. The object keeps showing the truth: if another job of it is still
    open, that one carries the latest state and the object stays pending; otherwise the
    portal's state has not reached the carrier, which the object's error says (with how to
    send it after all). ValidationError when the job is not queued.
    """
    if job.state != JobState.QUEUED:
        raise ValidationError(f"Only a queued job can be cancelled; this one is {job.get_state_display().lower()}.")
    now = timezone.now()
    who = str(actor) if getattr(actor, "pk", None) else "the system"
    note = f"Cancelled by {who} before it was sent."
    with transaction.atomic():
        list(CarrierAccount.objects.select_for_update(no_key=True).filter(pk=job.carrier_account_id).values("pk"))
        rows = KINDS[job.object_kind].state_rows(job.object_id) if job.operation == JobOperation.PUSH else None
        if rows is not None:
            list(rows.select_for_update(no_key=True).values("pk"))  # the object's rows before its jobs
        story = [*job.attempt_log, {"at": now.isoformat(), "ms": None, "outcome": "cancelled", "error": note, "requests": []}]
        cancelled = SyncJob.objects.filter(pk=job.pk, state=JobState.QUEUED).update(
            state=JobState.CANCELLED, finished_at=now, last_error=note, error_kind="",
            attempt_log=story[-SyncJob.ATTEMPTS_KEPT:],
        )
        if not cancelled:
            raise ValidationError("The job changed meanwhile: a worker took it, or someone else cancelled it.")
        still_open = SyncJob.objects.open().filter(object_kind=job.object_kind, object_id=job.object_id).exists()
        if rows is not None and not still_open:
            rows.update(
                sync_state=SyncState.ERROR,
                sync_error=f"Not sent to the carrier: {who} cancelled the change on {now:%d %b %Y %H:%M}. "
                "The carrier may still hold the earlier state; “Sync now” sends the portal's.",
            )
    log.info("sync job %s (%s) cancelled by %s", job.pk, job.object_repr, getattr(actor, "pk", None) or "the system")
    job.refresh_from_db()
    return job


def cancel_queued(jobs, actor=None) -> int:
    """Cancel every queued job of ``jobs`` (a SyncJob queryset); how many were cancelled."""
    return _each(jobs.filter(state=JobState.QUEUED), cancel_job, actor)


# --------------------------------------------------------------------------- health
@dataclass
class AccountHealth:
    """What the dashboard shows of one carrier account's queue (open work and failures)."""

    queued: int = 0
    running: int = 0
    failed: int = 0
    oldest_queued: datetime | None = None


def account_health(accounts) -> dict[int, AccountHealth]:
    """Queued, running and failed jobs and the oldest queued job, per account of ``accounts``.

    Two grouped queries whatever the number of accounts; finished jobs (most of the table)
    are never counted, so the cost follows the open work, not the history.
    """
    health: dict[int, AccountHealth] = {pk: AccountHealth() for pk in accounts.values_list("pk", flat=True)}
    jobs = SyncJob.objects.filter(carrier_account_id__in=list(health))
    counted = (JobState.QUEUED, JobState.RUNNING, JobState.FAILED)
    for account_id, state, n in (
        jobs.filter(state__in=counted).order_by().values_list("carrier_account_id", "state").annotate(n=Count("pk"))
    ):
        setattr(health[account_id], state, n)
    for account_id, oldest in (
        jobs.filter(state=JobState.QUEUED).order_by().values_list("carrier_account_id").annotate(oldest=Min("created_at"))
    ):
        health[account_id].oldest_queued = oldest
    return health
