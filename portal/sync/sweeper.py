"""The sweeper: nothing is lost if the broker, a worker or the web process dies.

Run every few seconds by Celery beat (and by ``manage.py sync_sweep``): running jobs
whose worker is gone go back to the queue, and queued jobs that are due but were never
delivered (broker down at commit, a message lost with a killed worker, a long wait kept
in the table) are handed to Celery again.

It sends no more jobs to an account than the account has free in-flight slots: the
tasks running there take the rest, one by one, as they finish.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engine import requeue_orphans
from .models import JobState, SyncJob
from .outbox import enqueue, free_slots


@dataclass
class SweepReport:
    recovered: int = 0  # running jobs of dead workers, back in the queue
    enqueued: int = 0  # due jobs handed to Celery
    waiting: int = 0  # due jobs of accounts at their in-flight cap, left to the tasks running there
    undeliverable: int = 0  # the broker refused (it is down): the next sweep tries again


def sweep(batch: int = 1000) -> SweepReport:
    report = SweepReport()
    report.recovered = requeue_orphans(SyncJob.objects.filter(state=JobState.RUNNING))
    return deliver(report, batch)


def deliver(report: SweepReport | None = None, batch: int = 1000) -> SweepReport:
    """Send the due jobs no message carries to workers, as far as their accounts have room.

    The sweeper does it every few seconds; a task whose account has no more due jobs does
    it too, so that a slot it frees goes to another account's waiting job at once.
    """
    report = report or SweepReport()
    due = list(
        SyncJob.objects.undelivered().order_by("next_attempt_at").values_list("pk", "carrier_account_id")[:batch]
    )
    free = free_slots({account_id for _, account_id in due})
    for job_id, account_id in due:
        if free.get(account_id, 0) <= 0:
            report.waiting += 1
            continue
        if not enqueue(job_id):
            report.undeliverable += 1
            break  # the broker is down: the next sweep tries again
        free[account_id] -= 1
        report.enqueued += 1
    return report
