"""``manage.py sync_sweep``: one sweep now (Celery beat runs it every SYNC_SWEEP_INTERVAL s)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from portal.sync.sweeper import sweep


class Command(BaseCommand):
    help = (
        "Hand the sync jobs that no message carries to the workers: jobs of dead workers, jobs "
        "committed while the broker was down, waits kept in the table that are now due."
    )

    def handle(self, *args, **options):
        report = sweep()
        self.stdout.write(
            f"Swept: {report.recovered} recovered from dead workers, {report.enqueued} sent to workers, "
            f"{report.waiting} left to their busy carrier accounts."
        )
        if report.undeliverable:
            self.stdout.write(
                self.style.WARNING("Could not reach the broker: the jobs stay queued for the next sweep.")
            )
