"""``manage.py sync_retry [JOB ...] [--account ACCOUNT] [--all]``: send failed sync jobs again."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.sync.models import JobState, SyncJob
from portal.sync.operations import NoSuchAccount, find_account, retry_failed, retry_job


class Command(BaseCommand):
    help = "Send failed sync jobs to their carrier again: the ones named, every failed one of an account, or all."

    def add_arguments(self, parser):
        parser.add_argument("jobs", nargs="*", type=int, metavar="JOB", help="ids of failed jobs")
        parser.add_argument("--account", help="every failed job of this carrier account (id or name)")
        parser.add_argument("--all", action="store_true", help="every failed job")

    def handle(self, *args, jobs: list[int], account: str | None, all: bool, **options):
        if bool(jobs) + bool(account) + all != 1:
            raise CommandError("Name the jobs to retry: job ids, --account ACCOUNT, or --all.")
        if jobs:
            self._retry_each(jobs)
            return
        failed = SyncJob.objects.filter(state=JobState.FAILED)
        if account:
            try:
                failed = failed.filter(carrier_account=find_account(account))
            except NoSuchAccount as exc:
                raise CommandError(str(exc)) from None
        retried = retry_failed(failed)
        self.stdout.write(f"Queued {retried} failed job{'s' if retried != 1 else ''} again.")

    def _retry_each(self, job_ids: list[int]) -> None:
        found = SyncJob.objects.in_bulk(job_ids)
        refused = []
        for job_id in job_ids:
            job = found.get(job_id)
            if job is None:
                refused.append(f"job {job_id}: there is no such job")
                continue
            try:
                retry_job(job)
            except ValidationError as exc:
                refused.append(f"job {job_id}: {' '.join(exc.messages)}")
            else:
                self.stdout.write(f"Queued job {job_id} ({job.object_repr}) again.")
        if refused:
            raise CommandError("Not retried: " + "; ".join(refused))
