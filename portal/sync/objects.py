"""What the sync engine knows about each kind of portal object.

For every kind: its model, its carrier account, the parent that must exist at the
carrier first, the spec the adapter receives, and how a push or a delete is carried out
with the adapter's capabilities in mind. A carrier that does not hold a kind (Simwood has
no customers) makes its jobs succeed without a call: the object lives in the portal only.

Forwards are synced per owner: the adapter writes an owner's whole set at once, so the
job's object is the owner (kind ``subscriber_forwards`` or ``number_forwards``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from django.db import models

from portal.carriers.base import (
    CarrierAdapter,
    CustomerSpec,
    Destination,
    DuplicateError,
    EmergencyAddress,
    ForwardSpec,
    NotFoundError,
    NumberSpec,
    PermanentError,
    SubscriberSpec,
    TimeWindow,
    TrunkSpec,
    TransientError,
    progress,
)
from portal.customers.models import Customer
from portal.forwards.models import CallForward
from portal.numbers.models import EmergencyAddress as KeptAddress
from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from portal.trunks.models import Trunk


@dataclass
class Outcome:
    """What a push achieved: the remote id to store, and anything to keep from it."""

    remote_id: str = ""
    held: bool = True  # False: the carrier holds no such thing; nothing was sent
    secret: str | None = None  # a password the carrier generated (shown once)


# ----------------------------------------------------------------------- specs
def customer_spec(customer: Customer) -> CustomerSpec:
    return CustomerSpec(
        name=customer.name,
        contact_name=customer.contact_name,
        email=customer.email,
        phone=customer.phone,
        address={
            "line1": customer.address_line1,
            "line2": customer.address_line2,
            "city": customer.city,
            "postcode": customer.postcode,
            "country": customer.country,
        },
        external_ref=customer.external_ref,
        status=customer.status,
        portal_id=str(customer.pk),
    )


def subscriber_spec(subscriber: Subscriber, *, with_password: bool = True) -> SubscriberSpec:
    numbers = list(subscriber.numbers.order_by("e164").values_list("pk", "e164"))
    primary = subscriber.primary_number.e164 if subscriber.primary_number_id else None
    return SubscriberSpec(
        username=subscriber.username,
        domain=subscriber.domain,
        password=(subscriber.sip_password or None) if with_password else None,
        display_name=subscriber.display_name,
        primary_number=primary,
        alias_numbers=[e164 for pk, e164 in numbers if pk != subscriber.primary_number_id],
        status=subscriber.status,
        customer_remote_id=subscriber.customer.remote_id or None,
        caller_id=primary or "",
        portal_id=str(subscriber.pk),
    )


def forward_specs(forwards: list[CallForward]) -> list[ForwardSpec]:
    return [
        ForwardSpec(
            type=forward.type,
            enabled=forward.enabled,
            destinations=[Destination(d.target, d.timeout) for d in forward.destinations.all()],
            windows=[
                TimeWindow(list(w.weekdays), w.start.strftime("%H:%M"), w.end.strftime("%H:%M"), w.timezone)
                for w in forward.windows.all()
            ],
        )
        for forward in forwards
    ]


def owner_forwards(owner: Subscriber | Number) -> list[CallForward]:
    field = "subscriber" if isinstance(owner, Subscriber) else "number"
    return list(
        CallForward.objects.filter(**{field: owner}).prefetch_related("destinations", "windows").order_by("type")
    )


def number_spec(number: Number, capabilities=None) -> NumberSpec:
    """``capabilities``: a number routed to a subscriber points at the subscriber's SIP
    address only where the carrier holds that subscriber; elsewhere it would be an
    address the carrier cannot reach."""
    destination = number.destination or None
    holds_subscribers = capabilities is None or capabilities.subscribers
    if destination is None and number.subscriber_id and holds_subscribers:
        subscriber = number.subscriber
        destination = f"sip:{subscriber.username}@{subscriber.domain}"
    return NumberSpec(
        e164=number.e164,
        destination=destination,
        activated=number.status != "released",
        forwards=forward_specs(owner_forwards(number)),
        customer_remote_id=number.customer.remote_id if number.customer_id else None,
        emergency_address=emergency_address_spec(number, capabilities),
        portal_id=str(number.pk),
    )


def emergency_address_spec(number: Number, capabilities) -> EmergencyAddress | None:
    """The 999 address the portal keeps for the number, for carriers that hold one."""
    if capabilities is None or not capabilities.emergency_address:
        return None
    kept = KeptAddress.objects.filter(number_id=number.pk).first()
    if kept is None:
        return None
    return EmergencyAddress(kept.name, kept.premises, kept.thoroughfare, kept.locality, kept.postcode)


def routing_spec(number: Number, capabilities) -> NumberSpec:
    """The number as its carrier should route it.

    Where a number's always-on forward *is* its destination (one carrier field), the
    forward's target wins while it is on, and the number's own destination otherwise;
    the forwards then travel inside the destination, not separately.
    """
    spec = number_spec(number, capabilities)
    if capabilities is not None and capabilities.forward_is_destination:
        always = next(
            (f for f in spec.forwards if f.type == "unconditional" and f.enabled and f.destinations), None
        )
        if always is not None:
            spec.destination = always.destinations[0].target
        spec.forwards = []
    return spec


def trunk_spec(trunk: Trunk) -> TrunkSpec:
    return TrunkSpec(
        name=trunk.name,
        type=trunk.type,
        allowed_ips=list(trunk.allowed_ips),
        channels_in=trunk.channels_in,
        channels_out=trunk.channels_out,
        default_cli=trunk.default_cli,
        force_cli=trunk.force_cli,
        max_cost_per_minute=str(trunk.max_cost_per_minute) if trunk.max_cost_per_minute is not None else None,
        max_cost_per_call=str(trunk.max_cost_per_call) if trunk.max_cost_per_call is not None else None,
        enabled=trunk.enabled,
        host=trunk.host,
        customer_ref=trunk.customer.external_ref or str(trunk.customer_id),
        customer_remote_id=trunk.customer.remote_id or None,
        numbers=list(trunk.numbers.order_by("e164").values_list("e164", flat=True)),
        portal_id=str(trunk.pk),
    )


# --------------------------------------------------------------- push helpers
class HeldElsewhere(TransientError):
    """What the carrier holds under this name belongs to another portal object for now.

    A SIP account deleted while its namesake is created, or renamed while another takes
    its old name: adopting the carrier's object would give one carrier record to two
    portal objects. The job waits for the other one's job to land (issue #10).
    """


def upsert(
    remote_id: str,
    spec: Any,
    *,
    update: Callable[[str, Any], None],
    find: Callable[[Any], str | None],
    create: Callable[[Any], Any],
    claimable: Callable[[str], None] = lambda found: None,
) -> Outcome:
    """Update what we know, else adopt what the carrier already has, else create.

    Looking up before creating, and adopting on a duplicate error, makes a retried
    create (the worker died after the carrier said yes) find the first object instead
    of making a second one. ``claimable(found)`` raises :class:`HeldElsewhere` when what
    was found is another portal object's.
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

    def customer_id_of(self, obj: Any) -> int | None:
        return getattr(obj, "customer_id", None)

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

    def claimable(self, obj: Any) -> Callable[[str], None]:
        """A check that what the carrier holds under ``obj``'s name is not another portal
        object's: held by another row, or by the delete of a row that is gone."""

        def check(found: str) -> None:
            from .models import JobOperation, SyncJob

            account_id = obj.carrier_account_id
            other = (
                self.model.objects.filter(carrier_account_id=account_id, remote_id=found).exclude(pk=obj.pk).first()
            )
            if other is not None:
                raise HeldElsewhere(f"waiting for {other} to let go of its name at the carrier")
            deletes = (
                SyncJob.objects.open()
                .filter(carrier_account_id=account_id, object_kind=self.name, operation=JobOperation.DELETE)
                .exclude(object_id=obj.pk)
                .values_list("object_repr", "natural_key", "payload")
            )
            key = self.natural_key(obj)
            for label, natural_key, payload in deletes:
                if payload.get("remote_id") == found or (key and natural_key == key):
                    raise HeldElsewhere(f"waiting for the deleted {label} to be deleted at the carrier")

        return check


class CustomerKind(SyncedKind):
    def held(self, adapter):
        return adapter.capabilities.customers

    def push(self, obj, adapter):
        return upsert(
            obj.remote_id,
            customer_spec(obj),
            update=adapter.update_customer,
            find=adapter.find_customer,
            create=adapter.create_customer,
            claimable=self.claimable(obj),
        )

    def natural_key(self, obj):
        return text_key(obj.name, obj.email)

    def lookup(self, obj):
        return {"name": obj.name, "email": obj.email, "portal_id": str(obj.pk)}

    def find(self, lookup, adapter):
        return adapter.find_customer(CustomerSpec(**lookup))

    def delete(self, remote_id, adapter):
        delete_ignoring_absence(adapter.delete_customer, remote_id)

    def customer_id_of(self, obj):
        return obj.pk


def _customer_parent(customer: Customer | None, adapter: CarrierAdapter):
    if customer is not None and adapter.capabilities.customers:
        return ("customer", customer)
    return None


class SubscriberKind(SyncedKind):
    def held(self, adapter):
        return adapter.capabilities.subscribers

    def parent(self, obj, adapter):
        return _customer_parent(obj.customer, adapter)

    def push(self, obj, adapter):
        spec = subscriber_spec(obj)
        return upsert(
            obj.remote_id,
            spec,
            update=adapter.update_subscriber,
            find=adapter.find_subscriber,
            create=adapter.create_subscriber,
            claimable=self.claimable(obj),
        )

    def natural_key(self, obj):
        return text_key(obj.domain, obj.username)

    def lookup(self, obj):
        return {"username": obj.username, "domain": obj.domain, "customer_remote_id": obj.customer.remote_id or None}

    def find(self, lookup, adapter):
        return adapter.find_subscriber(SubscriberSpec(**lookup))

    def delete(self, remote_id, adapter):
        delete_ignoring_absence(adapter.delete_subscriber, remote_id)


class NumberKind(SyncedKind):
    def held(self, adapter):
        caps = adapter.capabilities
        return caps.number_inventory or caps.number_config

    def parent(self, obj, adapter):
        return _customer_parent(obj.customer if obj.customer_id else None, adapter)

    def push(self, obj, adapter):
        caps = adapter.capabilities
        remote_id = obj.remote_id
        if not remote_id and caps.number_inventory:
            customer_remote = obj.customer.remote_id if obj.customer_id else None
            try:
                destination = routing_spec(obj, caps).destination
                remote_id = adapter.allocate_number(obj.e164, customer_remote, destination=destination)
            except DuplicateError as exc:
                # Already this account's (an allocation that landed before its worker died).
                remote_id = exc.remote_id or adapter.find_number(obj.e164)
                if not remote_id:
                    raise
            progress().landed(remote_id)  # allocated: kept before the routing, which may fail
        if caps.number_config:
            adapter.update_number(remote_id or obj.e164, routing_spec(obj, caps))
        return Outcome(remote_id or obj.e164)

    def natural_key(self, obj):
        return obj.e164

    def lookup(self, obj):
        return {"e164": obj.e164}

    def delete_target(self, payload):
        remote_id, lookup = super().delete_target(payload)
        if remote_id.startswith("+"):  # queued before deletes kept the number apart from its id
            return "", {"e164": remote_id}
        return remote_id, lookup

    def find(self, lookup, adapter):
        if not adapter.capabilities.number_inventory or not lookup.get("e164"):
            return None
        return adapter.find_number(lookup["e164"])

    def delete(self, remote_id, adapter):
        if adapter.capabilities.number_inventory:
            delete_ignoring_absence(adapter.release_number, remote_id)


class TrunkKind(SyncedKind):
    def held(self, adapter):
        return adapter.capabilities.trunks

    def parent(self, obj, adapter):
        return _customer_parent(obj.customer, adapter)

    def push(self, obj, adapter):
        return upsert(
            obj.remote_id,
            trunk_spec(obj),
            update=adapter.update_trunk,
            find=adapter.find_trunk,
            create=adapter.create_trunk,
            claimable=self.claimable(obj),
        )

    def natural_key(self, obj):
        return text_key(obj.name)

    def lookup(self, obj):
        spec = trunk_spec(obj)
        return {"name": spec.name, "type": spec.type, "customer_ref": spec.customer_ref, "portal_id": spec.portal_id}

    def find(self, lookup, adapter):
        try:
            return adapter.find_trunk(TrunkSpec(**lookup))
        except PermanentError:
            return None  # a name the carrier could never have held

    def delete(self, remote_id, adapter):
        delete_ignoring_absence(adapter.delete_trunk, remote_id)

    def record_landing(self, object_id, remote_id, secret):
        # The carrier's generated password is stored with the id that goes with it: a
        # trunk live at the carrier with credentials nobody knows is of no use.
        changes = {"remote_id": remote_id} | ({"password": secret} if secret else {})
        self.model.objects.filter(pk=object_id).update(**changes)


class ForwardsKind(SyncedKind):
    """All forwards of one owner (a subscriber or a number), written as one set."""

    owner_kind: str = ""

    def held(self, adapter):
        caps = adapter.capabilities
        return caps.forwards and self.owner_kind in caps.forward_owners

    def parent(self, obj, adapter):
        return (self.owner_kind, obj)

    def push(self, obj, adapter):
        caps = adapter.capabilities
        if self.owner_kind == "number" and caps.forward_is_destination:
            adapter.update_number(obj.remote_id, routing_spec(obj, caps))
        else:
            adapter.set_forwards(self.owner_kind, obj.remote_id, forward_specs(owner_forwards(obj)))
        return Outcome(obj.remote_id)

    def natural_key(self, obj):
        return KINDS[self.owner_kind].natural_key(obj)

    def delete(self, remote_id, adapter):
        return None  # forwards go with their owner; an emptied set is a push of []

    def state_rows(self, object_id):
        return CallForward.objects.filter(**{f"{self.owner_kind}_id": object_id})

    def state_table(self):
        return CallForward._meta.db_table, f"{self.owner_kind}_id"

    def remote_id_of(self, obj):
        return obj.remote_id

    def record_landing(self, object_id, remote_id, secret):
        return None  # the owner's id, which its own job keeps


class SubscriberForwardsKind(ForwardsKind):
    owner_kind = "subscriber"


class NumberForwardsKind(ForwardsKind):
    owner_kind = "number"


KINDS: dict[str, SyncedKind] = {
    kind.name: kind
    for kind in (
        CustomerKind("customer", Customer),
        SubscriberKind("subscriber", Subscriber, ("customer", "primary_number")),
        NumberKind("number", Number, ("customer", "subscriber")),
        TrunkKind("trunk", Trunk, ("customer",)),
        SubscriberForwardsKind("subscriber_forwards", Subscriber, ("customer",)),
        NumberForwardsKind("number_forwards", Number, ("customer",)),
    )
}

KIND_OF_MODEL = {Customer: "customer", Subscriber: "subscriber", Number: "number", Trunk: "trunk"}
