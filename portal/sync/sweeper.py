"""The sweeper: nothing is lost if the broker, a worker or the web process dies.

Run every few seconds by Celery beat (and by ``manage.py sync_sweep``): running jobs
whose worker is gone go back to the queue, and queued jobs that are due but were never
delivered (broker down at commit, a message lost with a killed worker, a long wait kept
in the table) are handed to Celery again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from .engine import requeue_orphans
from .models import JobState, SyncJob
from .outbox import enqueue


@dataclass
class SweepReport:
    recovered: int = 0
    enqueued: int = 0
    undeliverable: int = 0


def sweep(batch: int = 1000) -> SweepReport:
    report = SweepReport()
    report.recovered = requeue_orphans(SyncJob.objects.filter(state=JobState.RUNNING))
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SYNC_REDELIVER_AFTER)
    due = (
        SyncJob.objects.filter(state=JobState.QUEUED, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    for job_id in list(due):
        if enqueue(job_id):
            report.enqueued += 1
        else:
            report.undeliverable += 1
            break  # the broker is down: the next sweep tries again
    return report
