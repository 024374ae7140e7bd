"""``manage.py reconcile ACCOUNT [--adopt|--push] [--dry-run]``: compare a carrier account with the portal.

Without options it records the account's drift (replacing its open drift). ``--adopt``
then takes the carrier's side of every open item (on a new account: the import);
``--push`` queues the portal's side (``--delete-unknown`` also deletes at the carrier
what the portal does not know). ``--dry-run`` prints the drift and changes nothing.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.carriers.models import CarrierAccount
from portal.sync.models import RunState
from portal.sync import reconcile as reconciliation
from portal.sync.reconcile import ADOPT, PUSH, Finding, ReconcileBusy, resolve_open


class Command(BaseCommand):
    help = "Compare a carrier account's real state with the portal; record, show or resolve the drift."

    def add_arguments(self, parser):
        parser.add_argument("account", help="carrier account id or name")
        how = parser.add_mutually_exclusive_group()
        how.add_argument("--adopt", action="store_true", help="take the carrier's side of all open drift (import)")
        how.add_argument("--push", action="store_true", help="queue the portal's side of all open drift")
        parser.add_argument(
            "--delete-unknown",
            action="store_true",
            help="with --push: delete at the carrier what the portal does not know",
        )
        parser.add_argument("--dry-run", action="store_true", help="print the drift; record and resolve nothing")
        parser.add_argument("--as", dest="actor", metavar="EMAIL", help="the user the audit log names")

    def handle(self, *args, account, adopt, push, delete_unknown, dry_run: bool, actor, **options):
        carrier_account = find_account(account)
        user = find_user(actor)
        if delete_unknown and not push:
            raise CommandError("--delete-unknown goes with --push")
        if dry_run:
            counts = reconciliation.dry_run(carrier_account, self.print_finding)
            self.stdout.write(f"dry run: {summary(counts)}; nothing was recorded or resolved")
            return
        try:
            run = reconciliation.reconcile(carrier_account, actor=user)
        except ReconcileBusy as exc:
            raise CommandError(str(exc)) from None
        if run.state != RunState.DONE:
            raise CommandError(f"reconciliation of {carrier_account} failed: {run.error}")
        self.stdout.write(f"{carrier_account}: {run.remote_objects} carrier objects read; {summary(run.drift_found)}")
        if not (adopt or push):
            return
        report = resolve_open(carrier_account, ADOPT if adopt else PUSH, actor=user, delete_unknown=delete_unknown)
        line = f"{'adopted' if adopt else 'pushed'}: {report.resolved}, failed: {report.failed}"
        if report.skipped:
            line += f", left open (unknown to the portal; --delete-unknown to delete them): {report.skipped}"
        self.stdout.write(line)
        for error in report.errors:
            self.stderr.write(f"  {error}")
        if report.failed:
            raise CommandError(f"{report.failed} drift item(s) could not be resolved; they stay open with the reason")

    def print_finding(self, finding: Finding) -> None:
        detail = f" {json.dumps(finding.diff, default=str)}" if finding.diff else ""
        remote = f" [{finding.remote_id}]" if finding.remote_id else ""
        self.stdout.write(f"{finding.kind:15} {finding.object_kind:20} {finding.label}{remote}{detail}")


def summary(counts: dict) -> str:
    if not counts:
        return "no drift"
    return ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(counts.items()))


def find_account(given: str) -> CarrierAccount:
    accounts = CarrierAccount.objects.filter(pk=int(given)) if given.isdigit() else CarrierAccount.objects.none()
    if not accounts:
        accounts = CarrierAccount.objects.filter(name=given)
    if len(accounts) != 1:
        problem = "no carrier account" if not accounts else "several carrier accounts"
        raise CommandError(f"{problem} with id or name {given!r}")
    return accounts[0]


def find_user(email: str | None):
    if not email:
        return None
    user = get_user_model().objects.filter(email__iexact=email).first()
    if user is None:
        raise CommandError(f"no user with email {email!r}")
    return user
