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
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal.carriers import get_adapter
from portal.carriers.base import (
    CarrierAdapter,
    CarrierError,
    PermanentError,
    Progress,
    RateLimitedError,
    TransientError,
    keeping,
)
from portal.carriers.models import CarrierAccount

from . import jobsql
from .limiter import get_limiter, rate_for
from .models import ErrorKind, JobOperation, JobState, SyncJob, SyncState
from .objects import KINDS, Outcome, SyncedKind
from .transport import LimitedTransport, budget_exhausted, recording

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


def _requeue_orphans_of(account_id: int) -> int:
    """Under the account's lock: put back the running jobs of its dead workers; how many."""
    running = SyncJob.objects.filter(carrier_account_id=account_id, state=JobState.RUNNING)
    return len(_requeue_orphans(running.values_list("pk", "claimed_by", "lease_expires_at")))


def _take(
    account_id: int, job_id: int | None, *, or_next_due: bool = False, relax: bool = True, wait: bool = True
) -> SyncJob | None:
    """Under the account's lock (in the caller's transaction): job ``job_id`` claimed, or
    with None (or, ``or_next_due``, when that job is not to be had) the account's next
    due job; None when there is none or no slot is free.

    Never while another job of the same carrier record (or of the same name at the
    carrier) runs: two writes of one record at once could lose one of them. The object's
    rows are locked (marked syncing) before the job is claimed: the lock order of every
    writer (docs/sync.md). ``wait=False``: the caller holds locks of its own, so an object
    a person's change holds is left for a later claim rather than waited for. Dead
    workers' jobs are put back before a claim is given up. ``relax``: the transaction's
    commit need not wait for the disk (``jobsql.relax_commit``). The job comes back with
    ``prepaid`` (a budget unit was taken for its first request) and ``budget_wait``
    (else how long until one is free).
    """
    locked = jobsql.lock_account(account_id, relax=relax)
    if locked is None:
        return None
    cap, version = locked
    now = timezone.now()
    cap = fair_share(account_id, cap, now)
    picked = jobsql.pick(account_id, job_id=job_id, now=now)
    # A job named by a message may be a redelivery of one whose worker died; a full
    # account may be full of such jobs.
    if picked is None and (job_id is not None or jobsql.running_count(account_id) >= cap):
        if _requeue_orphans_of(account_id):
            picked = jobsql.pick(account_id, job_id=job_id, now=now)
    if picked is None and job_id is not None and or_next_due:
        picked = jobsql.pick(account_id, job_id=None, now=now)
    if picked is None:
        return None
    picked_id, kind_name, object_id, operation = picked
    state_table = KINDS[kind_name].state_table() if operation != JobOperation.DELETE else None
    if state_table is not None and not jobsql.lock_object(*state_table, object_id, wait=wait):
        return None
    job = jobsql.claim(
        account_id, cap, job_id=picked_id, now=now, lease_until=now + timedelta(seconds=lease_seconds()), worker=worker_id()
    )
    if job is None:
        # Superseded between the pick and the claim (by a change that held the object):
        # the object is pending again, with its newer job.
        if state_table is not None:
            jobsql.set_object_state(*state_table, object_id, SyncState.PENDING)
        return None
    job.carrier_account = account = _account(account_id, version)
    limiter = get_limiter()
    # A limiter in the database takes the unit for the job's first request here, in this
    # write transaction (a write fewer per job), unless the job sends nothing; Redis's is
    # taken as the request goes, so as not to hold the account's lock meanwhile.
    job.prepaid = limiter.in_database and KINDS[job.object_kind].held(adapter_for(account))
    job.budget_wait = limiter.acquire(account_id, rate_for(account)) if job.prepaid else 0.0
    return job


_wanting: tuple[float, list[tuple[int, int, int]]] = (0.0, [])


def fair_share(account_id: int, cap: int, now) -> int:
    """The account's in-flight cap while other accounts wait for a worker too.

    One account must never hold more than its share of the workers: a carrier that hangs
    would otherwise tie every worker to its read timeout, and a busy one make the others
    wait. An account may run at most one job more than the account that runs fewest among
    those that have a job due and room under their own cap (max-min fairness: no need to
    know how many workers there are). What waits is looked up once per
    ``SYNC_FAIR_SHARE_TTL`` per process: a hint, like the share itself; the cap is exact.
    """
    others = [running for other, other_cap, running in _waiting(now) if other != account_id and running < other_cap]
    return min(cap, min(others) + 1) if others else cap


def _waiting(now) -> list[tuple[int, int, int]]:
    """(account, cap, running) of the accounts with a job due, as seen at most
    ``SYNC_FAIR_SHARE_TTL`` ago by this process."""
    global _wanting
    seen_at, wanting = _wanting
    if time.monotonic() - seen_at > settings.SYNC_FAIR_SHARE_TTL:
        wanting = jobsql.wanting_accounts(now)
        _wanting = (time.monotonic(), wanting)
    return wanting


def neediest_account(*, besides: int | None = None) -> int | None:
    """The account with a job due that runs fewest jobs (under its cap): where a worker
    whose own account has nothing for it (or has had its share) is most needed."""
    candidates = [
        (running, account_id)
        for account_id, cap, running in _waiting(timezone.now())
        if account_id != besides and running < cap
    ]
    return min(candidates)[1] if candidates else None


# The account each job runs with, reused while the account row is unchanged.
_accounts: dict[int, tuple[object, CarrierAccount]] = {}


def _account(account_id: int, version) -> CarrierAccount:
    cached = _accounts.get(account_id)
    if cached is None or cached[0] != version:
        cached = (version, CarrierAccount.objects.get(pk=account_id))
        _accounts[account_id] = cached
    return cached[1]


def claim(job_id: int) -> SyncJob | None:
    """queued → running, if it is due and its account has a free in-flight slot."""
    account_id = SyncJob.objects.filter(pk=job_id).values_list("carrier_account_id", flat=True).first()
    if account_id is None:
        return None
    with transaction.atomic():
        return _take(account_id, job_id)


def claim_next(account_id: int) -> SyncJob | None:
    """The account's next due job, claimed, if the account has a free in-flight slot.

    Whether a message is on its way to that job or not: the message will find it taken.
    """
    with transaction.atomic():
        return _take(account_id, None)


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
    hint = (
        SyncJob.objects.with_in_flight()
        .filter(pk=job_id)
        .values_list("state", "carrier_account_id", "in_flight", "carrier_account__max_in_flight")
        .first()
    )
    if hint is None:
        return None
    state, account_id, in_flight, cap = hint
    # At its cap (by a count taken without its lock: only a hint, but a safe one, since
    # each job counted looks for the next due job when it ends), the account takes nothing.
    # A running job is a redelivery: its worker may be dead, which the lock finds out.
    job = None
    if state == JobState.RUNNING or in_flight < cap:
        with transaction.atomic():
            job = _take(account_id, job_id, or_next_due=True)
    if job is None:
        # Its account is at its cap or its share: the account's running jobs take it when
        # they end, else the next delivery of waiting jobs (``sweeper.deliver``); no
        # message carries it any more.
        SyncJob.objects.filter(pk=job_id, state=JobState.QUEUED, next_attempt_at__lte=timezone.now()).update(
            enqueued_at=None
        )
        return None
    return _run(job, keep_slot)


def run_next(account_id: int, *, claimed: SyncJob | None = None, keep_slot: bool = False) -> Result | None:
    """Run the account's next due job in the slot just freed (or ``claimed``, already taken
    for it); None if there is none. ``keep_slot`` as for ``run_job``."""
    job = claimed or claim_next(account_id)
    return _run(job, keep_slot) if job is not None else None


def hand_over(account_id: int) -> None:
    """Send the account's next due job to any worker, to go on with the account from there."""
    from .outbox import enqueue

    job_id = jobsql.next_due(account_id, timezone.now())
    if job_id is not None:
        enqueue(job_id)


def _run(job: SyncJob, keep_slot: bool = False) -> Result:
    result = _carry(job, keep_slot)
    result.job_id, result.account_id = job.pk, job.carrier_account_id
    return result


class JobProgress(Progress):
    """A multi-request create's progress (``carriers.base.Progress``), kept on the job.

    What a step made is written to the job's payload at once, so a retry (or the job of
    a newer change to the same object) reuses it; an object the carrier holds is given
    its remote id (and the password the carrier showed once) at once, so that a later
    step's failure cannot lose it.
    """

    def __init__(self, job: SyncJob, kind: SyncedKind) -> None:
        self.job, self.kind = job, kind
        self._parts: dict[str, str] | None = None

    @property
    def parts(self) -> dict[str, str]:
        if self._parts is None:  # read only by the adapters that need it
            self._parts = dict(self.job.payload.get("parts") or {}) or recorded(self.job)[1]
        return self._parts

    def remember(self, key: str, value: str) -> None:
        self.parts[key] = value
        self._keep(parts=self.parts)

    def forget(self, key: str) -> None:
        if self.parts.pop(key, None) is not None:
            self._keep(parts=self.parts)

    def landed(self, remote_id: str, secret: str | None = None) -> None:
        self.kind.record_landing(self.job.object_id, remote_id, secret)
        self._keep(remote_id=remote_id)

    def sending(self, lookup: dict) -> None:
        sent = list(self.job.payload.get("sent") or [])
        if lookup not in sent:
            self._keep(sent=[*sent, lookup])

    def sent(self) -> list[dict]:
        return [*sent_before(self.job), *(self.job.payload.get("sent") or [])]

    def _keep(self, **facts) -> None:
        self.job.payload = {**self.job.payload, **facts}
        SyncJob.objects.filter(pk=self.job.pk).update(payload=self.job.payload)


def _earlier_payloads(job: SyncJob):
    """The payloads of the object's earlier jobs on the account, newest first (the last 50)."""
    return (
        SyncJob.objects.filter(
            object_kind=job.object_kind, object_id=job.object_id, carrier_account_id=job.carrier_account_id
        )
        .exclude(pk=job.pk)
        .order_by("-pk")
        .values_list("payload", flat=True)[:50]
    )


def recorded(job: SyncJob) -> tuple[str, dict[str, str]]:
    """The remote id and the parts that the object's earlier jobs recorded, newest first:
    what a create left at the carrier though its object's row is gone, or its job failed."""
    parts: dict[str, str] = {}
    for payload in _earlier_payloads(job):
        if payload.get("deleted"):
            break  # nothing of what came before is held any more
        if payload.get("remote_id"):
            return payload["remote_id"], parts
        parts = parts or dict(payload.get("parts") or {})
    return "", parts


def sent_before(job: SyncJob) -> list[dict]:
    """The lookups of the creates the object's earlier jobs sent without landing, oldest
    first: a create whose answer never came back may have made the object under any."""
    sent: list[dict] = []
    for payload in _earlier_payloads(job):
        if payload.get("deleted") or payload.get("remote_id"):
            break  # what came before was deleted, or landed and is named by its id
        sent = [*(payload.get("sent") or []), *sent]
    return sent


def _carry(job: SyncJob, keep_slot: bool) -> Result:
    kind = KINDS[job.object_kind]
    account = job.carrier_account
    transport = None
    try:
        adapter = adapter_for(account)
        if job.budget_wait:
            raise budget_exhausted(rate_for(account), job.budget_wait)
        if job.prepaid and isinstance(adapter.transport, LimitedTransport):
            transport = adapter.transport
            transport.prepaid = True  # the unit taken with the claim
        with keeping(JobProgress(job, kind)), recording() as job.sent:
            if job.operation == JobOperation.DELETE:
                return _delete(job, kind, adapter, keep_slot)
            obj = kind.load(job.object_id)
            if obj is None:
                return _finish(job, JobState.DONE, "the object was deleted before it was sent")
            if kind.gone(obj):
                _settle_unsent(job, kind)
                return _finish(job, JobState.DONE, f"{obj} was released: there is nothing to send")
            if not kind.held(adapter):
                return _done(job, kind, remote_id="", keep_slot=keep_slot)
            if job.operation == JobOperation.RESET_SECRET:
                outcome = _reset_secret(kind, obj, adapter)
            else:
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
    finally:
        if transport is not None:
            transport.prepaid = False  # a job that sent nothing leaves its unit unused


def _reset_secret(kind: SyncedKind, obj, adapter: CarrierAdapter) -> Outcome:
    """A new secret for an object the carrier holds, landed like a create's: kept (and the
    commit not relaxed) in ``_done``. An object the carrier does not hold yet has nothing
    to reset: its create brings its first secret."""
    remote_id = kind.remote_id_of(obj)
    if not remote_id:
        raise PermanentError(f"{obj} is not at the carrier yet: its create brings its password")
    return Outcome(remote_id, secret=kind.reset_secret(obj, adapter))


def _delete(job: SyncJob, kind: SyncedKind, adapter: CarrierAdapter, keep_slot: bool) -> Result:
    """Delete the carrier's object, named the way the carrier names it: the remote id the
    row had, else the one an earlier job landed (its create was on the way when the row
    went), else the one found by its natural key. With none, only what a half-landed
    create left (a Sipwise contact) is cleaned up: the carrier never held the object."""
    deleted = ""
    if kind.held(adapter):
        remote_id, lookup = kind.delete_target(job.payload)
        earlier_id, parts = recorded(job) if not remote_id else ("", {})
        remote_id = remote_id or earlier_id or kind.find(lookup, adapter) or _made_before(job, kind, adapter, lookup)
        if remote_id and held_by_another(job, kind, remote_id):
            # A delete retried after a namesake adopted the carrier's object (the delete had
            # failed, so nothing held the name): the object is that one's now, not ours to delete.
            return _finish(job, JobState.DONE, "the carrier's object belongs to another portal object now")
        if remote_id:
            kind.delete(remote_id, adapter)
            deleted = remote_id
        else:
            adapter.discard_parts(kind.name, parts, lookup)
    return _done(job, kind, remote_id=deleted, keep_slot=keep_slot)


def _made_before(job: SyncJob, kind: SyncedKind, adapter: CarrierAdapter, lookup: dict) -> str:
    """What a create sent under the object's former name left at the carrier (its answer
    never came back, then the object was renamed and deleted), unless another holds it."""
    for sent in reversed(sent_before(job)):
        found = kind.find(sent, adapter) if sent != lookup else None
        if found and not held_by_another(job, kind, found):
            return found
    return ""


def held_by_another(job: SyncJob, kind: SyncedKind, remote_id: str) -> bool:
    """Another live portal object of the kind holds ``remote_id`` on the job's account."""
    return kind.model.objects.filter(carrier_account_id=job.carrier_account_id, remote_id=remote_id).exclude(
        pk=job.object_id).exists()


def _story(job: SyncJob, outcome: str, error: str = "") -> list[dict]:
    """The job's attempt log with this attempt added: for the sync activity page."""
    now = timezone.now()
    attempt = {
        "at": job.started_at.isoformat() if job.started_at else now.isoformat(),
        "ms": round((now - job.started_at).total_seconds() * 1000) if job.started_at else None,
        "outcome": outcome,
        "error": error[:500],
        "requests": getattr(job, "sent", []),
    }
    return [*(job.attempt_log or []), attempt][-SyncJob.ATTEMPTS_KEPT :]


def _finish(job: SyncJob, state: str, error: str = "", error_kind: str = "") -> Result:
    log = _story(job, error_kind or state, error)
    jobsql.finish(job.pk, state, now=timezone.now(), log=log, error=error, error_kind=error_kind)
    return Result(state)


def _done(
    job: SyncJob, kind: SyncedKind, *, remote_id: str | None, secret: str | None = None, keep_slot: bool = False
) -> Result:
    # A secret the carrier generated is shown once: its commit is never relaxed.
    relax = not secret
    with transaction.atomic():
        if relax and not keep_slot:
            jobsql.relax_commit()  # else the next claim's lock does it
        if job.operation != JobOperation.DELETE:  # a push, or a reset: the object is synced
            if secret:
                kind.record_landing(job.object_id, remote_id, secret)
            table, column = kind.state_table()
            log = _story(job, JobState.DONE)
            children = jobsql.land_push(table, column, job, remote_id=remote_id, now=timezone.now(), log=log)
            release_children(children)
        else:
            log = _story(job, JobState.DONE)
            jobsql.land_delete(kind.model._meta.db_table, job, remote_id=remote_id or "", now=timezone.now(), log=log)
        result = Result(JobState.DONE)
        if keep_slot:
            # One commit ends this job and starts the next: on a busy account that is one
            # write transaction fewer per job. This one's locks are held meanwhile, so the
            # next object is not waited for if a person's change holds it.
            result.next_job = _take(job.carrier_account_id, None, relax=relax, wait=False)
    return result


def _wait_for_parent(job: SyncJob, kind: SyncedKind, parent: tuple[str, object]) -> Result:
    parent_kind, parent_obj = parent
    latest = (
        SyncJob.objects.filter(object_kind=parent_kind, object_id=parent_obj.pk)
        .order_by("-pk")
        .values_list("state", "last_error")
        .first()
    )
    refused = latest is not None and latest[0] in (JobState.FAILED, JobState.CANCELLED)
    if refused:
        # The carrier refused the parent (or a person cancelled its change): only a person
        # can send it again (and then its landing releases this child). Re-sending it unasked
        # would only be refused again, or undo the person's decision.
        wait = settings.SYNC_REFUSED_PARENT_WAIT
        if latest[0] == JobState.CANCELLED:
            reason = f"waiting: the change to its {parent_kind} {parent_obj} was cancelled; send it with “Sync now”"
        else:
            reason = f"waiting: its {parent_kind} {parent_obj} was refused by the carrier: {latest[1]}"
    else:
        wait = settings.SYNC_PARENT_WAIT
        reason = f"waiting for {parent_kind} {parent_obj} to reach the carrier"
    countdown = _countdown(wait)
    SyncJob.objects.filter(pk=job.pk).update(
        state=JobState.QUEUED,
        attempts=F("attempts") - 1,  # waiting is not a failed attempt
        attempt_log=_story(job, ErrorKind.WAITING, reason),
        parent_kind=parent_kind,
        parent_id=parent_obj.pk,
        error_kind=ErrorKind.WAITING,
        last_error=reason,
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
        enqueued_at=timezone.now() if countdown is not None else None,
        lease_expires_at=None,
    )
    kind.state_rows(job.object_id).update(sync_state=SyncState.PENDING, sync_error=reason[:1].upper() + reason[1:])
    # Make sure the parent is on its way (it may never have been queued, e.g. imported).
    if not refused and (latest is None or latest[0] not in (JobState.QUEUED, JobState.RUNNING)):
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


def release_children(children: list[int]) -> None:
    """A parent landed: its waiting children (their job ids) may go now, not at their next sweep."""
    from .outbox import offer

    if children:
        SyncJob.objects.filter(pk__in=children).update(next_attempt_at=timezone.now())
        for child in children:
            # After the commit: a child that ran before it would not see its parent's remote id.
            transaction.on_commit(partial(offer, child))


def _settle_unsent(job: SyncJob, kind: SyncedKind) -> None:
    """The claim marked the object syncing, and nothing was sent: it shows pending while
    another of its jobs is open (its release still to land), else synced — never syncing
    with no job of its own running (a push of a released number re-run after the release)."""
    waiting = SyncJob.objects.open().filter(object_kind=job.object_kind, object_id=job.object_id).exclude(pk=job.pk)
    state = SyncState.PENDING if waiting.exists() else SyncState.SYNCED
    kind.state_rows(job.object_id).filter(sync_state=SyncState.SYNCING).update(sync_state=state)


def _retry(job, kind, exc, *, delay: float, error_kind: str, count_attempt: bool = True) -> Result:
    message = str(exc) or type(exc).__name__
    countdown = _countdown(delay)
    updates = {
        "state": JobState.QUEUED,
        "attempt_log": _story(job, error_kind, message),
        "last_error": message,
        "error_kind": error_kind,
        "next_attempt_at": timezone.now() + timedelta(seconds=delay),
        "lease_expires_at": None,
        "enqueued_at": timezone.now() if countdown is not None else None,
    }
    if not count_attempt:
        updates["attempts"] = F("attempts") - 1
    SyncJob.objects.filter(pk=job.pk).update(**updates)
    # (A delete's row is usually gone; a released number's stays and shows it.)
    kind.state_rows(job.object_id).update(sync_state=SyncState.PENDING, sync_error=f"Retrying: {message}")
    log.info("sync job %s: %s; retrying in %.1f s", job.pk, message, delay)
    return Result(JobState.QUEUED, retry_in=countdown)


def _fail(job: SyncJob, kind: SyncedKind, exc: CarrierError) -> Result:
    message = str(exc)
    kind.state_rows(job.object_id).update(sync_state=SyncState.ERROR, sync_error=message)
    log.warning("sync job %s failed: %s", job.pk, message)
    return _finish(job, JobState.FAILED, message, ErrorKind.PERMANENT)

