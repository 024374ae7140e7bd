"""``manage.py sync_status [--account ACCOUNT] [--reseller RESELLER]``: how the sync queue stands."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.timesince import timesince

from portal.carriers.models import CarrierAccount
from portal.sync.models import JobState
from portal.sync.operations import NoSuchAccount, find_account, queue_status

COLUMNS = (JobState.QUEUED, JobState.RUNNING, JobState.FAILED, JobState.DONE, JobState.SUPERSEDED)


class Command(BaseCommand):
    help = "Sync jobs per state and carrier account, the oldest queued job's age, and the failed jobs with their errors."

    def add_arguments(self, parser):
        parser.add_argument("--account", help="only this carrier account (id or name)")
        parser.add_argument("--reseller", help="only this reseller's carrier accounts (id or slug)")
        parser.add_argument("--failed", type=int, default=20, metavar="N", help="list at most N failed jobs (20)")

    def handle(self, *args, account: str | None, reseller: str | None, failed: int, **options):
        accounts = CarrierAccount.objects.all()
        if account:
            try:
                accounts = accounts.filter(pk=find_account(account).pk)
            except NoSuchAccount as exc:
                raise CommandError(str(exc)) from None
        if reseller:
            accounts = accounts.filter(**{"reseller_id" if reseller.isdigit() else "reseller__slug": reseller})
            if not accounts.exists():
                raise CommandError(f"no carrier accounts for reseller {reseller!r}")
        status = queue_status(accounts, failed_limit=failed)
        self._table(status)
        self._oldest(status)
        self._failed(status)

    def _table(self, status) -> None:
        rows = [
            (f"{row.account.name} ({row.account.get_kind_display()}, {row.account.reseller})", row.counts)
            for row in status.accounts
        ]
        rows.append(("All accounts", status.totals))
        width = max(len(label) for label, _ in rows)
        self.stdout.write(f"{'Carrier account'.ljust(width)}  " + "  ".join(f"{s:>10}" for s in COLUMNS))
        for label, counts in rows:
            self.stdout.write(f"{label.ljust(width)}  " + "  ".join(f"{counts[s]:>10}" for s in COLUMNS))

    def _oldest(self, status) -> None:
        job = status.oldest_queued
        if job is None:
            self.stdout.write("\nNo job is queued.")
            return
        waiting = f"{job.last_error}" if job.last_error else "not tried yet"
        self.stdout.write(
            f"\nOldest queued job: {timesince(job.created_at, status.now)} old — job {job.pk}, "
            f"{job.get_operation_display().lower()} {job.object_repr} on {job.carrier_account.name} ({waiting})."
        )

    def _failed(self, status) -> None:
        if not status.failed_total:
            self.stdout.write("No job has failed.")
            return
        shown = len(status.failed)
        more = f", the {shown} latest shown" if shown < status.failed_total else ""
        self.stdout.write(self.style.WARNING(f"\n{status.failed_total} failed job{'s' if status.failed_total != 1 else ''}{more}:"))
        for job in status.failed:
            when = job.finished_at.strftime("%Y-%m-%d %H:%M") if job.finished_at else "—"
            self.stdout.write(
                f"  job {job.pk}  {when}  {job.carrier_account.name}  "
                f"{job.get_operation_display().lower()} {job.object_repr}: {job.last_error}"
            )
        self.stdout.write("Send them again with: manage.py sync_retry JOB … | --account ACCOUNT | --all")
