"""What the sync engine and reconciliation know about numbers, registered with them."""

from __future__ import annotations

from typing import Any

from portal.carriers.base import DuplicateError, EmergencyAddress, NumberSpec, progress
from portal.customers.sync import customer_parent
from portal.forwards.sync import forward_specs, owner_forwards
from portal.sync import objects, reconcilers
from portal.sync.objects import Outcome, SyncedKind, delete_ignoring_absence
from portal.sync.reconcilers import ObjectReconciler, _by_first_match, always_on_target, text

from .models import EmergencyAddress as KeptAddress
from .models import Number, NumberStatus


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


class NumberKind(SyncedKind):
    def held(self, adapter):
        caps = adapter.capabilities
        return caps.number_inventory or caps.number_config

    def parent(self, obj, adapter):
        return customer_parent(obj.customer if obj.customer_id else None, adapter)

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

    def gone(self, obj):
        return obj.status == NumberStatus.RELEASED

    def routing_spec(self, obj, capabilities) -> NumberSpec:
        return routing_spec(obj, capabilities)

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


def register() -> None:
    """Make the sync engine and reconciliation know numbers (when the app is ready)."""
    objects.register(NumberKind("number", Number, ("customer", "subscriber")))
    reconcilers.register(NumberReconciler())
