"""What the sync engine and reconciliation know about customers, registered with them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q

from portal.carriers.base import CarrierAdapter, CustomerSpec
from portal.sync import objects, reconcilers
from portal.sync.objects import SyncedKind, delete_ignoring_absence, text_key
from portal.sync.reconcilers import ObjectReconciler, _by_first_match, portal_status, text

from .models import Customer, CustomerStatus


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


class CustomerKind(SyncedKind):
    def held(self, adapter):
        return adapter.capabilities.customers

    def push(self, obj, adapter):
        return self.upsert(
            obj,
            adapter,
            customer_spec(obj),
            update=adapter.update_customer,
            find=adapter.find_customer,
            create=adapter.create_customer,
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


def customer_parent(customer: Customer | None, adapter: CarrierAdapter):
    if customer is not None and adapter.capabilities.customers:
        return ("customer", customer)
    return None


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


def register() -> None:
    """Make the sync engine and reconciliation know customers (when the app is ready)."""
    objects.register(CustomerKind("customer", Customer))
    reconcilers.register(CustomerReconciler())
    reconcilers.register_parents(Parents)
