from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(ignore_result=True)
def send_alert_digests() -> dict:
    """The periodic alert run: find what managers should know, then one digest per reseller."""
    from . import alerts

    found = alerts.detect()
    return {"found": found, "digests": alerts.send_digests(settings.PORTAL_URL)}


@shared_task(ignore_result=True, acks_late=False, time_limit=settings.OPERATION_TIME_LIMIT + 60,
             soft_time_limit=settings.OPERATION_TIME_LIMIT)
def run_operation(operation_id: int) -> None:
    """Carry out a long operation a person started (a CSV import, drift resolution, a carrier import)."""
    from .services import run

    run(operation_id)
