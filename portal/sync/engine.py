"""Running one sync job: claim it, call the carrier, record what happened.

The job row is the truth; a Celery message only says "look at job N". Claiming is one
conditional UPDATE (queued → running), so two workers holding the same message (a
redelivery, a sweep) cannot both run it. The object is reloaded at run time, so the
carrier always receives the latest desired state, and sync fields are written with
``UPDATE … WHERE pk`` so a worker never overwrites what a person just changed.

A job whose account is at its in-flight cap stays queued: the task that frees one of
the account's slots runs the account's next due job in it. Nobody polls for a slot.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.utils import timezone

from portal.carriers import get_adapter
from portal.carriers.base import CarrierAdapter, CarrierError, PermanentError, RateLimitedError, TransientError
from portal.carriers.models import CarrierAccount

from .limiter import get_limiter, rate_for
from .models import ErrorKind, JobOperation, JobState, SyncJob, SyncState
from .objects import KINDS, SyncedKind
from .transport import LimitedTransport

log = logging.getLogger(__name__)

def worker_id() -> str:
    # Recomputed after fork: prefork children each have their own pid.
    return f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------ adapters
_adapters: dict[int, tuple[object, CarrierAdapter]] = {}


def adapter_for(account: CarrierAccount) -> CarrierAdapter:
    """One adapter (one httpx client, reused connections) per account per process."""
    version = (account.updated_at, os.getpid())
    cached = _adapters.get(account.pk)
    if cached and cached[0] == version:
        return cached[1]
    if cached:
        cached[1].close()
    adapter = build_adapter(account)
    _adapters[account.pk] = (version, adapter)
    return adapter


def build_adapter(account: CarrierAccount, *, max_wait: float = 0.0) -> CarrierAdapter:
    """A new adapter whose requests go through the account's shared rate limiter."""
    transport = LimitedTransport(account.pk, rate_for(account), get_limiter(), max_wait=max_wait)
    return get_adapter(account.kind, account.adapter_config(), transport=transport)


# ------------------------------------------------------------------- backoff
def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter, capped (AWS's "full jitter")."""
    base = settings.SYNC_BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return random.uniform(0, min(base, settings.SYNC_BACKOFF_MAX))


# -------------------------------------------------------------------- claim
def lease_seconds() -> int:
    return settings.CELERY_TASK_TIME_LIMIT + 30


def orphaned(claimed_by: str) -> bool:
    """True when the worker process that claimed a job on this host is gone (SIGKILL, OOM)."""
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def requeue_orphans(jobs) -> int:
    """Running jobs whose worker died or whose lease expired go back to the queue, and to a worker."""
    return len(_requeue_orphans(jobs.values_list("pk", "claimed_by", "lease_expires_at")))


def _requeue_orphans(running) -> list[int]:
    """Requeue the orphans among ``running`` (pk, claimed_by, lease) rows; their ids.

    Each is offered to a worker once the transaction (if any) commits.
    """
    from .outbox import offer

    now = timezone.now()
    requeued = []
    for pk, claimed_by, lease in running:
        if (lease is not None and lease < now) or orphaned(claimed_by):
            if SyncJob.objects.filter(pk=pk, state=JobState.RUNNING, claimed_by=claimed_by).update(
                state=JobState.QUEUED,
                next_attempt_at=now,
                enqueued_at=None,
                lease_expires_at=None,
                error_kind=ErrorKind.TRANSIENT,
                last_error="the worker running it stopped; trying again",
            ):
                requeued.append(pk)
                transaction.on_commit(partial(offer, pk))
    return requeued


def _lock_account(account_id: int) -> int:
    """Serialise the claims of one carrier account until the transaction ends; its cap.

    Without it two claims on PostgreSQL count the account's running jobs at the same
    time, both see a free slot and the in-flight cap is exceeded. (SQLite's write lock,
    taken when the transaction begins, already serialises them; there this is a no-op.)
    ``no_key``: new jobs and rate-limit events of the account may still be inserted.
    """
    # order_by(): the model's default ordering would join (and so lock) the reseller too.
    account = CarrierAccount.objects.select_for_update(no_key=True).filter(pk=account_id).order_by()
    return account.values_list("max_in_flight", flat=True).first() or 0


def _free_slot(account_id: int, cap: int) -> bool:
    """Under the account's lock: is one of its in-flight slots free? Dead workers' jobs free theirs."""
    running = list(
        SyncJob.objects.filter(carrier_account_id=account_id, state=JobState.RUNNING).values_list(
            "pk", "claimed_by", "lease_expires_at"
        )
    )
    return len(running) - len(_requeue_orphans(running)) < cap


def _object_running():
    return SyncJob.objects.filter(
        state=JobState.RUNNING, object_kind=OuterRef("object_kind"), object_id=OuterRef("object_id")
    )


def _due(jobs):
    return jobs.filter(state=JobState.QUEUED, next_attempt_at__lte=timezone.now())


def _claim(job: SyncJob) -> bool:
    """queued → running, if still due; under the account's lock with a slot free. Updates ``job``.

    Never while another job of the same object runs: two pushes of one object at once
    could reach the carrier in the wrong order.
    """
    now = timezone.now()
    running = {
        "state": JobState.RUNNING,
        "started_at": now,
        "lease_expires_at": now + timedelta(seconds=lease_seconds()),
        "claimed_by": worker_id(),
    }
    claimed = (
        _due(SyncJob.objects.filter(pk=job.pk))
        .exclude(Exists(_object_running()))
        .update(attempts=F("attempts") + 1, **running)
    )
    if claimed:
        for name, value in running.items():
            setattr(job, name, value)
        job.attempts += 1
        if job.operation == JobOperation.PUSH:  # in the claim's transaction: one commit fewer per job
            KINDS[job.object_kind].state_rows(job.object_id).update(sync_state=SyncState.SYNCING)
    return bool(claimed)


def _take(job: SyncJob, *, or_next_due: bool) -> SyncJob | None:
    """Under its account's lock: ``job`` claimed, or else (``or_next_due``) the account's next due job."""
    account_id = job.carrier_account_id
    with transaction.atomic():
        if not _free_slot(account_id, _lock_account(account_id)):
            return None
        if _claim(job):
            return job
        following = _next_due(account_id) if or_next_due else None
        return following if following is not None and _claim(following) else None


def claim(job_id: int) -> SyncJob | None:
    """queued → running, if it is due and its account has a free in-flight slot."""
    job = SyncJob.objects.select_related("carrier_account").filter(pk=job_id).first()
    return _take(job, or_next_due=False) if job is not None else None


def _next_due(account_id: int) -> SyncJob | None:
    """The account's queued job that has been due longest (and whose object is not running)."""
    # Ordered by next_attempt_at alone, so that the (state, next_attempt_at) index is read
    # in order and the first match ends the search however long the queue is.
    return (
        _due(SyncJob.objects.select_related("carrier_account").filter(carrier_account_id=account_id))
        .exclude(Exists(_object_running()))
        .order_by("next_attempt_at")
        .first()
    )


def claim_next(account_id: int) -> SyncJob | None:
    """The account's next due job, claimed, if the account has a free in-flight slot.

    Whether a message is on its way to that job or not: the message will find it taken.
    """
    with transaction.atomic():
        job = _free_slot(account_id, _lock_account(account_id)) and _next_due(account_id)
        return job if job and _claim(job) else None


@dataclass
class Result:
    """How a run ended, for the task that called it (and for tests)."""

    state: str
    retry_in: float | None = None
    job_id: int | None = None
    account_id: int | None = None
    # With keep_slot: the account's next due job, claimed in the commit that ended this one.
    next_job: SyncJob | None = None


# ------------------------------------------------------------------- running
def run_job(job_id: int, *, keep_slot: bool = False) -> Result | None:
    """Run job ``job_id`` if it can be claimed; None when there was nothing to run.

    A job refused for its account's in-flight cap just waits, queued: the task that frees
    one of the account's slots runs the account's next due job in it (``run_next``), so
    nobody polls for a slot. A message whose job is taken already (by such a task, or a
    redelivery) still serves its account: a free slot there gets the next due job.

    ``keep_slot``: a job that lands hands its slot straight to the account's next due job,
    claimed in the same commit (``Result.next_job``), which the caller must then run.
    """
    job = SyncJob.objects.select_related("carrier_account").with_in_flight().filter(pk=job_id).first()
    if job is None:
        return None
    if job.state != JobState.RUNNING and job.in_flight >= job.carrier_account.max_in_flight:
        # The account is at its cap (by a count taken without its lock: only a hint, but a
        # safe one, since each job counted looks for the next due job when it ends). A
        # running job is a redelivery: its worker may be dead, which the lock finds out.
        return None
    job = _take(job, or_next_due=True)
    return _run(job, keep_slot) if job is not None else None


def run_next(account_id: int, *, claimed: SyncJob | None = None, keep_slot: bool = False) -> Result | None:
    """Run the account's next due job in the slot just freed (or ``claimed``, already taken
    for it); None if there is none. ``keep_slot`` as for ``run_job``."""
    job = claimed or claim_next(account_id)
    return _run(job, keep_slot) if job is not None else None


def hand_over(account_id: int) -> None:
    """Send the account's next due job to any worker, to go on with the account from there."""
    from .outbox import enqueue

    job = _next_due(account_id)
    if job is not None:
        enqueue(job.pk)


def _run(job: SyncJob, keep_slot: bool = False) -> Result:
    result = _carry(job, keep_slot)
    result.job_id, result.account_id = job.pk, job.carrier_account_id
    return result


def _carry(job: SyncJob, keep_slot: bool) -> Result:
    kind = KINDS[job.object_kind]
    account = job.carrier_account
    try:
        adapter = adapter_for(account)
        if job.operation == JobOperation.DELETE:
            if kind.held(adapter):
                kind.delete(job.payload, adapter)
            return _done(job, kind, remote_id=None, keep_slot=keep_slot)
        obj = kind.load(job.object_id)
        if obj is None:
            return _finish(job, JobState.DONE, "the object was deleted before it was sent")
        if not kind.held(adapter):
            return _done(job, kind, remote_id="", keep_slot=keep_slot)
        parent = kind.parent(obj, adapter)
        if parent is not None and not KINDS[parent[0]].remote_id_of(parent[1]):
            return _wait_for_parent(job, kind, parent)
        outcome = kind.push(obj, adapter)
        return _done(job, kind, remote_id=outcome.remote_id, secret=outcome.secret, keep_slot=keep_slot)
    except RateLimitedError as exc:
        return _retry(job, kind, exc, delay=exc.retry_after, error_kind=ErrorKind.RATE_LIMITED, count_attempt=False)
    except TransientError as exc:
        return _retry(job, kind, exc, delay=backoff_seconds(job.attempts), error_kind=ErrorKind.TRANSIENT)
    except PermanentError as exc:
        return _fail(job, kind, exc)
    except CarrierError as exc:  # an unknown kind of carrier error: do not give up on it
        return _retry(job, kind, exc, delay=backoff_seconds(job.attempts), error_kind=ErrorKind.TRANSIENT)
    except Exception as exc:
        log.exception("sync job %s crashed", job.pk)
        return _retry(job, kind, exc, delay=backoff_seconds(job.attempts), error_kind=ErrorKind.TRANSIENT)


def _newer_jobs_queued(job: SyncJob):
    return SyncJob.objects.filter(object_kind=job.object_kind, object_id=job.object_id, state=JobState.QUEUED).exclude(
        pk=job.pk
    )


def _finish(job: SyncJob, state: str, error: str = "", error_kind: str = "") -> Result:
    SyncJob.objects.filter(pk=job.pk).update(
        state=state,
        finished_at=timezone.now(),
        last_error=error,
        error_kind=error_kind,
        lease_expires_at=None,
    )
    return Result(state)


@transaction.atomic
def _done(
    job: SyncJob, kind: SyncedKind, *, remote_id: str | None, secret: str | None = None, keep_slot: bool = False
) -> Result:
    if job.operation == JobOperation.PUSH:
        fields = {"sync_error": "", "synced_at": timezone.now()}
        # Pending still when a newer change waits: decided in the UPDATE, in one query.
        fields["sync_state"] = Case(
            When(Exists(_newer_jobs_queued(job)), then=Value(SyncState.PENDING)), default=Value(SyncState.SYNCED)
        )
        if remote_id is not None:
            fields["remote_id"] = remote_id
        rows = kind.state_rows(job.object_id)
        rows.update(**fields)
        if secret and job.object_kind == "trunk":
            trunk = rows.first()
            trunk.password = secret  # generated by the carrier; stored encrypted, shown once
            trunk.save(update_fields=["password"])
    result = _finish(job, JobState.DONE)
    if job.operation == JobOperation.PUSH:
        release_children(job)
    if keep_slot:
        # One commit ends this job and starts the next: on a busy account that is one
        # write transaction fewer per job.
        result.next_job = claim_next(job.carrier_account_id)
    return result


def _wait_for_parent(job: SyncJob, kind: SyncedKind, parent: tuple[str, object]) -> Result:
    parent_kind, parent_obj = parent
    wait = settings.SYNC_PARENT_WAIT
    countdown = _countdown(wait)
    SyncJob.objects.filter(pk=job.pk).update(
        state=JobState.QUEUED,
        attempts=F("attempts") - 1,  # waiting is not a failed attempt
        parent_kind=parent_kind,
        parent_id=parent_obj.pk,
        error_kind=ErrorKind.WAITING,
        last_error=f"waiting for {parent_kind} {parent_obj} to reach the carrier",
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
        enqueued_at=timezone.now() if countdown is not None else None,
        lease_expires_at=None,
    )
    kind.state_rows(job.object_id).update(sync_state=SyncState.PENDING)
    # Make sure the parent is on its way (it may never have been queued, e.g. imported).
    parent_open = SyncJob.objects.open().filter(object_kind=parent_kind, object_id=parent_obj.pk).exists()
    if not parent_open:
        from .outbox import record_change

        with transaction.atomic():
            record_change(parent_obj, kind=parent_kind, actor=job.caused_by)
    # The parent may have landed since it was looked at, releasing its children before this
    # one waited: a second look, or this one would wait for its re-check.
    parents = KINDS[parent_kind]
    landed = parents.load(parent_obj.pk)
    if landed is not None and parents.remote_id_of(landed):
        SyncJob.objects.filter(pk=job.pk, state=JobState.QUEUED).update(next_attempt_at=timezone.now())
        return Result(JobState.QUEUED, retry_in=0.0)
    return Result(JobState.QUEUED, retry_in=countdown)


def _countdown(delay: float) -> float | None:
    """Short waits ride a Celery countdown; longer ones wait in the table for the sweeper."""
    return delay if delay <= settings.SYNC_COUNTDOWN_MAX else None


def release_children(job: SyncJob) -> None:
    """A parent landed: its waiting children may go now, not at their next sweep."""
    from .outbox import offer

    children = list(
        SyncJob.objects.filter(
            state=JobState.QUEUED, parent_kind=job.object_kind, parent_id=job.object_id, error_kind=ErrorKind.WAITING
        ).values_list("pk", flat=True)
    )
    if children:
        SyncJob.objects.filter(pk__in=children).update(next_attempt_at=timezone.now())
        for child in children:
            # After the commit: a child that ran before it would not see its parent's remote id.
            transaction.on_commit(partial(offer, child))


def _retry(job, kind, exc, *, delay: float, error_kind: str, count_attempt: bool = True) -> Result:
    message = str(exc) or type(exc).__name__
    countdown = _countdown(delay)
    updates = {
        "state": JobState.QUEUED,
        "last_error": message,
        "error_kind": error_kind,
        "next_attempt_at": timezone.now() + timedelta(seconds=delay),
        "lease_expires_at": None,
        "enqueued_at": timezone.now() if countdown is not None else None,
    }
    if not count_attempt:
        updates["attempts"] = F("attempts") - 1
    SyncJob.objects.filter(pk=job.pk).update(**updates)
    if job.operation == JobOperation.PUSH:
        kind.state_rows(job.object_id).update(sync_state=SyncState.PENDING, sync_error=f"Retrying: {message}")
    log.info("sync job %s: %s; retrying in %.1f s", job.pk, message, delay)
    return Result(JobState.QUEUED, retry_in=countdown)


def _fail(job: SyncJob, kind: SyncedKind, exc: CarrierError) -> Result:
    message = str(exc)
    if job.operation == JobOperation.PUSH:
        kind.state_rows(job.object_id).update(sync_state=SyncState.ERROR, sync_error=message)
    log.warning("sync job %s failed: %s", job.pk, message)
    return _finish(job, JobState.FAILED, message, ErrorKind.PERMANENT)

