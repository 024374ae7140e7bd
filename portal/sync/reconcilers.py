"""What reconciliation knows about each kind: how to read it, match it, compare it, resolve it.

Every carrier object is reduced to its *facts*: a flat, JSON-ready dict of the spec the
adapter returned, with values normalised so that equal things compare equal (an empty
text and None, ``0.0500`` and ``0.05``, ``192.0.2.1/32`` and ``192.0.2.1``). The portal
object is turned into its spec with the functions of ``objects.py`` and reduced the
same way, so both sides of a comparison went through one function.

Only fields that the carrier holds *and* the portal can hold are compared: a field the
carrier never keeps would be drift on every run, and one the portal has no place for
could never be adopted (see docs/reconciliation.md for the list per kind).

Resolving writes through the domain services only: ``adopt_*`` (the carrier's values,
audited, marked synced, nothing queued), ``delete_*``/``release_number`` with
``sync=False`` (the carrier no longer has it) and ``push_again`` (a sync job).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from portal.carriers.base import (
    Capabilities,
    CarrierAdapter,
    CustomerSpec,
    ForwardSpec,
    NotFoundError,
    NumberSpec,
    SubscriberSpec,
    TrunkSpec,
)
from portal.customers.models import Customer, CustomerStatus
from portal.forwards.models import CallForward
from portal.numbers.models import Number, NumberStatus
from portal.subscribers.models import DOMAIN_RE, Subscriber, SubscriberStatus
from portal.trunks.models import Trunk

from .models import SyncState
from .objects import KINDS, customer_spec, forward_specs, number_spec, owner_forwards, subscriber_spec, trunk_spec

# A change on its way to the carrier is not drift: the push will make them equal.
IN_FLIGHT = (SyncState.PENDING, SyncState.SYNCING)
DEFAULT_RING_SECONDS = 20


# ------------------------------------------------------------------ normalising
def always_on_target(forwards: list[ForwardSpec]) -> str | None:
    """Where an always-on (unconditional, switched on) forward sends calls, if there is one."""
    for forward in forwards:
        if forward.type == "unconditional" and forward.enabled and forward.destinations:
            return forward.destinations[0].target
    return None


def text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def amount(value: Any) -> str | None:
    """A decimal as canonical text (``0.0500`` → ``0.05``), None for none."""
    if value in (None, ""):
        return None
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except InvalidOperation:
        return str(value)


def networks(values: Iterable[str]) -> list[str]:
    """Addresses and networks, canonical and sorted (a /32 is its address)."""
    canonical = set()
    for value in values:
        try:
            network = ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            canonical.add(str(value).strip())
            continue
        is_host = network.prefixlen == network.max_prefixlen
        canonical.add(str(network.network_address) if is_host else network.with_prefixlen)
    return sorted(canonical)


def same_status(ours: str, theirs: str, choices: type[models.TextChoices]) -> bool:
    """A carrier word the portal does not have ("suspended" for a subscriber) is compared
    by what it means: active or not."""
    if theirs in choices.values:
        return ours == theirs
    return (ours == "active") == (theirs == "active")


def portal_status(theirs: str, choices: type[models.TextChoices], current: str = "") -> str:
    if theirs in choices.values:
        return theirs
    if theirs == "active":
        return "active"
    if current and current != "active":
        return current  # already not active: keep the portal's finer word
    return next(value for value in choices.values if value != "active")


def describe(error: ValidationError) -> str:
    """A validation error as one line for staff: ``field: message; …``."""
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
            for field, messages in error.message_dict.items()
        )
    return "; ".join(error.messages)


# --------------------------------------------------------------- parents
class Parents:
    """Where an imported object goes: its customer, its SIP domain. One per resolution batch."""

    def __init__(self, account, actor=None) -> None:
        self.account = account
        self.actor = actor
        self._holding: Customer | None = None

    def customer(self, facts: dict, *, required: bool) -> Customer | None:
        remote = facts.get("customer_remote_id")
        if remote:
            found = Customer.objects.filter(carrier_account=self.account, remote_id=remote).first()
            if found is None:
                raise ValidationError(
                    f"its customer (id {remote} at the carrier) is not in the portal: adopt that customer first"
                )
            return found
        ref = facts.get("customer_ref")
        if ref:
            lookup = Q(external_ref=ref) | (Q(pk=int(ref)) if ref.isdigit() else Q())
            found = Customer.objects.filter(reseller_id=self.account.reseller_id).filter(lookup).first()
            if found is not None:
                return found
        return self.holding_customer() if required else None

    def forget(self) -> None:
        """After a rollback: what was made under it (the holding customer) may be gone."""
        self._holding = None

    def holding_customer(self) -> Customer:
        """The customer that takes imported objects the carrier files under nobody."""
        if self._holding is None:
            from portal.customers.services import adopt_customer

            name = f"Imported from {self.account.name}"[:160]
            found = Customer.objects.filter(carrier_account=self.account, name=name).first()
            self._holding = found or adopt_customer(
                carrier_account=self.account, remote_id="", actor=self.actor, name=name
            )
        return self._holding

    def sip_domain(self, facts: dict) -> str:
        domain = facts.get("domain") or self.account.settings.get("domain") or urlsplit(self.account.base_url).hostname
        if not domain or not DOMAIN_RE.match(domain):
            raise ValidationError(
                "the carrier does not say which SIP domain its subscribers are on: "
                "set the carrier account's domain setting, then adopt again"
            )
        return domain


# ------------------------------------------------------------------ the kinds
class ObjectReconciler:
    """Customers, subscribers, numbers and trunks: objects with a remote id of their own."""

    name: str = ""
    model: type[models.Model]
    compared_fields: tuple[str, ...] = ()  # model-backed facts that can be compared and adopted
    select_related: tuple[str, ...] = ()
    status_choices: type[models.TextChoices] | None = None

    # -- reading ------------------------------------------------------------------
    def held(self, adapter: CarrierAdapter) -> bool:
        return KINDS[self.name].held(adapter)

    def stream(self, adapter: CarrierAdapter) -> Iterator[tuple[str, Any]]:
        raise NotImplementedError

    def facts(self, spec: Any) -> dict[str, Any]:
        raise NotImplementedError

    def ours(self, obj, caps: Capabilities) -> dict[str, Any]:
        raise NotImplementedError

    def compared(self, adapter: CarrierAdapter) -> tuple[str, ...]:
        return self.compared_fields

    def label(self, facts: dict[str, Any]) -> str:
        raise NotImplementedError

    def label_of(self, obj) -> str:
        return str(obj)[:200]

    # -- matching -----------------------------------------------------------------
    def portal(self, account) -> models.QuerySet:
        return self.model.objects.filter(carrier_account=account).select_related(*self.select_related)

    def gone(self, obj) -> bool:
        """The portal keeps the row but not the object (a released number)."""
        return False

    def match_by_key(self, unlinked: models.QuerySet, items: list[dict]) -> list[Any | None]:
        """For each item, the portal object with its natural key (or None); one query."""
        raise NotImplementedError

    # -- comparing ----------------------------------------------------------------
    def diff(self, ours: dict, theirs: dict, fields: tuple[str, ...]) -> dict[str, list]:
        changed = {}
        for field in fields:
            mine, carrier = ours.get(field), theirs.get(field)
            if field == "status" and self.status_choices is not None:
                equal = same_status(mine, carrier, self.status_choices)
            else:
                equal = mine == carrier
            if not equal:
                changed[field] = [mine, carrier]
        return changed

    # -- resolving ----------------------------------------------------------------
    def adopt(self, obj, *, remote_id: str, theirs: dict, fields: Iterable[str], parents: Parents, actor):
        """Write the carrier's ``fields`` into ``obj`` (None: import it) through the service."""
        raise NotImplementedError

    def forget(self, obj, actor) -> None:
        """The carrier no longer has it and staff adopt that: the portal lets it go too."""
        raise NotImplementedError

    def delete_payload(self, remote_id: str, theirs: dict) -> dict:
        return {"remote_id": remote_id}


def _by_first_match(items: list[dict], candidates: list, keys) -> list:
    """For each item the first candidate sharing one of its keys, tried in order."""
    indexes = []
    for key_of_item, key_of_obj in keys:
        index: dict = {}
        for obj in candidates:
            index.setdefault(key_of_obj(obj), obj)
        indexes.append((key_of_item, index))
    found = []
    for item in items:
        match = None
        for key_of_item, index in indexes:
            key = key_of_item(item)
            if key not in (None, ""):
                match = index.get(key)
                if match is not None:
                    break
        found.append(match)
    return found


class CustomerReconciler(ObjectReconciler):
    name = "customer"
    model = Customer
    status_choices = CustomerStatus
    ADDRESS = ("address_line1", "address_line2", "city", "postcode", "country")
    compared_fields = ("name", "contact_name", "email", "phone", *ADDRESS, "external_ref", "status")

    def stream(self, adapter):
        return adapter.iter_customers()

    def facts(self, spec: CustomerSpec) -> dict:
        address = spec.address or {}
        return {
            "name": text(spec.name),
            "contact_name": text(spec.contact_name),
            "email": text(spec.email),
            "phone": text(spec.phone),
            "address_line1": text(address.get("line1")),
            "address_line2": text(address.get("line2")),
            "city": text(address.get("city")),
            "postcode": text(address.get("postcode")),
            "country": text(address.get("country")),
            "external_ref": text(spec.external_ref),
            "status": text(spec.status),
            "portal_id": text(spec.portal_id),
        }

    def ours(self, obj, caps):
        return self.facts(customer_spec(obj))

    def compared(self, adapter):
        held = adapter.capabilities.customer_fields
        if not held:
            return self.compared_fields
        expanded = set(held) - {"address"} | (set(self.ADDRESS) if "address" in held else set())
        return tuple(field for field in self.compared_fields if field in expanded)

    def label(self, facts):
        return facts["name"] or facts["email"] or "(no name)"

    def match_by_key(self, unlinked, items):
        ids = [int(i["portal_id"]) for i in items if i["portal_id"].isdigit()]
        refs = [i["external_ref"] for i in items if i["external_ref"]]
        names = [i["name"] for i in items if i["name"]]
        candidates = list(unlinked.filter(Q(pk__in=ids) | Q(external_ref__in=refs) | Q(name__in=names)))
        return _by_first_match(
            items,
            candidates,
            [
                (lambda i: int(i["portal_id"]) if i["portal_id"].isdigit() else None, lambda o: o.pk),
                (lambda i: i["external_ref"], lambda o: o.external_ref),
                (lambda i: i["name"], lambda o: o.name),
            ],
        )

    def adopt(self, obj, *, remote_id, theirs, fields, parents, actor):
        from portal.customers.services import adopt_customer

        values = {field: theirs[field] for field in fields}
        if "status" in values:
            values["status"] = portal_status(values["status"], CustomerStatus, obj.status if obj else "")
        if obj is None:
            values.setdefault("name", theirs["name"])
        return adopt_customer(obj, carrier_account=parents.account, remote_id=remote_id, actor=actor, **values)

    def forget(self, obj, actor):
        from portal.customers.services import delete_customer

        delete_customer(obj, actor=actor, sync=False)


class SubscriberReconciler(ObjectReconciler):
    name = "subscriber"
    model = Subscriber
    status_choices = SubscriberStatus
    # Numbers and caller id follow from the portal's numbers; call limits have no portal field.
    compared_fields = ("display_name", "status")
    select_related = ("customer", "primary_number")

    def stream(self, adapter):
        return adapter.iter_subscribers()

    def facts(self, spec: SubscriberSpec) -> dict:
        return {
            "username": text(spec.username),
            "domain": text(spec.domain),
            "display_name": text(spec.display_name),
            "status": text(spec.status),
            "caller_id": text(spec.caller_id),
            "customer_remote_id": text(spec.customer_remote_id),
            "primary_number": text(spec.primary_number),
            "alias_numbers": sorted(spec.alias_numbers or []),
            "portal_id": text(spec.portal_id),
        }

    def ours(self, obj, caps):
        return self.facts(subscriber_spec(obj, with_password=False))

    def label(self, facts):
        return f"{facts['username']}@{facts['domain']}" if facts["domain"] else facts["username"]

    def match_by_key(self, unlinked, items):
        usernames = {i["username"] for i in items}
        candidates = list(unlinked.filter(username__in=usernames))
        found = []
        for item in items:
            same_name = [o for o in candidates if o.username == item["username"]]
            exact = [o for o in same_name if o.domain == item["domain"]]
            # A carrier that holds no domain (Simotel) names a subscriber by its username alone.
            found.append((exact or ([] if item["domain"] else same_name) or [None])[0])
        return found

    def adopt(self, obj, *, remote_id, theirs, fields, parents, actor):
        from portal.subscribers.services import adopt_subscriber

        values = {field: theirs[field] for field in fields}
        if "status" in values:
            values["status"] = portal_status(values["status"], SubscriberStatus, obj.status if obj else "")
        if obj is None:
            return adopt_subscriber(
                customer=parents.customer(theirs, required=True),
                carrier_account=parents.account,
                remote_id=remote_id,
                actor=actor,
                username=theirs["username"],
                domain=parents.sip_domain(theirs),
                **values,
            )
        return adopt_subscriber(obj, carrier_account=parents.account, remote_id=remote_id, actor=actor, **values)

    def forget(self, obj, actor):
        from portal.subscribers.services import delete_subscriber

        delete_subscriber(obj, actor=actor, sync=False)

    def delete_payload(self, remote_id, theirs):
        return {"remote_id": remote_id, "username": theirs["username"], "domain": theirs["domain"]}


class NumberReconciler(ObjectReconciler):
    name = "number"
    model = Number
    # Whether a number is switched on has no portal form short of releasing it.
    compared_fields = ("destination", "customer_remote_id")
    select_related = ("customer", "subscriber")

    def stream(self, adapter):
        return adapter.iter_numbers()

    def facts(self, spec: NumberSpec) -> dict:
        return {
            "e164": text(spec.e164),
            "destination": text(spec.destination),
            "customer_remote_id": text(spec.customer_remote_id),
            "portal_id": text(spec.portal_id),
        }

    def ours(self, obj, caps):
        spec = number_spec(obj, caps)
        if caps.forward_is_destination and not spec.destination:
            spec.destination = always_on_target(spec.forwards)  # the carrier's one field, as the portal says it
        return self.facts(spec)

    def compared(self, adapter):
        if adapter.capabilities.customers:
            return self.compared_fields
        return ("destination",)  # without customers at the carrier, a number's customer is the portal's alone

    def label(self, facts):
        return facts["e164"]

    def gone(self, obj):
        return obj.status == NumberStatus.RELEASED

    def match_by_key(self, unlinked, items):
        candidates = list(unlinked.filter(e164__in={i["e164"] for i in items}))
        return _by_first_match(items, candidates, [(lambda i: i["e164"], lambda o: o.e164)])

    def adopt(self, obj, *, remote_id, theirs, fields, parents, actor):
        from portal.numbers.services import adopt_number

        caps = parents.account.capabilities
        values: dict[str, Any] = {}
        if "customer_remote_id" in fields:
            customer = parents.customer(theirs, required=False)
            values["customer"] = customer
            if obj is not None and customer != obj.customer:
                values.update(subscriber=None, trunk=None)  # they were the old customer's
        said_as_forward = (
            "destination" in fields
            and obj is not None
            and caps.forward_is_destination
            and always_on_target(forward_specs(owner_forwards(obj))) is not None
        )
        if "destination" in fields and not said_as_forward:
            routed = number_spec(obj, caps).destination if obj is not None and obj.subscriber_id else None
            if theirs["destination"] == routed:
                values["destination"] = ""  # it rings its subscriber, which the portal says by the route alone
            else:
                values["destination"] = theirs["destination"]
                if obj is not None and obj.subscriber_id:
                    values["subscriber"] = None  # the carrier rings elsewhere (or nowhere), not the subscriber
        if obj is None:
            values["e164"] = theirs["e164"]
        number = adopt_number(obj, carrier_account=parents.account, remote_id=remote_id, actor=actor, **values)
        if said_as_forward:
            self._adopt_as_always_on_forward(number, theirs["destination"], actor)
        return number

    @staticmethod
    def _adopt_as_always_on_forward(number, target: str, actor) -> None:
        """Where the carrier's destination is the portal's always-on forward, change that forward."""
        from portal.forwards.services import ForwardInput, current_forwards, set_forwards

        kept = [f for f in current_forwards(number) if f.type != "unconditional"]
        always_on = [ForwardInput("unconditional", True, [(target, 20)])] if target else []
        set_forwards(number, always_on + kept, actor=actor, sync=False)

    def forget(self, obj, actor):
        from portal.numbers.services import release_number

        release_number(obj, actor=actor, sync=False)


class TrunkReconciler(ObjectReconciler):
    name = "trunk"
    model = Trunk
    compared_fields = (
        "type", "allowed_ips", "channels_in", "channels_out", "default_cli", "force_cli",
        "max_cost_per_minute", "max_cost_per_call", "enabled", "host",
    )  # fmt: skip
    select_related = ("customer",)

    def stream(self, adapter):
        return adapter.iter_trunks()

    def facts(self, spec: TrunkSpec) -> dict:
        return {
            "name": text(spec.name),
            "type": text(spec.type),
            "allowed_ips": networks(spec.allowed_ips or []),
            "channels_in": spec.channels_in,
            "channels_out": spec.channels_out,
            "default_cli": text(spec.default_cli),
            "force_cli": bool(spec.force_cli),
            "max_cost_per_minute": amount(spec.max_cost_per_minute),
            "max_cost_per_call": amount(spec.max_cost_per_call),
            "enabled": bool(spec.enabled),
            "host": text(spec.host),
            "customer_ref": text(spec.customer_ref),
            "customer_remote_id": text(spec.customer_remote_id),
        }

    def ours(self, obj, caps):
        return self.facts(trunk_spec(obj))

    def compared(self, adapter):
        held = adapter.capabilities.trunk_fields
        return tuple(field for field in self.compared_fields if field in held)

    def label(self, facts):
        return facts["name"]

    def match_by_key(self, unlinked, items):
        candidates = list(unlinked.filter(name__in={i["name"] for i in items}))
        found = []
        for item in items:
            same_name = [o for o in candidates if o.name == item["name"]]
            # Trunk names are unique per customer: the carrier's customer reference decides.
            ref = item["customer_ref"]
            same_customer = [o for o in same_name if ref in (o.customer.external_ref, str(o.customer_id))]
            found.append((same_customer or same_name or [None])[0])
        return found

    def adopt(self, obj, *, remote_id, theirs, fields, parents, actor):
        from portal.trunks.services import adopt_trunk

        values = {field: theirs[field] for field in fields}
        for field in ("max_cost_per_minute", "max_cost_per_call"):
            if values.get(field) is not None:
                values[field] = Decimal(values[field])
        if obj is None:
            return adopt_trunk(
                customer=parents.customer(theirs, required=True),
                carrier_account=parents.account,
                remote_id=remote_id,
                actor=actor,
                name=theirs["name"],
                **values,
            )
        return adopt_trunk(obj, carrier_account=parents.account, remote_id=remote_id, actor=actor, **values)

    def forget(self, obj, actor):
        from portal.trunks.services import delete_trunk

        delete_trunk(obj, actor=actor, sync=False)

    def delete_payload(self, remote_id, theirs):
        return {"remote_id": remote_id, "name": theirs["name"]}


class ForwardsReconciler:
    """The call forwards of each owner (a subscriber or a number), compared as one set.

    Only forwards in effect (switched on, with a destination) are compared: carriers
    differ in whether a switched-off forward is kept at all. Ring timeouts and time
    windows are compared only where the carrier holds them.
    """

    def __init__(self, owner: ObjectReconciler) -> None:
        self.owner = owner
        self.owner_kind = owner.name
        self.name = f"{owner.name}_forwards"

    def held(self, adapter: CarrierAdapter) -> bool:
        caps = adapter.capabilities
        if self.owner_kind == "number" and caps.forward_is_destination:
            return False  # one carrier field: compared (and adopted) as the number's destination
        return KINDS[self.name].held(adapter)

    def stream(self, adapter: CarrierAdapter) -> Iterator[tuple[str, list[ForwardSpec]]]:
        return adapter.iter_forwards(self.owner_kind)

    def fetch(self, adapter: CarrierAdapter, remote_id: str) -> list[ForwardSpec] | None:
        try:
            return adapter.fetch_forwards(self.owner_kind, remote_id)
        except NotFoundError:
            return None  # the owner itself is gone: that is the owner's drift

    def owners(self, account) -> models.QuerySet:
        return self.owner.portal(account)

    def facts(self, forwards: list[ForwardSpec], adapter: CarrierAdapter) -> dict:
        caps = adapter.capabilities
        in_effect = {}
        for forward in sorted(forwards, key=lambda f: f.type):
            if not (forward.enabled and forward.destinations):
                continue
            in_effect[forward.type] = {
                "destinations": [[d.target, d.timeout if caps.ring_timeouts else None] for d in forward.destinations],
                "windows": [
                    [sorted(w.weekdays), w.start, w.end, w.timezone] for w in forward.windows
                ]
                if caps.time_windows
                else [],
            }
        return {"forwards": in_effect}

    def ours(self, forwards: list[CallForward], adapter: CarrierAdapter) -> dict:
        return self.facts(forward_specs(forwards), adapter)

    def portal_forwards(self, owners: list) -> dict[int, list[CallForward]]:
        """Every owner's forwards in one query, by owner pk."""
        field = f"{self.owner_kind}_id"
        grouped: dict[int, list[CallForward]] = {owner.pk: [] for owner in owners}
        rows = CallForward.objects.filter(**{f"{field}__in": list(grouped)}).prefetch_related("destinations", "windows")
        for forward in rows.order_by("type"):
            grouped[getattr(forward, field)].append(forward)
        return grouped

    @staticmethod
    def diff(ours: dict, theirs: dict) -> dict[str, list]:
        mine, carrier = ours["forwards"], theirs["forwards"]
        return {
            kind: [mine.get(kind), carrier.get(kind)]
            for kind in sorted(set(mine) | set(carrier))
            if mine.get(kind) != carrier.get(kind)
        }

    def label_of(self, owner) -> str:
        return f"forwards of {owner}"[:200]

    def adopt(self, owner, theirs: dict, actor) -> None:
        """Make the owner's forwards in effect the carrier's; its switched-off ones stay.

        Where the carrier holds no ring timeouts, a destination keeps the portal's own.
        """
        from portal.forwards.services import ForwardInput, WindowInput, current_forwards, set_forwards

        current = current_forwards(owner)
        own_timeouts = {(f.type, target): timeout for f in current for target, timeout in f.destinations}

        def ring_for(kind: str, target: str, timeout: int | None) -> int:
            return timeout if timeout is not None else own_timeouts.get((kind, target), DEFAULT_RING_SECONDS)

        inputs = [
            ForwardInput(
                kind,
                True,
                [(target, ring_for(kind, target, timeout)) for target, timeout in forward["destinations"]],
                [
                    WindowInput(weekdays, dt.time.fromisoformat(start), end_of_window(end), zone)
                    for weekdays, start, end, zone in forward["windows"]
                ],
            )
            for kind, forward in theirs["forwards"].items()
        ]
        switched_off = [f for f in current if not f.enabled and f.type not in theirs["forwards"]]
        set_forwards(owner, inputs + switched_off, actor=actor, sync=False)


def end_of_window(value: str) -> dt.time:
    # A carrier may end a day at 24:00; the portal's day ends a second before.
    return dt.time(23, 59, 59) if value == "24:00" else dt.time.fromisoformat(value)


CUSTOMERS = CustomerReconciler()
SUBSCRIBERS = SubscriberReconciler()
NUMBERS = NumberReconciler()
TRUNKS = TrunkReconciler()

# In the order an import needs them: customers before what they own, owners before forwards.
OBJECT_RECONCILERS: tuple[ObjectReconciler, ...] = (CUSTOMERS, SUBSCRIBERS, NUMBERS, TRUNKS)
FORWARD_RECONCILERS: tuple[ForwardsReconciler, ...] = (ForwardsReconciler(SUBSCRIBERS), ForwardsReconciler(NUMBERS))
RECONCILERS: dict[str, ObjectReconciler | ForwardsReconciler] = {
    r.name: r for r in (*OBJECT_RECONCILERS, *FORWARD_RECONCILERS)
}
