"""Long operations a person starts and watches: a CSV import (checked, then applied),
resolving many drift items, importing what a carrier account holds.

Each is an :class:`Operation` row, handed to a worker when the transaction commits
(``tasks.run_operation``); the worker writes its progress outside its own transactions,
so the page that polls it sees each step. The writes themselves go through the domain
services (CSV rows) or ``portal.sync.reconcile`` (drift), never around them.
"""

from __future__ import annotations

import logging
from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal.sync.models import Drift, DriftKind
from portal.sync.reconcile import ADOPT, resolve_open

from . import csvio
from .models import Operation, OperationKind, OperationState

log = logging.getLogger(__name__)

CHUNK = 500  # CSV rows per transaction: the progress a page sees, and what one rollback costs
REPORT_KEPT = 100_000


def _start(operation: Operation) -> Operation:
    from .tasks import run_operation

    operation.save()
    transaction.on_commit(lambda: _send(run_operation, operation.pk))
    return operation


def _send(task, operation_id: int) -> None:
    try:
        task.delay(operation_id)
    except Exception as exc:  # the broker is down: say so on the page rather than wait for ever
        log.warning("operation %s could not be handed to a worker: %s", operation_id, exc)
        Operation.objects.filter(pk=operation_id).update(
            state=OperationState.FAILED, message="No worker could be reached (the task queue is down). Try again.")


# ------------------------------------------------------------------------------ CSV
def check_csv(*, reseller, actor, object_type: str, name: str, data: bytes) -> Operation:
    """Read an uploaded CSV and queue its dry run. BadFile (nothing stored) when the file is unusable."""
    if object_type not in csvio.RESOURCES:
        raise ValidationError({"object_type": "Choose customers, SIP accounts or numbers."})
    dataset = csvio.read_upload(data, object_type)
    operation = Operation(
        reseller=reseller, kind=OperationKind.CSV_IMPORT, state=OperationState.QUEUED, object_type=object_type,
        title=f"{csvio.TYPE_LABELS[object_type]} from {name}"[:200], source_name=name[:200],
        source=data.decode("utf-8-sig"), total=len(dataset), started_by=actor if getattr(actor, "pk", None) else None,
        options={"phase": "check"},
    )
    with transaction.atomic():
        return _start(operation)


def apply_csv(operation: Operation, actor) -> Operation:
    """Apply a checked CSV import: its rows without errors, each through the services."""
    if operation.kind != OperationKind.CSV_IMPORT or operation.state != OperationState.CHECKED:
        raise ValidationError("Only a checked import can be applied, once.")
    with transaction.atomic():
        updated = Operation.objects.filter(pk=operation.pk, state=OperationState.CHECKED).update(
            state=OperationState.QUEUED, options={**operation.options, "phase": "apply"}, processed=0,
            started_by=actor if getattr(actor, "pk", None) else operation.started_by,
        )
        if not updated:
            raise ValidationError("This import is already being applied.")
        operation.refresh_from_db()
        from .tasks import run_operation

        transaction.on_commit(lambda: _send(run_operation, operation.pk))
    return operation


def _run_csv(operation: Operation) -> None:
    from portal.tenancy.scoping import access_for

    dry_run = operation.options.get("phase") != "apply"
    dataset = csvio.read_upload(operation.source.encode(), operation.object_type)
    actor = operation.started_by
    access = access_for(actor) if actor else None
    counts: Counter[str] = Counter()
    report: list[list] = []
    processed = 0
    for first_line, part in csvio.chunks(dataset, CHUNK):
        for row in csvio.import_rows(part, operation.object_type, reseller=operation.reseller, actor=actor,
                                     access=access, dry_run=dry_run, first_line=first_line):
            counts[row.outcome] += 1
            if len(report) < REPORT_KEPT:
                report.append(row.as_list())
        processed += len(part)
        Operation.objects.filter(pk=operation.pk).update(processed=processed, summary=dict(counts))
    final = OperationState.CHECKED if dry_run else OperationState.DONE
    Operation.objects.filter(pk=operation.pk).update(
        state=final, processed=processed, summary=dict(counts), report=report, finished_at=timezone.now())


# ---------------------------------------------------------------------------- drift
IMPORTED = (DriftKind.UNKNOWN_LOCAL, DriftKind.DIFFERS)


def resolve_all(account, how: str, actor, *, delete_unknown: bool = False) -> Operation:
    """Resolve every open drift item of ``account`` one way, in the background."""
    kinds = None if delete_unknown or how == ADOPT else (DriftKind.DIFFERS, DriftKind.MISSING_REMOTE)
    items = Drift.objects.open().filter(carrier_account=account)
    if kinds:
        items = items.filter(kind__in=kinds)
    word = {"push": "Push ours", "adopt": "Adopt theirs"}[how]
    operation = Operation(
        reseller_id=account.reseller_id, carrier_account=account, kind=OperationKind.DRIFT_RESOLUTION,
        title=f"{word}: every open item of {account.name}", total=items.count(),
        started_by=actor if getattr(actor, "pk", None) else None,
        options={"how": how, "only": list(kinds) if kinds else None, "delete_unknown": delete_unknown},
    )
    with transaction.atomic():
        return _start(operation)


def import_carrier_account(account, actor, *, customers: dict[int, int], orphans_to: int | None) -> Operation:
    """Import what a carrier account holds that the portal does not know (its latest run's
    "unknown" and "differs" items), adopting it through the services.

    ``customers``: carrier customer drift item → an existing portal customer to link it to
    (instead of a new one). ``orphans_to``: the portal customer that takes what the carrier
    files under no customer (instead of "Imported from ACCOUNT"; numbers then are assigned
    to it rather than kept in stock).
    """
    from portal.customers.models import Customer

    open_items = Drift.objects.open().filter(carrier_account=account)
    eligible = Customer.objects.filter(reseller_id=account.reseller_id, carrier_account=account, remote_id="")
    with transaction.atomic():
        taken: set[int] = set()
        for drift_id, customer_id in customers.items():
            if customer_id in taken:
                raise ValidationError(f"One portal customer can take only one of the carrier's customers (id {customer_id}).")
            if not eligible.filter(pk=customer_id).exists():
                raise ValidationError(f"Customer {customer_id} cannot take a carrier customer: it is not yours, on "
                                      "another carrier account, or linked already.")
            taken.add(customer_id)
            open_items.filter(pk=drift_id, object_kind="customer", kind=DriftKind.UNKNOWN_LOCAL).update(
                object_id=customer_id)
        if orphans_to is not None:
            target = Customer.objects.filter(reseller_id=account.reseller_id, pk=orphans_to).first()
            if target is None:
                raise ValidationError("That customer is not yours.")
            for drift in open_items.filter(kind=DriftKind.UNKNOWN_LOCAL, object_kind__in=("subscriber", "number", "trunk")):
                if not drift.theirs.get("customer_remote_id") and not drift.theirs.get("customer_ref"):
                    Drift.objects.filter(pk=drift.pk).update(theirs={**drift.theirs, "customer_ref": str(target.pk)})
        operation = Operation(
            reseller_id=account.reseller_id, carrier_account=account, kind=OperationKind.CARRIER_IMPORT,
            title=f"Import of what {account.name} holds", total=open_items.filter(kind__in=IMPORTED).count(),
            started_by=actor if getattr(actor, "pk", None) else None,
            options={"how": ADOPT, "only": list(IMPORTED), "delete_unknown": False},
        )
        return _start(operation)


def drift_left(operation: Operation) -> int:
    """How many of the items an operation resolves are still open (its progress)."""
    items = Drift.objects.open().filter(carrier_account_id=operation.carrier_account_id)
    if operation.options.get("only"):
        items = items.filter(kind__in=operation.options["only"])
    return items.filter(resolution_error="").count()


def _run_drift(operation: Operation) -> None:
    options = operation.options
    report = resolve_open(
        operation.carrier_account, options["how"], actor=operation.started_by,
        delete_unknown=options.get("delete_unknown", False), only=tuple(options["only"]) if options.get("only") else None,
    )
    Operation.objects.filter(pk=operation.pk).update(
        state=OperationState.DONE, processed=operation.total, finished_at=timezone.now(),
        summary={"resolved": report.resolved, "failed": report.failed, "skipped": report.skipped},
        report=[[0, "error", "", error] for error in report.errors],
    )


# ---------------------------------------------------------------------------- the worker
def run(operation_id: int) -> None:
    claimed = Operation.objects.filter(pk=operation_id, state=OperationState.QUEUED).update(
        state=OperationState.RUNNING, started_at=timezone.now())
    if not claimed:
        return  # taken by another worker, or no longer wanted
    operation = Operation.objects.select_related("reseller", "carrier_account", "started_by").get(pk=operation_id)
    try:
        if operation.kind == OperationKind.CSV_IMPORT:
            _run_csv(operation)
        else:
            _run_drift(operation)
    except Exception as exc:
        log.exception("operation %s failed", operation_id)
        Operation.objects.filter(pk=operation_id).update(
            state=OperationState.FAILED, finished_at=timezone.now(), message=f"{type(exc).__name__}: {exc}"[:1000])


def progress_of(operation: Operation) -> tuple[int, int]:
    """(done, total) of an operation, as far as a page can tell now."""
    if operation.kind == OperationKind.CSV_IMPORT:
        return operation.processed, operation.total
    if operation.state == OperationState.RUNNING:
        return max(operation.total - drift_left(operation), 0), operation.total
    return (operation.total, operation.total) if operation.state == OperationState.DONE else (0, operation.total)
