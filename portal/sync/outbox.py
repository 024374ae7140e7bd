"""Writing a change into the outbox, and handing it to Celery once it is committed.

``record_change`` is called by the service layer inside the transaction that saves the
desired state, so the job exists exactly when the change does. A newer change to the
same object supersedes a job still waiting in the queue: the latest state wins and the
carrier is called once. If the broker is down at commit time nothing is lost: the job
stays queued and the sweeper hands it over later.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from . import jobsql
from .models import JobOperation, JobState, SyncJob, SyncState, record_of
from .objects import KIND_OF_MODEL, KINDS

log = logging.getLogger(__name__)


def record_change(
    obj, *, kind: str | None = None, operation: str = JobOperation.PUSH, actor=None, new: bool = False
) -> SyncJob | None:
    """Queue the carrier side of a change to ``obj``. Call inside the service's transaction.

    Locks in the one order every writer keeps (docs/sync.md, "Lock order"): the object's
    rows first, then its jobs; a worker claims a job the same way round. ``new``: the row
    was inserted pending by this transaction, so it has no job to supersede and nothing
    to lock (primary keys are never reused).
    """
    kind_name = kind or KIND_OF_MODEL[type(obj)]
    synced = KINDS[kind_name]
    account = synced.account_of(obj)
    if account is None:
        return None  # not provisioned on any carrier: the portal is all there is
    if not new:
        # Pending until the carrier has it (a released number's row stays, and shows it).
        synced.state_rows(obj.pk).update(sync_state=SyncState.PENDING, sync_error="")
    payload = {}
    if operation == JobOperation.DELETE:
        # The remote id as the row holds it now (locked just above): the object in hand may
        # have been loaded before its create landed (issue #10, D5).
        current = synced.model.objects.filter(pk=obj.pk).first()
        payload = synced.delete_payload(current or obj)
    if not new:
        SyncJob.objects.filter(object_kind=kind_name, object_id=obj.pk, state=JobState.QUEUED).replaced_by(
            operation
        ).update(state=JobState.SUPERSEDED, finished_at=timezone.now())
    job = SyncJob.objects.create(
        reseller_id=account.reseller_id,
        carrier_account=account,
        object_kind=kind_name,
        object_id=obj.pk,
        object_repr=str(obj)[:200],
        record=record_of(kind_name, obj.pk),
        natural_key=synced.natural_key(obj)[:300],
        customer_id=synced.customer_id_of(obj),
        operation=operation,
        payload=payload,
        caused_by=actor if getattr(actor, "pk", None) else None,
    )
    offer_after_commit(account.pk)
    return job


def record_remote_delete(account, *, kind: str, payload: dict, label: str, actor=None) -> SyncJob:
    """Queue the delete of something only the carrier has (no portal row: ``object_id`` 0).

    Reconciliation uses it when staff choose to push the portal's side of an object the
    portal does not know. ``payload`` is what the kind's delete needs (its remote id...).
    """
    job = SyncJob.objects.create(
        reseller_id=account.reseller_id,
        carrier_account=account,
        object_kind=kind,
        object_id=0,
        object_repr=label[:200],
        operation=JobOperation.DELETE,
        payload=payload,
        caused_by=actor if getattr(actor, "pk", None) else None,
    )
    offer_after_commit(account.pk)
    return job


def enqueue(job_id: int, countdown: float | None = None) -> bool:
    """Send job ``job_id`` to a worker. False (and logged) when the broker is unreachable."""
    from .tasks import run_sync_job

    try:
        # No publish retries: a down broker must not hold up the page; the sweeper retries.
        run_sync_job.apply_async((job_id,), countdown=countdown, retry=False)
    except Exception as exc:
        log.warning("broker unavailable (%s); the sweeper will deliver sync job %s", type(exc).__name__, job_id)
        return False
    SyncJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now())
    return True


def offer(job_id: int) -> bool:
    """Send a due job to a worker, unless its carrier account is at its in-flight cap.

    Then no message is needed: every job running there takes the account's next due job
    when it ends, and this one was committed before they look. A burst of changes so does
    not fill the broker with messages that would only find their job taken.
    """
    busy = (
        SyncJob.objects.with_in_flight()
        .filter(pk=job_id, in_flight__gte=F("carrier_account__max_in_flight"))
        .exists()
    )
    return False if busy else enqueue(job_id)


def free_slots(account_ids) -> dict[int, int]:
    """How many more messages each carrier account may be sent right now: its in-flight cap,
    less its running jobs and the messages already on their way to a worker (queued, due,
    sent less than ``SYNC_REDELIVER_AFTER`` ago: each runs one of its jobs when it arrives,
    whichever is due then). A burst of changes so sends a message only while the account
    has a slot nobody is coming for. Counted in plain SQL (``jobsql.free_slots``): it runs
    at every commit that queues a change."""
    now = timezone.now()
    fresh_since = now - timedelta(seconds=settings.SYNC_REDELIVER_AFTER)
    return {account_id: jobsql.free_slots(account_id, now=now, fresh_since=fresh_since) for account_id in account_ids}


def offer_account(account_id: int) -> int:
    """Send the account's due, undelivered jobs to workers, as many as it has free slots.

    The rest need no message: every job running there takes the account's next due job
    when it ends. Returns how many were sent.
    """
    free = free_slots([account_id])[account_id]
    if free <= 0:
        return 0
    due = SyncJob.objects.undelivered().filter(carrier_account_id=account_id).order_by("next_attempt_at")
    sent = 0
    for job_id in due.values_list("pk", flat=True)[:free]:
        if not enqueue(job_id):
            break  # the broker is down: the sweeper delivers them later
        sent += 1
    return sent


def offer_after_commit(account_id: int) -> None:
    """Once the transaction commits, offer the account its due jobs (``offer_account``).

    Once per account per transaction, however many of its changes the transaction holds:
    a bulk change of 1,000 objects costs as many messages as the account has free
    slots, not 1,000 hand-offs that would mostly find the account busy.
    """
    for _, callback, _ in connection.run_on_commit if connection.in_atomic_block else ():
        if getattr(callback, "offers_account", None) == account_id:
            return  # already registered in this transaction (and not rolled back)
    callback = partial(offer_account, account_id)
    callback.offers_account = account_id
    transaction.on_commit(callback)
