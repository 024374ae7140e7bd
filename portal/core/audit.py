"""Which models the audit log records, which of their fields it must never show, and what
each entry notes besides the change: whose the object was, and on whose behalf it changed.

Every entry of an object that belongs to a customer is filed under that customer and its
reseller (``AuditEntryOwner``), read from the object itself as it is written, never from a
request. A customer's trail is exactly these entries: a deleted forward destination is
still theirs, and a number given to another customer later does not show them its
previous owner's history.

When staff act in a customer's self-service pages ("view as"), the entry also notes the
customer they acted for (``additional_data["on_behalf_of"]``); the actor stays the
staff user. ``actor_words`` tells both in one phrase for every history page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from auditlog.context import auditlog_value, set_actor
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from auditlog.signals import pre_log
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db.models.signals import post_save, pre_save

from .models import AuditEntryOwner

# On whose behalf the changes of this request are made: {"id": customer pk, "name": ...}.
_on_behalf: ContextVar[dict | None] = ContextVar("audit_on_behalf", default=None)
# The owners of the object whose entry is being written: ((content type id, pk), owners).
_owners_of_next_entry: ContextVar[tuple | None] = ContextVar("audit_owners_of_next_entry", default=None)


@contextmanager
def acting_as(actor) -> Iterator[None]:
    """The audit entries written in the block name ``actor`` (a user; None changes nothing).

    auditlog's ``set_actor`` keeps one context per thread, and an inner one does not give
    the outer one back when it ends: the request's own (``AuditlogMiddleware``) then lost
    its address for the rest of the request, and its signal receiver was never
    disconnected, so each request leaked one, and every later audit entry called them all.
    Here the request's context lends its address and is put back afterwards.
    """
    if getattr(actor, "pk", None) is None:
        yield
        return
    outer = auditlog_value.get(None)
    if outer is not None and not _listening(outer):
        outer = None  # left behind by a context that has ended: nothing of it applies
    where = {"remote_addr": outer.get("remote_addr"), "remote_port": outer.get("remote_port")} if outer else {}
    try:
        with set_actor(actor, **where):
            yield
    finally:
        if outer is not None:
            auditlog_value.set(outer)


def _listening(context: dict) -> bool:
    """The auditlog context's receiver is still connected: the context is open."""
    uid = context.get("signal_duid")
    return any(lookup_key[0] == uid for lookup_key, *_ in pre_save.receivers)


def _entry_key(entry) -> tuple[int, str]:
    return entry.content_type_id, str(entry.object_pk)


def register_models() -> None:
    from portal.branding.models import Branding
    from portal.carriers.models import CarrierAccount
    from portal.customers.models import Customer, CustomerLogin
    from portal.forwards.models import CallForward, ForwardDestination, ForwardWindow
    from portal.numbers.models import EmergencyAddress, Number
    from portal.selfservice.models import PhoneSettingsLink
    from portal.subscribers.models import Subscriber
    from portal.tenancy.models import Reseller, StaffMembership
    from portal.trunks.models import Trunk

    for model in (Reseller, StaffMembership, Customer, CustomerLogin, Number, EmergencyAddress, CallForward):
        auditlog.register(model)
    auditlog.register(ForwardDestination)
    auditlog.register(ForwardWindow)
    # Secrets are left out entirely: an audit entry must not become a copy of the secret. A new
    # SIP password is recorded as changed (who reset it, and when) with its value concealed.
    auditlog.register(CarrierAccount, exclude_fields=["credentials"])
    auditlog.register(Subscriber, mask_fields=["sip_password"], mask_callable="portal.core.audit.conceal")
    auditlog.register(Trunk, exclude_fields=["password"])
    auditlog.register(Branding, exclude_fields=["logo", "public_key"])
    # The link's token and the password's digest are not the secret, but lead to it.
    auditlog.register(PhoneSettingsLink, exclude_fields=["token_hash", "password_digest"])

    pre_log.connect(_note_owners, dispatch_uid="portal-audit-owners")
    pre_save.connect(_note_behalf, sender=LogEntry, dispatch_uid="portal-audit-behalf")
    post_save.connect(_file_under_owners, sender=LogEntry, dispatch_uid="portal-audit-owners-filed")


CONCEALED = "(concealed)"


def conceal(value: str) -> str:
    """What the audit log keeps of a secret: that there was one, nothing of it."""
    return "" if value in ("", "None") else CONCEALED


@contextmanager
def on_behalf_of(customer) -> Iterator[None]:
    """Every audit entry written inside notes that its change was made for ``customer``."""
    token = _on_behalf.set({"id": customer.pk, "name": customer.name})
    try:
        yield
    finally:
        _on_behalf.reset(token)


# ------------------------------------------------------------------ whose an object is
def _follow(obj, path: str):
    """The pk at the end of ``path`` ("subscriber__customer"), from the object's own fields."""
    *hops, last = path.split("__")
    for hop in hops:
        if obj is None or getattr(obj, f"{hop}_id", None) is None:
            return None
        try:
            obj = getattr(obj, hop)
        except ObjectDoesNotExist:
            # Deleted in the same cascade (a subscriber's forwards go with it): its own entry
            # is filed under the owners, this one under none.
            return None
    if obj is None:
        return None
    return obj.pk if last == "pk" else getattr(obj, f"{last}_id", None)


def _first(obj, path) -> int | None:
    for one in (path,) if isinstance(path, str) else path:
        value = _follow(obj, one)
        if value is not None:
            return value
    return None


def owners_of(instance) -> dict[str, int]:
    """The customer and reseller ``instance`` belongs to (those it has), as its fields say now.

    A forward's destination or time window belongs to whoever its forward belongs to.
    """
    if not hasattr(instance, "reseller_path") and getattr(instance, "forward_id", None) is not None:
        instance = instance.forward
    owners = {}
    for key, attribute in (("customer", "customer_path"), ("reseller", "reseller_path")):
        path = getattr(instance, attribute, None)
        value = _first(instance, path) if path else None
        if value is not None:
            owners[key] = value
    return owners


def _note_owners(sender, instance, **kwargs) -> None:
    # pre_log comes just before the entry of ``instance`` is made (if there is a change to log).
    key = (ContentType.objects.get_for_model(sender).pk, str(instance.pk))
    _owners_of_next_entry.set((key, owners_of(instance)))


def _note_behalf(sender, instance: LogEntry, **kwargs) -> None:
    behalf = _on_behalf.get()
    if instance.pk is None and behalf is not None:
        instance.additional_data = {**(instance.additional_data or {}), "on_behalf_of": behalf}


def _file_under_owners(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    pending = _owners_of_next_entry.get()
    if not created or pending is None or pending[0] != _entry_key(instance):
        return
    _owners_of_next_entry.set(None)
    owners = pending[1]
    if owners:
        AuditEntryOwner.objects.create(entry=instance, customer_id=owners.get("customer"),
                                       reseller_id=owners.get("reseller"), timestamp=instance.timestamp)


def file_entry(entry: LogEntry, instance) -> None:
    """File an entry written by hand (``LogEntry.objects.log_create``, which sends no
    ``pre_log``) under the owners of ``instance``, as the entries of ordinary changes are."""
    owners = owners_of(instance)
    if owners:
        AuditEntryOwner.objects.create(entry=entry, customer_id=owners.get("customer"),
                                       reseller_id=owners.get("reseller"), timestamp=entry.timestamp)


def entries_of_customer(customer_id: int):
    """Every audit entry filed under the customer (their objects' changes, deleted ones included), newest first."""
    return (LogEntry.objects.filter(owner__customer_id=customer_id)
            .select_related("actor", "content_type").order_by("-owner__timestamp", "-pk"))


# ------------------------------------------------------------------ telling who did it
def actor_words(entry: LogEntry, *, staff_label: str = "staff") -> str:
    """Who made the change, in words: “Dana Shaw (staff) on behalf of Anchor Clinic”.

    ``staff_label`` is how a reseller's people are called to the reader (a customer
    reads the portal's name there, never the platform's).
    """
    actor = entry.actor
    if actor is None:
        return entry.actor_email or "the system"
    name = actor.get_full_name() or actor.email
    behalf = (entry.additional_data or {}).get("on_behalf_of")
    if behalf:
        return f"{name} ({staff_label}) on behalf of {behalf['name']}"
    return name
