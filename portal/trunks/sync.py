"""What the sync engine and reconciliation know about trunks, registered with them."""

from __future__ import annotations

from decimal import Decimal

from portal.carriers.base import CarrierError, DuplicateError, PermanentError, TrunkSpec
from portal.customers.sync import customer_parent
from portal.sync import objects, reconcilers
from portal.sync.objects import SyncedKind, delete_ignoring_absence, text_key, waiting_for_a_number_holder
from portal.sync.reconcilers import ObjectReconciler, amount, networks, text

from .models import Trunk


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


class TrunkKind(SyncedKind):
    def held(self, adapter):
        return adapter.capabilities.trunks

    def parent(self, obj, adapter):
        return customer_parent(obj.customer, adapter)

    def push(self, obj, adapter):
        try:
            outcome = self.upsert(
                obj,
                adapter,
                trunk_spec(obj),
                update=adapter.update_trunk,
                find=adapter.find_trunk,
                create=adapter.create_trunk,
            )
        except DuplicateError as refusal:
            raise (waiting_for_a_number_holder("trunk", obj, refusal) or self.waiting_for_a_namesake(obj, refusal)
                   or refusal)
        return outcome

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

    def reset_secret(self, obj, adapter):
        try:
            return adapter.reset_trunk_password(obj.remote_id)
        except CarrierError as exc:
            exc.message = f"password reset refused: {exc.message}"  # the trunk itself is unchanged
            raise

    def record_landing(self, object_id, remote_id, secret):
        # The carrier's generated password is stored with the id that goes with it: a
        # trunk live at the carrier with credentials nobody knows is of no use. A new
        # password (a create's, a reset's) is one nobody has seen: it may be shown once.
        changes = {"remote_id": remote_id} | ({"password": secret, "password_shown_at": None} if secret else {})
        self.model.objects.filter(pk=object_id).update(**changes)


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


def register() -> None:
    """Make the sync engine and reconciliation know trunks (when the app is ready)."""
    objects.register(TrunkKind("trunk", Trunk, ("customer",)))
    reconcilers.register(TrunkReconciler())
