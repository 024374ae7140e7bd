from __future__ import annotations

import time

from celery import shared_task
from django.conf import settings

from . import engine, sweeper
from .outbox import enqueue


# How long one task goes on with its account's next due jobs before it hands them to a
# new message: a busy account yields its worker now and then, and the task stays far
# inside its time limits.
ACCOUNT_TURN_SECONDS = 20.0


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_sync_job(job_id: int) -> None:
    """Carry job ``job_id`` to its carrier. Safe to receive twice: the claim decides.

    Then the account's in-flight slot it held goes to the account's next due job, and so
    on, in this same task: a backlog drains with no broker round trip per job. When the
    account has nothing for the slot (none due, or it has had its fair share while others
    wait), the slot goes to the account that waits most, without a message either.
    """
    deadline = time.monotonic() + ACCOUNT_TURN_SECONDS
    result = engine.run_job(job_id, keep_slot=True)
    account_id = None
    while True:
        in_turn = time.monotonic() < deadline
        if result is None:
            account_id = engine.neediest_account(besides=account_id) if in_turn else None
            result = engine.run_next(account_id, keep_slot=True) if account_id is not None else None
            if result is None:
                return
        if result.retry_in is not None:
            enqueue(result.job_id, countdown=result.retry_in)
        if result.next_job is None and not in_turn:
            engine.hand_over(result.account_id)
            return
        account_id = result.account_id
        result = engine.run_next(account_id, claimed=result.next_job, keep_slot=in_turn)


@shared_task(ignore_result=True)
def sweep() -> dict:
    return vars(sweeper.sweep())


# Early ack: a run can outlast the broker's visibility timeout, and a lost one is only a
# late one (the next period runs again). The run's own row refuses a second one at once.
@shared_task(
    ignore_result=True,
    acks_late=False,
    time_limit=settings.SYNC_RECONCILE_TIME_LIMIT + 60,
    soft_time_limit=settings.SYNC_RECONCILE_TIME_LIMIT,
)
def reconcile_account(account_id: int, actor_id: int | None = None) -> dict:
    """Record the drift of one carrier account (resolving it is for staff).

    ``actor_id``: the person who asked ("reconcile now"); the run counts what it reads as
    it goes, for the page that shows its progress.
    """
    from django.contrib.auth import get_user_model

    from portal.carriers.models import CarrierAccount

    from .progress import CountingAdapter
    from .reconcile import ReconcileBusy, reading_adapter, reconcile

    account = CarrierAccount.objects.filter(pk=account_id, enabled=True).first()
    if account is None:
        return {"account": account_id, "state": "skipped"}
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        with CountingAdapter(reading_adapter(account), account.pk) as adapter:
            run = reconcile(account, actor=actor, adapter=adapter)
    except ReconcileBusy as exc:
        return {"account": account_id, "state": "busy", "error": str(exc)}
    return {"account": account_id, "state": run.state, "drift": run.drift_found, "error": run.error}


@shared_task(ignore_result=True)
def reconcile_all() -> int:
    """The periodic entry point: one reconcile_account task per enabled carrier account."""
    from portal.carriers.models import CarrierAccount

    accounts = list(CarrierAccount.objects.filter(enabled=True).values_list("pk", flat=True))
    for account_id in accounts:
        reconcile_account.delay(account_id)
    return len(accounts)
