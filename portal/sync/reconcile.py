"""Reconciliation: a carrier account's real state against the portal's, and its drift.

A run streams every kind the account's carrier holds (or can list, for an import)
through the adapter, page by page, and matches each carrier object to the portal's:
by remote id, else by natural key among the portal objects not linked yet. Carrier
objects are taken ``SYNC_RECONCILE_CHUNK`` at a time and looked up with one query per
chunk; what was matched is remembered as a set of portal pks (ints, never objects),
so memory stays flat however many objects the carrier holds. The findings become
:class:`~portal.sync.models.Drift` rows, written a chunk at a time:

* ``differs``: both have it, and fields the carrier holds differ (``diff``: field →
  ``[ours, theirs]``);
* ``unknown_local``: the carrier has it, the portal does not;
* ``missing_remote``: the portal has it linked or synced, the carrier no longer has it.

Objects with a change on its way (pending, syncing) are left alone. A run replaces the
account's open drift when it finishes; a failed run leaves the previous drift as it was.

Each drift item is resolved either way (:func:`resolve`): *push ours* queues a sync job
(for ``unknown_local`` that is a delete at the carrier, only when asked for explicitly);
*adopt theirs* writes the carrier's values through the domain services, audited with
the actor and without queueing anything. Onboarding an existing carrier account is a
run followed by adopting everything (:func:`resolve_open`), customers first.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from portal.carriers import adapter_class
from portal.carriers.base import CarrierAdapter, CarrierError, UnsupportedError
from portal.carriers.models import CarrierAccount

from .engine import build_adapter, orphaned, worker_id
from .models import Drift, DriftKind, ReconcileRun, Resolution, RunState, SyncJob, SyncState
from .outbox import record_remote_delete
from .provisioning import push_again
from .reconcilers import FORWARD_RECONCILERS, IN_FLIGHT, OBJECT_RECONCILERS, RECONCILERS, ObjectReconciler, describe, parents_for

log = logging.getLogger(__name__)

PUSH = "push"
ADOPT = "adopt"


class ReconcileBusy(Exception):
    """Another reconciliation of the same carrier account is running."""


@dataclass
class Finding:
    kind: str
    object_kind: str
    object_id: int | None
    remote_id: str
    label: str
    diff: dict = field(default_factory=dict)
    theirs: dict = field(default_factory=dict)


def chunked(iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def listed(open_stream: Callable[[], Iterator]) -> Iterator | None:
    """The adapter's stream, or None when the carrier cannot list this kind at all."""
    try:
        stream = iter(open_stream())
        first = next(stream)
    except UnsupportedError:
        return None
    except StopIteration:
        return iter(())
    return itertools.chain([first], stream)


def reading_adapter(account: CarrierAccount) -> CarrierAdapter:
    """An adapter that paces itself to the account's budget: a paged read cannot resume."""
    return build_adapter(account, max_wait=settings.SYNC_RECONCILE_MAX_WAIT)


# ------------------------------------------------------------------ detection
class Sink:
    """Where findings go: a run's drift table, or (dry run) a list or a printer."""

    def __init__(self, emit: Callable[[Finding], None] | None = None) -> None:
        self.emit = emit
        self.counts: Counter[str] = Counter()
        self.run: ReconcileRun | None = None

    def add(self, finding: Finding) -> None:
        self.counts[finding.kind] += 1
        if self.emit is not None:
            self.emit(finding)

    def flush(self) -> None:
        pass


class DriftRecorder(Sink):
    """Writes a run's findings as Drift rows, a chunk per statement."""

    def __init__(self, run: ReconcileRun) -> None:
        super().__init__()
        self.run = run
        self.pending: list[Drift] = []

    def add(self, finding: Finding) -> None:
        super().add(finding)
        self.pending.append(
            Drift(
                reseller_id=self.run.reseller_id,
                carrier_account_id=self.run.carrier_account_id,
                run=self.run,
                detected_at=self.run.started_at,
                kind=finding.kind,
                object_kind=finding.object_kind,
                object_id=finding.object_id,
                remote_id=finding.remote_id[:64],
                label=finding.label[:200],
                diff=finding.diff,
                theirs=finding.theirs,
            )
        )
        if len(self.pending) >= settings.SYNC_RECONCILE_CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            Drift.objects.bulk_create(self.pending)
            self.pending = []


def detect(account: CarrierAccount, adapter: CarrierAdapter, sink: Sink) -> int:
    """Compare everything; findings go to ``sink``. Returns how many carrier objects were read."""
    read = 0
    for reconciler in OBJECT_RECONCILERS:
        read += _detect_objects(reconciler, account, adapter, sink)
        sink.flush()
    for reconciler in FORWARD_RECONCILERS:
        if reconciler.held(adapter):
            _detect_forwards(reconciler, account, adapter, sink)
            sink.flush()
    return read


def _detect_objects(rec: ObjectReconciler, account, adapter: CarrierAdapter, sink: Sink) -> int:
    held = rec.held(adapter)
    # A kind the carrier can list but does not hold (SureVoIP's SIP accounts) is read for import only.
    stream = listed(lambda: rec.stream(adapter))
    if stream is None:
        return 0
    compared = rec.compared(adapter)
    portal = rec.portal(account)
    unlinked = portal.filter(remote_id="")
    seen: set[int] = set()
    read = 0
    for chunk in chunked(stream, settings.SYNC_RECONCILE_CHUNK):
        read += len(chunk)
        items = [(remote_id, rec.facts(spec)) for remote_id, spec in chunk]
        by_remote_id = {obj.remote_id: obj for obj in portal.filter(remote_id__in=[r for r, _ in items])}
        unmatched = [facts for remote_id, facts in items if remote_id not in by_remote_id]
        by_key = iter(rec.match_by_key(unlinked, unmatched) if unmatched else [])
        for remote_id, theirs in items:
            obj = by_remote_id[remote_id] if remote_id in by_remote_id else next(by_key)
            if obj is not None and obj.pk in seen:
                obj = None  # a second carrier object with the same natural key: the first one took it
            if obj is None or rec.gone(obj):
                object_id = obj.pk if obj else None  # a released number comes back to its own row
                label = rec.label(theirs)
                sink.add(Finding(DriftKind.UNKNOWN_LOCAL, rec.name, object_id, remote_id, label, theirs=theirs))
                continue
            seen.add(obj.pk)
            if not held or obj.sync_state in IN_FLIGHT:
                continue
            diff = rec.diff(rec.ours(obj, adapter.capabilities), theirs, compared)
            if obj.remote_id != remote_id:
                diff["remote_id"] = [obj.remote_id, remote_id]  # the same object, not linked yet
            if diff:
                sink.add(Finding(DriftKind.DIFFERS, rec.name, obj.pk, remote_id, rec.label_of(obj), diff, theirs))
    if held:
        _detect_missing(rec, portal, seen, sink)
    return read


def _detect_missing(rec: ObjectReconciler, portal, seen: set[int], sink: Sink) -> None:
    """Portal objects the carrier had (linked or synced) that the stream did not bring."""
    had = portal.exclude(sync_state__in=IN_FLIGHT).filter(~Q(remote_id="") | Q(sync_state=SyncState.SYNCED))
    for obj in keyset(had):
        if obj.pk not in seen and not rec.gone(obj):
            sink.add(Finding(DriftKind.MISSING_REMOTE, rec.name, obj.pk, obj.remote_id, rec.label_of(obj)))


def keyset(queryset, size: int | None = None) -> Iterator:
    """Every row of ``queryset`` in pk order, a chunk per query: safe to write while reading."""
    size = size or settings.SYNC_RECONCILE_CHUNK
    last = 0
    while rows := list(queryset.filter(pk__gt=last).order_by("pk")[:size]):
        yield from rows
        last = rows[-1].pk


def _detect_forwards(rec, account, adapter: CarrierAdapter, sink: Sink) -> None:
    chunk_size = settings.SYNC_RECONCILE_CHUNK
    stream = listed(lambda: rec.stream(adapter))
    if stream is not None:
        for chunk in chunked(stream, chunk_size):
            owners = {o.remote_id: o for o in rec.owners(account).filter(remote_id__in=[r for r, _ in chunk])}
            _compare_forwards(rec, adapter, sink, [(remote_id, owners.get(remote_id), fwd) for remote_id, fwd in chunk])
        return
    # Read owner by owner: the owners the portal has, then those only the carrier has (found by this run).
    linked = rec.owners(account).exclude(remote_id="").exclude(sync_state__in=IN_FLIGHT)
    for owners in chunked(keyset(linked), chunk_size):
        present = [o for o in owners if not rec.owner.gone(o)]
        _compare_forwards(rec, adapter, sink, [(o.remote_id, o, rec.fetch(adapter, o.remote_id)) for o in present])
    if sink.run is not None:
        unknown = Drift.objects.filter(run=sink.run, object_kind=rec.owner_kind, kind=DriftKind.UNKNOWN_LOCAL)
        for drifts in chunked(keyset(unknown), chunk_size):
            items = [(d.remote_id, None, rec.fetch(adapter, d.remote_id)) for d in drifts]
            _compare_forwards(rec, adapter, sink, items)


def _compare_forwards(rec, adapter, sink: Sink, items: list[tuple]) -> None:
    """``items``: (owner's remote id, portal owner or None, the carrier's forwards or None)."""
    known = [owner for _, owner, _ in items if owner is not None]
    ours_by_owner = rec.portal_forwards(known)
    open_jobs = SyncJob.objects.open().filter(object_kind=rec.name, object_id__in=[o.pk for o in known])
    changing = set(open_jobs.values_list("object_id", flat=True))
    for remote_id, owner, forwards in items:
        if forwards is None:
            continue  # the owner is gone at the carrier: that is the owner's drift
        theirs = rec.facts(forwards, adapter)
        if owner is None:
            if theirs["forwards"]:
                label = f"forwards of {remote_id} (not in the portal yet)"
                sink.add(Finding(DriftKind.UNKNOWN_LOCAL, rec.name, None, remote_id, label, theirs=theirs))
            continue
        if owner.pk in changing or owner.sync_state in IN_FLIGHT or rec.owner.gone(owner):
            continue
        diff = rec.diff(rec.ours(ours_by_owner[owner.pk], adapter), theirs)
        if diff:
            sink.add(Finding(DriftKind.DIFFERS, rec.name, owner.pk, remote_id, rec.label_of(owner), diff, theirs))


# ------------------------------------------------------------------- runs
def _start_run(account: CarrierAccount, actor=None) -> ReconcileRun:
    stale_before = timezone.now() - timedelta(seconds=settings.SYNC_RECONCILE_TIME_LIMIT)
    for run in ReconcileRun.objects.filter(carrier_account=account, state=RunState.RUNNING):
        if run.started_at < stale_before or orphaned(run.claimed_by):
            _finish_run(run, RunState.FAILED, "interrupted: the process running it stopped")
    try:
        with transaction.atomic():
            return ReconcileRun.objects.create(
                reseller_id=account.reseller_id,
                carrier_account=account,
                started_by=actor if getattr(actor, "pk", None) else None,
                claimed_by=worker_id(),  # so that a run whose process died can be told apart
            )
    except IntegrityError:
        raise ReconcileBusy(f"a reconciliation of {account} is already running") from None


def _finish_run(run: ReconcileRun, state: str, error: str = "", **fields) -> None:
    ReconcileRun.objects.filter(pk=run.pk).update(state=state, finished_at=timezone.now(), error=error, **fields)
    run.refresh_from_db()


def reconcile(account: CarrierAccount, *, actor=None, adapter: CarrierAdapter | None = None) -> ReconcileRun:
    """One run for ``account``: record its drift, replacing the open drift of earlier runs.

    Returns the run (state ``done`` or ``failed`` with the reason). Raises ReconcileBusy
    when another run of the account is under way.
    """
    run = _start_run(account, actor)
    recorder = DriftRecorder(run)
    own_adapter = adapter is None
    adapter = adapter or reading_adapter(account)
    try:
        read = detect(account, adapter, recorder)
    except CarrierError as exc:
        return _fail_run(run, str(exc))
    except Exception as exc:
        log.exception("reconciliation of %s crashed", account)
        _fail_run(run, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if own_adapter:
            adapter.close()
    with transaction.atomic():
        Drift.objects.open().filter(carrier_account=account).exclude(run=run).delete()
        _finish_run(run, RunState.DONE, remote_objects=read, drift_found=dict(recorder.counts))
    return run


def _fail_run(run: ReconcileRun, error: str) -> ReconcileRun:
    Drift.objects.filter(run=run).delete()  # half a picture is worse than the last whole one
    _finish_run(run, RunState.FAILED, error)
    log.warning("reconciliation of account %s failed: %s", run.carrier_account_id, error)
    return run


def dry_run(account: CarrierAccount, emit: Callable[[Finding], None], *, adapter=None) -> Counter[str]:
    """Detect drift and hand each finding to ``emit``; nothing is recorded or resolved."""
    own_adapter = adapter is None
    adapter = adapter or reading_adapter(account)
    sink = Sink(emit)
    try:
        detect(account, adapter, sink)
    finally:
        if own_adapter:
            adapter.close()
    return sink.counts


# -------------------------------------------------------------- resolution
class DriftResolutionError(Exception):
    """A drift item cannot be resolved that way; nothing was changed."""


def resolve(
    drift: Drift, how: str, *, actor=None, delete_unknown: bool = False, parents=None
) -> Drift:
    """Resolve one open drift item: ``push`` ours or ``adopt`` theirs.

    Pushing an object only the carrier has deletes it there, so it needs
    ``delete_unknown=True``. Raises DriftResolutionError (and changes nothing) when the
    item cannot be resolved that way; the reason is also kept on the item.
    """
    if not drift.is_open:
        raise DriftResolutionError("this drift is already resolved")
    parents = parents or parents_for(drift.carrier_account, actor)
    closed = {
        "resolved_at": timezone.now(),
        "resolved_by": actor if getattr(actor, "pk", None) else None,
        "resolution_error": "",
    }
    try:
        with transaction.atomic():
            closed["resolution"], closed["sync_job"] = _apply(
                drift, how, actor=actor, delete_unknown=delete_unknown, parents=parents
            )
            # Closing only an open row makes a second, concurrent resolution roll back.
            if not Drift.objects.filter(pk=drift.pk, resolved_at__isnull=True).update(**closed):
                raise DriftResolutionError("this drift was resolved by someone else meanwhile")
    except (DriftResolutionError, ValidationError, CarrierError, IntegrityError) as exc:
        # IntegrityError: a rule the database checks that validation could not (a concurrent write).
        parents.forget()
        message = describe(exc) if isinstance(exc, ValidationError) else str(exc)
        Drift.objects.filter(pk=drift.pk, resolved_at__isnull=True).update(resolution_error=message)
        drift.resolution_error = message
        raise DriftResolutionError(message) from exc
    for name, value in closed.items():
        setattr(drift, name, value)
    return drift


def _apply(drift: Drift, how: str, *, actor, delete_unknown: bool, parents):
    rec = RECONCILERS[drift.object_kind]
    account = drift.carrier_account
    obj = _portal_object(rec, drift)
    if how == ADOPT:
        if rec.forwards:
            if obj is None:
                owner = f"{rec.owner_kind} {drift.remote_id}"
                raise DriftResolutionError(f"adopt the {owner} first: its forwards follow it")
            rec.adopt(obj, drift.theirs, actor)
        elif drift.kind == DriftKind.MISSING_REMOTE:
            rec.forget(obj, actor)
        else:
            fields = rec.compared(adapter_class(account.kind))
            if drift.kind == DriftKind.DIFFERS:
                fields = [f for f in fields if f in drift.diff]
            rec.adopt(obj, remote_id=drift.remote_id, theirs=drift.theirs, fields=fields, parents=parents, actor=actor)
        return Resolution.ADOPTED, None
    if how != PUSH:
        raise ValueError(f"resolve how={how!r}: use {PUSH!r} or {ADOPT!r}")
    if drift.kind != DriftKind.UNKNOWN_LOCAL:
        return Resolution.PUSHED, push_again(obj, actor=actor, kind=rec.name)
    # Only the carrier has it: the portal's side is "not there", so pushing it deletes.
    if rec.forwards and obj is None:
        owner = rec.owner_kind
        raise DriftResolutionError(f"the portal does not know this {owner}: resolve the {owner} first")
    if not delete_unknown:
        raise DriftResolutionError("pushing the portal's side would delete it at the carrier: confirm that explicitly")
    if rec.forwards:
        return Resolution.DELETED_REMOTE, push_again(obj, actor=actor, kind=rec.name)
    payload = rec.delete_payload(drift.remote_id, drift.theirs)
    job = record_remote_delete(account, kind=rec.name, payload=payload, label=drift.label, actor=actor)
    return Resolution.DELETED_REMOTE, job


def _portal_object(rec, drift: Drift):
    if rec.forwards:
        owners = rec.owner.portal(drift.carrier_account)
        if drift.object_id is not None:
            return owners.filter(pk=drift.object_id).first()
        return owners.filter(remote_id=drift.remote_id).first() if drift.remote_id else None
    if drift.object_id is None:
        return None
    obj = rec.model.objects.select_related(*rec.select_related).filter(pk=drift.object_id).first()
    if obj is None and drift.kind != DriftKind.UNKNOWN_LOCAL:
        raise DriftResolutionError("the portal object is gone since this drift was found")
    return obj


@dataclass
class ResolveReport:
    resolved: int = 0
    failed: int = 0
    skipped: int = 0  # unknown to the portal, and deleting at the carrier was not asked for
    errors: list[str] = field(default_factory=list)  # the first few, for the person who asked


def resolve_open(
    account: CarrierAccount, how: str, *, actor=None, delete_unknown: bool = False, batch: int = 200
) -> ResolveReport:
    """Resolve every open drift item of ``account`` one way, customers first.

    Items are committed ``batch`` at a time (each in its own savepoint), so one that
    cannot be resolved keeps its reason and stays open while the rest go on.
    """
    report = ResolveReport()
    parents = parents_for(account, actor)
    for object_kind in RECONCILERS:  # in their order: each object's customer and owner first
        open_items = Drift.objects.open().filter(carrier_account=account, object_kind=object_kind)
        last = 0
        while drifts := list(open_items.filter(pk__gt=last).order_by("pk")[:batch]):
            last = drifts[-1].pk
            with transaction.atomic():
                for drift in drifts:
                    if how == PUSH and drift.kind == DriftKind.UNKNOWN_LOCAL and not delete_unknown:
                        report.skipped += 1
                        continue
                    drift.carrier_account = account
                    try:
                        resolve(drift, how, actor=actor, delete_unknown=delete_unknown, parents=parents)
                    except DriftResolutionError as exc:
                        report.failed += 1
                        if len(report.errors) < 10:
                            report.errors.append(f"{object_kind} {drift.label}: {exc}")
                    else:
                        report.resolved += 1
    return report


def import_account(account: CarrierAccount, *, actor=None) -> tuple[ReconcileRun, ResolveReport]:
    """Onboarding: everything the carrier account holds becomes the portal's, as synced objects."""
    run = reconcile(account, actor=actor)
    if run.state != RunState.DONE:
        return run, ResolveReport()
    return run, resolve_open(account, ADOPT, actor=actor)
