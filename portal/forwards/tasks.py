"""Call forwards' periodic work (Celery beat)."""

from __future__ import annotations

from celery import shared_task


@shared_task
def end_past_windows() -> int:
    """Clear dated (holiday) windows that are over; see ``services.end_past_windows``."""
    from .services import end_past_windows as end

    return end()
