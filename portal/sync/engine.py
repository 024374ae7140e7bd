"""Running one sync job: claim it, call the carrier, record what happened.

The job row is the truth; a Celery message only says "look at job N". Claiming is one
conditional UPDATE (queued → running), so two workers holding the same message (a
redelivery, a sweep) cannot both run it. The object is reloaded at run time, so the
carrier always receives the latest desired state, and sync fields are written with
``UPDATE … WHERE pk`` so a worker never overwrites what a person just changed.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
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
    transport = LimitedTransport(account.pk, rate_for(account), get_limiter())
    adapter = get_adapter(account.kind, account.adapter_config(), transport=transport)
    _adapters[account.pk] = (version, adapter)
    return adapter


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
    """Running jobs whose worker died or whose lease expired go back to the queue."""
    now = timezone.now()
    requeued = 0
    for pk, claimed_by, lease in jobs.values_list("pk", "claimed_by", "lease_expires_at"):
        if (lease is not None and lease < now) or orphaned(claimed_by):
            requeued += SyncJob.objects.filter(pk=pk, state=JobState.RUNNING, claimed_by=claimed_by).update(
                state=JobState.QUEUED,
                next_attempt_at=now,
                enqueued_at=None,
                lease_expires_at=None,
                error_kind=ErrorKind.TRANSIENT,
                last_error="the worker running it stopped; trying again",
            )
    return requeued


def claim(job_id: int) -> SyncJob | None:
    """queued → running, if it is due and its account has a free in-flight slot."""
    requeue_orphans(SyncJob.objects.filter(pk=job_id, state=JobState.RUNNING))
    now = timezone.now()
    running_here = (
        SyncJob.objects.filter(carrier_account=OuterRef("carrier_account"), state=JobState.RUNNING)
        .order_by()
        .values("carrier_account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    cap = CarrierAccount.objects.filter(pk=OuterRef("carrier_account")).values("max_in_flight")
    claimed = (
        SyncJob.objects.filter(pk=job_id, state=JobState.QUEUED, next_attempt_at__lte=now)
        .annotate(in_flight=Coalesce(Subquery(running_here), Value(0)), cap=Subquery(cap))
        .filter(in_flight__lt=F("cap"))
        .update(
            state=JobState.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            lease_expires_at=now + timedelta(seconds=lease_seconds()),
            claimed_by=worker_id(),
        )
    )
    if not claimed:
        return None
    return SyncJob.objects.select_related("carrier_account").get(pk=job_id)


@dataclass
class Result:
    """How a run ended, for the task that called it (and for tests)."""

    state: str
    retry_in: float | None = None


# ------------------------------------------------------------------- running
def run_job(job_id: int) -> Result | None:
    """Run job ``job_id`` if it can be claimed; None when it was not ours to run."""
    job = claim(job_id)
    if job is None:
        return _not_claimed(job_id)
    kind = KINDS[job.object_kind]
    account = job.carrier_account
    if job.operation == JobOperation.PUSH:
        kind.state_rows(job.object_id).update(sync_state=SyncState.SYNCING)
    try:
        adapter = adapter_for(account)
        if job.operation == JobOperation.DELETE:
            if kind.held(adapter):
                kind.delete(job.payload, adapter)
            return _done(job, kind, remote_id=None)
        obj = kind.load(job.object_id)
        if obj is None:
            return _finish(job, JobState.DONE, "the object was deleted before it was sent")
        if not kind.held(adapter):
            return _done(job, kind, remote_id="")
        parent = kind.parent(obj, adapter)
        if parent is not None and not KINDS[parent[0]].remote_id_of(parent[1]):
            return _wait_for_parent(job, kind, parent)
        outcome = kind.push(obj, adapter)
        return _done(job, kind, remote_id=outcome.remote_id, secret=outcome.secret)
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


def _not_claimed(job_id: int) -> Result | None:
    """Someone else has it, it is not due, or its account is at its in-flight cap."""
    job = SyncJob.objects.filter(pk=job_id).values("state", "next_attempt_at").first()
    if job and job["state"] == JobState.QUEUED and job["next_attempt_at"] <= timezone.now():
        # Due but the account is busy: ask again shortly, without holding a worker.
        delay = random.uniform(0.2, 1.0)
        return Result(JobState.QUEUED, retry_in=delay)
    return None


def _newer_job_queued(job: SyncJob) -> bool:
    return (
        SyncJob.objects.filter(object_kind=job.object_kind, object_id=job.object_id, state=JobState.QUEUED)
        .exclude(pk=job.pk)
        .exists()
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
def _done(job: SyncJob, kind: SyncedKind, *, remote_id: str | None, secret: str | None = None) -> Result:
    if job.operation == JobOperation.PUSH:
        fields = {"sync_error": "", "synced_at": timezone.now()}
        fields["sync_state"] = SyncState.PENDING if _newer_job_queued(job) else SyncState.SYNCED
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
    return result


def _wait_for_parent(job: SyncJob, kind: SyncedKind, parent: tuple[str, object]) -> Result:
    parent_kind, parent_obj = parent
    SyncJob.objects.filter(pk=job.pk).update(
        state=JobState.QUEUED,
        attempts=F("attempts") - 1,  # waiting is not a failed attempt
        parent_kind=parent_kind,
        parent_id=parent_obj.pk,
        error_kind=ErrorKind.WAITING,
        last_error=f"waiting for {parent_kind} {parent_obj} to reach the carrier",
        next_attempt_at=timezone.now() + timedelta(seconds=settings.SYNC_PARENT_WAIT),
        enqueued_at=None,
        lease_expires_at=None,
    )
    kind.state_rows(job.object_id).update(sync_state=SyncState.PENDING)
    # Make sure the parent is on its way (it may never have been queued, e.g. imported).
    parent_open = SyncJob.objects.open().filter(object_kind=parent_kind, object_id=parent_obj.pk).exists()
    if not parent_open:
        from .outbox import record_change

        with transaction.atomic():
            record_change(parent_obj, kind=parent_kind, actor=job.caused_by)
    return Result(JobState.QUEUED, retry_in=None)


def release_children(job: SyncJob) -> None:
    """A parent landed: its waiting children may go now, not at their next sweep."""
    from .outbox import enqueue

    children = list(
        SyncJob.objects.filter(
            state=JobState.QUEUED, parent_kind=job.object_kind, parent_id=job.object_id, error_kind=ErrorKind.WAITING
        ).values_list("pk", flat=True)
    )
    if children:
        SyncJob.objects.filter(pk__in=children).update(next_attempt_at=timezone.now())
        for child in children:
            enqueue(child)


def _retry(job, kind, exc, *, delay: float, error_kind: str, count_attempt: bool = True) -> Result:
    message = str(exc) or type(exc).__name__
    updates = {
        "state": JobState.QUEUED,
        "last_error": message,
        "error_kind": error_kind,
        "next_attempt_at": timezone.now() + timedelta(seconds=delay),
        "lease_expires_at": None,
        # Short waits ride a Celery countdown; long ones wait in the table for the sweeper.
        "enqueued_at": timezone.now() if delay <= settings.SYNC_COUNTDOWN_MAX else None,
    }
    if not count_attempt:
        updates["attempts"] = F("attempts") - 1
    SyncJob.objects.filter(pk=job.pk).update(**updates)
    if job.operation == JobOperation.PUSH:
        kind.state_rows(job.object_id).update(sync_state=SyncState.PENDING, sync_error=f"Retrying: {message}")
    log.info("sync job %s: %s; retrying in %.1f s", job.pk, message, delay)
    return Result(JobState.QUEUED, retry_in=delay if delay <= settings.SYNC_COUNTDOWN_MAX else None)


def _fail(job: SyncJob, kind: SyncedKind, exc: CarrierError) -> Result:
    message = str(exc)
    if job.operation == JobOperation.PUSH:
        kind.state_rows(job.object_id).update(sync_state=SyncState.ERROR, sync_error=message)
    log.warning("sync job %s failed: %s", job.pk, message)
    return _finish(job, JobState.FAILED, message, ErrorKind.PERMANENT)

