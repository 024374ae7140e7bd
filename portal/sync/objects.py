"""What the sync engine knows about a kind of portal object, and the kinds it knows.

A kind says: its model, its carrier account, the parent that must exist at the carrier
first, the spec the adapter receives, its natural key, and how a push or a delete is
carried out with the adapter's capabilities in mind. A carrier that does not hold a kind
(Simwood has no customers) makes its jobs succeed without a call: the object lives in the
portal only.

The kinds themselves live with their domain (``portal/<domain>/sync.py``) and register
here when their app is ready, so the engine knows no domain model: customers, subscribers,
numbers, trunks and the forwards of subscribers and numbers. Forwards are synced per
owner: the adapter writes an owner's whole set at once, so the job's object is the owner
(kind ``subscriber_forwards`` or ``number_forwards``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from django.db import models

from portal.carriers.base import (
    CarrierAdapter,
    DuplicateError,
    NotFoundError,
    TransientError,
    UnsupportedError,
    progress,
)


@dataclass
class Outcome:
    """What a push achieved: the remote id to store, and anything to keep from it."""

    remote_id: str = ""
    held: bool = True  # False: the carrier holds no such thing; nothing was sent
    secret: str | None = None  # a password the carrier generated (shown once)


# --------------------------------------------------------------- push helpers
class HeldElsewhere(TransientError):
    """What the carrier holds under this name belongs to another portal object for now.

    A SIP account deleted while its namesake is created, or renamed while another takes
    its old name: adopting the carrier's object would give one carrier record to two
    portal objects. The job waits for the other one's job to land (issue #10).
    """


# The kinds whose carrier objects hold numbers (a number moved between two of them is
# taken off one and put on the other by two jobs).
NUMBER_HOLDERS = ("subscriber", "trunk")


def waiting_for_a_number_holder(kind: str, obj: Any, refusal: DuplicateError) -> TransientError | None:
    """A push refused because a number it carries is still on another carrier object, while
    another holder of the account has a job open (the number's old owner, whose push takes
    it off): a wait for that job, not a failure. None when nothing is on its way."""
    if "number" not in refusal.message.lower():
        return None
    from .models import SyncJob

    others = SyncJob.objects.open().filter(carrier_account_id=obj.carrier_account_id, object_kind__in=NUMBER_HOLDERS)
    if not others.exclude(object_kind=kind, object_id=obj.pk).exists():
        return None
    return TransientError(f"Waiting for another SIP account or trunk to give up a number: {refusal.message}")


def upsert(
    remote_id: str,
    spec: Any,
    *,
    update: Callable[[str, Any], None],
    find: Callable[[Any], str | None],
    create: Callable[[Any], Any],
    claimable: Callable[[str], None] = lambda found: None,
    earlier: Callable[[], str | None] = lambda: None,
    sending: Callable[[], None] = lambda: None,
) -> Outcome:
    """Update what we know, else adopt what the carrier already has, else create.

    Looking up before creating, and adopting on a duplicate error, makes a retried
    create (the worker died after the carrier said yes) find the first object instead
    of making a second one. ``claimable(found)`` raises :class:`HeldElsewhere` when what
    was found is another portal object's. ``earlier()`` finds what an unanswered create
    made under the object's former name; ``sending()`` is told before a create goes out.
    """
    if remote_id:
        try:
            update(remote_id, spec)
            return Outcome(remote_id)
        except NotFoundError:
            pass  # gone at the carrier (deleted there): create it again
    existing = find(spec)
    if existing:
        claimable(existing)
        update(existing, spec)
        return Outcome(existing)
    existing = earlier()
    if existing:
        update(existing, spec)
        return Outcome(existing)
    sending()
    try:
        created = create(spec)
    except DuplicateError as exc:
        existing = exc.remote_id or find(spec)
        if not existing:
            raise
        claimable(existing)
        update(existing, spec)
        return Outcome(existing)
    if hasattr(created, "remote_id"):
        return Outcome(created.remote_id, secret=getattr(created, "password", None))
    return Outcome(str(created))


def delete_ignoring_absence(delete: Callable[[str], None], remote_id: str) -> None:
    """Deleting what is already gone is done, not an error: the id named the object the
    carrier way (a stored, resolved or looked-up id), so a 404 means it is gone."""
    if not remote_id:
        return
    try:
        delete(remote_id)
    except NotFoundError:
        pass


def text_key(*parts: str) -> str:
    return "|".join(part.strip().lower() for part in parts)


# ------------------------------------------------------------------- the kinds
_loaders: dict[str, Any] = {}


@dataclass(frozen=True)
class SyncedKind:
    name: str
    model: type[models.Model]
    select_related: tuple[str, ...] = ()

    # -- overridden per kind --------------------------------------------------
    def held(self, adapter: CarrierAdapter) -> bool:
        raise NotImplementedError

    def parent(self, obj: Any, adapter: CarrierAdapter) -> tuple[str, Any] | None:
        """(kind, object) that must exist at the carrier before this one, if any."""
        return None

    def push(self, obj: Any, adapter: CarrierAdapter) -> Outcome:
        raise NotImplementedError

    def natural_key(self, obj: Any) -> str:
        """How the carrier finds the object without its id (lower case; "" if it cannot)."""
        return ""

    def lookup(self, obj: Any) -> dict:
        """What :meth:`find` needs to look the object up once its row is gone."""
        return {}

    def find(self, lookup: dict, adapter: CarrierAdapter) -> str | None:
        """The remote id of the object :meth:`lookup` describes, at the carrier, if any."""
        return None

    def delete(self, remote_id: str, adapter: CarrierAdapter) -> None:
        raise NotImplementedError

    def reset_secret(self, obj: Any, adapter: CarrierAdapter) -> str:
        """Have the carrier make a new secret for ``obj`` (held there); the secret
        (a ``RESET_SECRET`` job). Only kinds whose secrets the carrier makes have one."""
        raise UnsupportedError(f"the portal cannot reset the secret of a {self.name}")

    def customer_id_of(self, obj: Any) -> int | None:
        return getattr(obj, "customer_id", None)

    def gone(self, obj: Any) -> bool:
        """The row stays but the object is not to be at the carrier (a released number):
        a push has nothing to send (and must not bring it back)."""
        return False

    # -- shared -----------------------------------------------------------------
    def delete_target(self, payload: dict) -> tuple[str, dict]:
        """(remote id, lookup) of a delete job's payload."""
        # Jobs queued before lookups had a key of their own kept its fields beside the id.
        lookup = payload.get("lookup") or {k: v for k, v in payload.items() if k not in ("remote_id", "parts")}
        return payload.get("remote_id") or "", lookup

    def delete_payload(self, obj: Any) -> dict:
        """What the delete job needs once the row is gone: the remote id as the row holds
        it *now* (``obj`` read under its lock), and what finds the object without it."""
        return {"remote_id": obj.remote_id, "lookup": self.lookup(obj)}

    def load(self, object_id: int):
        """The object with its ``select_related`` relations, or None if it is gone.

        The engine loads one per job: the SQL is built once (``jobsql.ObjectLoader``).
        """
        from .jobsql import ObjectLoader

        loader = _loaders.get(self.name)
        if loader is None:
            loader = _loaders[self.name] = ObjectLoader(self.model, self.select_related)
        return loader.load(object_id)

    def state_rows(self, object_id: int) -> models.QuerySet:
        """The rows whose sync fields a job of this kind updates."""
        return self.model.objects.filter(pk=object_id)

    def state_table(self) -> tuple[str, str]:
        """(table, column) that ``state_rows`` selects by, for the engine's plain SQL."""
        return self.model._meta.db_table, "id"

    def remote_id_of(self, obj: Any) -> str:
        return obj.remote_id

    def account_of(self, obj: Any):
        return obj.carrier_account

    def record_landing(self, object_id: int, remote_id: str, secret: str | None) -> None:
        """The carrier holds the object now (a step of its create landed): keep its id."""
        self.model.objects.filter(pk=object_id).update(remote_id=remote_id)

    def upsert(self, obj: Any, adapter: CarrierAdapter, spec: Any, *, update, find, create) -> Outcome:
        """:func:`upsert` for ``obj``, keeping on its job each lookup a create is sent under:
        a create whose answer never came back made the object under its name *then*, and
        a person may have renamed it before the retry (SureVoIP finds a customer only by
        name and email)."""
        tracker = progress()

        def earlier() -> str | None:
            lookup = self.lookup(obj)
            return self.made_before(obj, adapter, [sent for sent in tracker.sent() if sent != lookup])

        return upsert(
            self.remote_id_of(obj),
            spec,
            update=update,
            find=find,
            create=create,
            claimable=self.claimable(obj),
            earlier=earlier,
            sending=lambda: tracker.sending(self.lookup(obj)),
        )

    def made_before(self, obj: Any, adapter: CarrierAdapter, lookups: list[dict]) -> str | None:
        """What the carrier holds under one of the earlier ``lookups`` of ``obj`` and no other
        portal object holds (a namesake may have adopted it since: it is that one's now)."""
        check = self.claimable(obj)
        for lookup in reversed(lookups):  # the newest first
            found = self.find(lookup, adapter)
            if not found:
                continue
            try:
                check(found)
            except HeldElsewhere:
                continue
            return found
        return None

    def waiting_for_a_namesake(self, obj: Any, refusal: DuplicateError) -> TransientError | None:
        """A push refused as a duplicate while the delete of another object of the kind with
        this name has not landed (a SIP account deleted, and another renamed to its name): a
        wait for that delete, on its way or refused (then a person retries it), not a failure
        of this one. None when there is no such delete."""
        from .models import JobOperation, JobState, SyncJob

        key = self.natural_key(obj)
        delete = (
            SyncJob.objects.filter(state__in=(JobState.QUEUED, JobState.RUNNING, JobState.FAILED))
            .filter(carrier_account_id=obj.carrier_account_id, object_kind=self.name, operation=JobOperation.DELETE,
                    natural_key=key)
            .exclude(object_id=obj.pk)
            .order_by("-pk")
            .first()
        ) if key else None
        if delete is None:
            return None
        if delete.state == JobState.FAILED:
            return TransientError(f"Waiting for the deleted {delete.object_repr}, which the carrier still holds: "
                                  f"retry its refused delete ({delete.last_error}). {refusal.message}")
        return TransientError(f"Waiting for the deleted {delete.object_repr} to be deleted at the carrier: "
                              f"{refusal.message}")

    def claimable(self, obj: Any) -> Callable[[str], None]:
        """A check that what the carrier holds under ``obj``'s name is not another portal
        object's: held by another row, or by the delete of a row that is gone."""

        def check(found: str) -> None:
            from .models import JobOperation, JobState, SyncJob

            account_id = obj.carrier_account_id
            other = (
                self.model.objects.filter(carrier_account_id=account_id, remote_id=found).exclude(pk=obj.pk).first()
            )
            if other is not None:
                raise HeldElsewhere(f"waiting for {other} to let go of its name at the carrier")
            # A refused delete still holds the name against another customer's object: the carrier
            # keeps the deleted one with its customer (Sipwise refuses to change a subscriber's).
            deletes = (
                SyncJob.objects.filter(state__in=(JobState.QUEUED, JobState.RUNNING, JobState.FAILED))
                .filter(carrier_account_id=account_id, object_kind=self.name, operation=JobOperation.DELETE)
                .exclude(object_id=obj.pk)
                .values_list("object_repr", "natural_key", "payload", "state", "customer_id", "last_error")
            )
            key, customer_id = self.natural_key(obj), self.customer_id_of(obj)
            for label, natural_key, payload, state, of_customer, error in deletes:
                if not (payload.get("remote_id") == found or (key and natural_key == key)):
                    continue
                if state != JobState.FAILED:
                    raise HeldElsewhere(f"waiting for the deleted {label} to be deleted at the carrier")
                if of_customer != customer_id:
                    raise HeldElsewhere(f"waiting for the deleted {label} of another customer, which the carrier "
                                        f"still holds: retry its refused delete ({error})")

        return check


# ------------------------------------------------------------------ the registry
KINDS: dict[str, SyncedKind] = {}
KIND_OF_MODEL: dict[type[models.Model], str] = {}
# Objects that are pushed as part of another one: model -> (object, kind) of the push.
PUSHED_AS: dict[type[models.Model], Callable[[Any], tuple[Any, str]]] = {}


def register(kind: SyncedKind, *, of_model: bool = True) -> SyncedKind:
    """Make ``kind`` known to the engine (``of_model``: the kind of its model's objects)."""
    KINDS[kind.name] = kind
    if of_model:
        KIND_OF_MODEL[kind.model] = kind.name
    return kind
