from __future__ import annotations

from celery import shared_task

from . import engine, sweeper
from .outbox import enqueue


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_sync_job(job_id: int) -> None:
    """Carry job ``job_id`` to its carrier. Safe to receive twice: the claim decides."""
    result = engine.run_job(job_id)
    if result is not None and result.retry_in is not None:
        enqueue(job_id, countdown=result.retry_in)


@shared_task(ignore_result=True)
def sweep() -> dict:
    return vars(sweeper.sweep())
