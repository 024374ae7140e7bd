"""What the sync engine and reconciliation know about subscribers, registered with them."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from portal.carriers.base import DuplicateError, SubscriberSpec
from portal.customers.sync import customer_parent
from portal.sync import objects, reconcilers
from portal.sync.objects import SyncedKind, delete_ignoring_absence, text_key, waiting_for_a_number_holder
from portal.sync.reconcilers import ObjectReconciler, portal_status, text

from .models import DOMAIN_RE, Subscriber, SubscriberStatus

# The carriers' words for a SIP account's state (``SubscriberSpec.status``): one that cannot
# register is "suspended" at every carrier; a terminated account stays one the carrier
# keeps, switched off, so that the portal's history and the carrier agree.
SPEC_STATUS = {
    SubscriberStatus.ACTIVE: "active",
    SubscriberStatus.LOCKED: "suspended",
    SubscriberStatus.TERMINATED: "suspended",
}


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
        status=SPEC_STATUS.get(subscriber.status, "suspended"),
        customer_remote_id=subscriber.customer.remote_id or None,
        caller_id=primary or "",
        portal_id=str(subscriber.pk),
    )


class SubscriberKind(SyncedKind):
    def held(self, adapter):
        return adapter.capabilities.subscribers

    def parent(self, obj, adapter):
        return customer_parent(obj.customer, adapter)

    def push(self, obj, adapter):
        spec = subscriber_spec(obj)
        try:
            outcome = self.upsert(
                obj,
                adapter,
                spec,
                update=adapter.update_subscriber,
                find=adapter.find_subscriber,
                create=adapter.create_subscriber,
            )
        except DuplicateError as refusal:
            raise (waiting_for_a_number_holder("subscriber", obj, refusal) or self.waiting_for_a_namesake(obj, refusal)
                   or refusal)
        return outcome

    def natural_key(self, obj):
        return text_key(obj.domain, obj.username)

    def lookup(self, obj):
        return {"username": obj.username, "domain": obj.domain, "customer_remote_id": obj.customer.remote_id or None}

    def find(self, lookup, adapter):
        return adapter.find_subscriber(SubscriberSpec(**lookup))

    def delete(self, remote_id, adapter):
        delete_ignoring_absence(adapter.delete_subscriber, remote_id)


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
                domain=self.sip_domain(parents.account, theirs),
                **values,
            )
        return adopt_subscriber(obj, carrier_account=parents.account, remote_id=remote_id, actor=actor, **values)

    def forget(self, obj, actor):
        from portal.subscribers.services import delete_subscriber

        delete_subscriber(obj, actor=actor, sync=False)

    def delete_payload(self, remote_id, theirs):
        return {"remote_id": remote_id, "username": theirs["username"], "domain": theirs["domain"]}

    @staticmethod
    def sip_domain(account, facts: dict) -> str:
        domain = facts.get("domain") or account.settings.get("domain") or urlsplit(account.base_url).hostname
        if not domain or not DOMAIN_RE.match(domain):
            raise ValidationError(
                "the carrier does not say which SIP domain its subscribers are on: "
                "set the carrier account's domain setting, then adopt again"
            )
        return domain


def register() -> None:
    """Make the sync engine and reconciliation know subscribers (SIP accounts) (when the app is ready)."""
    objects.register(SubscriberKind("subscriber", Subscriber, ("customer", "primary_number")))
    reconcilers.register(SubscriberReconciler())
