from __future__ import annotations

from celery import shared_task

from .idempotency import purge_expired


@shared_task(name="portal.api.tasks.purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    """Hourly (beat): the stored answers of expired Idempotency-Keys go."""
    return purge_expired()
