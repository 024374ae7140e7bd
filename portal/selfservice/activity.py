"""A customer's activity: their audit trail in words, and the changes still on their way.

The trail is the audit entries the audit log noted as the customer's when it wrote them
(``portal/core/audit.py``: read from the object changed, never from a request), so it
holds exactly the changes made while each object was theirs, deleted ones included.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.urls import reverse

from portal.branding.brand import brand_for_request
from portal.core.audit import CONCEALED, actor_words, entries_of_customer
from portal.customers.models import Customer, CustomerLogin
from portal.forwards.models import CallForward, ForwardDestination, ForwardWindow
from portal.forwards.preview import days, target_words
from portal.numbers.models import EmergencyAddress, Number
from portal.subscribers.models import Subscriber
from portal.sync.models import SyncState
from portal.trunks.models import Trunk
from portal.ui.forms import national_format

from .models import PhoneSettingsLink
from .words import forwards_by_owner, forwards_status, phone_label, status_of

# What the customer's trail shows, and what each kind of object is called there.
LABELS = {
    Customer: "your details",
    CustomerLogin: "login",
    Subscriber: "phone",
    Number: "number",
    EmergencyAddress: "999 address",
    Trunk: "phone system",
    CallForward: "call forward",
    ForwardDestination: "forward destination",
    ForwardWindow: "forward time window",
    PhoneSettingsLink: "phone settings e-mail",
}
# Bookkeeping a customer has no use for.
HIDDEN_FIELDS = {"id", "created_at", "updated_at", "carrier_account", "remote_id", "sync_state", "sync_error",
                 "synced_at", "forward", "position", "reseller", "customer", "user", "password_shown_at",
                 "token_hash", "password_digest", "sent_by", "expires_at", "revealed_at"}
# Fields as the customer's pages call them.
FIELD_LABELS = {"subscriber": "Phone", "trunk": "Phone system", "primary_number": "Main number", "status": "State",
                "enabled": "On", "display_name": "Name", "type": "Kind", "target": "Forward to",
                "timeout": "Ring for (s)", "weekdays": "Days"}
NUMBER_FIELDS = {"destination", "target", "default_cli", "e164"}
VERBS = {LogEntry.Action.CREATE: "Added", LogEntry.Action.UPDATE: "Changed", LogEntry.Action.DELETE: "Removed",
         LogEntry.Action.ACCESS: "Looked at"}


def entries_of(customer):
    """The customer's audit entries, newest first: only of the kinds of object this page tells."""
    types = ContentType.objects.get_for_models(*LABELS).values()
    return entries_of_customer(customer.pk).filter(content_type__in=types).select_related("actor__customer_login")


@dataclass
class Row:
    entry: LogEntry
    what: str
    changes: list[tuple[str, str, str]]
    who: str


def rows(entries, customer, request) -> list[Row]:
    brand = brand_for_request(request)
    names = _names(request, customer)
    return [Row(entry, _what(entry), _changes(entry, names, customer), _who(entry, customer, request, brand.name))
            for entry in entries]


def _names(request, customer) -> dict[tuple[str, str], str]:
    """What the customer calls their phones, phone systems and numbers, by field and pk: a change
    of routing reads “Phone: 201 · Kira → 202 · Ben”. Only the customer's own are named."""
    names = {("subscriber", str(s.pk)): phone_label(s)
             for s in Subscriber.objects.for_request(request).filter(customer=customer)}
    names.update({("trunk", str(t.pk)): t.name for t in Trunk.objects.for_request(request).filter(customer=customer)})
    names.update({("primary_number", str(n.pk)): national_format(n.e164)
                  for n in Number.objects.for_request(request).filter(customer=customer)})
    return names


def _who(entry, customer, request, provider: str) -> str:
    actor = entry.actor
    if actor is None:
        return provider  # the portal itself (an import, a carrier's state adopted)
    if actor.pk == request.user.pk and request.view_as is None:
        return "you"
    login = getattr(actor, "customer_login", None)
    if login is not None and login.customer_id == customer.pk:
        return actor.get_full_name() or actor.email
    if actor.is_superuser:
        return provider
    return actor_words(entry, staff_label=provider) if (entry.additional_data or {}).get("on_behalf_of") else (
        f"{actor.get_full_name() or actor.email} ({provider})")


def _values(entry) -> dict[str, str]:
    """The entry's new values (its old ones for a removal), as strings."""
    index = 0 if entry.action == LogEntry.Action.DELETE else 1
    return {field: values[index] for field, values in (entry.changes_dict or {}).items()}


def _subject(entry) -> str:
    model = entry.content_type.model_class()
    values = _values(entry)
    if model is ForwardDestination and values.get("target"):
        return f"{target_words(values['target'])}, ring {values.get('timeout', '?')} s"
    if model is ForwardWindow and values.get("weekdays"):
        try:
            weekdays = json.loads(values["weekdays"])
        except ValueError:
            weekdays = ast.literal_eval(values["weekdays"])
        return f"{days(weekdays)} {values.get('start', '')[:5]}–{values.get('end', '')[:5]}"
    if model is Number:
        return national_format(entry.object_repr)
    if model is CallForward:
        kind, _, owner = entry.object_repr.partition(" forward of ")
        return f"“{kind}” on {national_format(owner) if owner.startswith('+') else owner}"
    if model is CustomerLogin:
        return entry.object_repr.split(" for ")[0]
    return entry.object_repr


def _what(entry) -> str:
    label = LABELS.get(entry.content_type.model_class(), "item")
    return f"{VERBS.get(entry.action, 'Changed')} {label}: {_subject(entry)}"


def _changes(entry, names: dict, customer) -> list[tuple[str, str, str]]:
    """Each changed field as (label, before, after); only for changes (adds and removals say it all).

    A change that brought the object to this customer (a number given to them) shows no
    "before": that was another customer's.
    """
    if entry.action != LogEntry.Action.UPDATE:
        return []
    model = entry.content_type.model_class()
    recorded = entry.changes_dict or {}
    came_from_elsewhere = "customer" in recorded and recorded["customer"][0] != str(customer.pk)
    changes = []
    for name, (before, after) in recorded.items():
        if came_from_elsewhere:
            before = "None"
        if name in HIDDEN_FIELDS:
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        label = FIELD_LABELS.get(name) or str(getattr(field, "verbose_name", name))
        label = label[:1].upper() + label[1:]
        if field.is_relation:
            before, after = (names.get((name, value), "another") if value not in ("None", "") else ""
                             for value in (before, after))
        elif field.choices:
            names = {str(value): str(text) for value, text in field.choices}
            before, after = names.get(before, before), names.get(after, after)
        elif after == CONCEALED:
            before, after = ("the old one" if before else ""), "a new one"
        elif name in NUMBER_FIELDS:
            before, after = (target_words(value) if value not in ("None", "") else "" for value in (before, after))
        changes.append((label, _plain(before), _plain(after)))
    return changes


def _plain(value: str) -> str:
    if value in ("None", ""):
        return "—"
    if value in ("True", "False"):
        return "on" if value == "True" else "off"
    return value


# ------------------------------------------------------------------ what is still on its way
@dataclass
class Pending:
    label: str
    url: str
    status: object
    kind: str
    pk: int


def pending_changes(request, customer) -> list[Pending]:
    """The customer's things whose last change the carrier has not confirmed (or refused)."""
    unsettled = {"sync_state__in": [SyncState.PENDING, SyncState.SYNCING, SyncState.ERROR],
                 "carrier_account__isnull": False}
    found = []
    for number in Number.objects.for_request(request).filter(customer=customer, **unsettled):
        found.append(Pending(national_format(number.e164), reverse("selfservice_number", args=[number.pk]),
                             status_of(number), "number", number.pk))
    for subscriber in Subscriber.objects.for_request(request).filter(customer=customer, **unsettled):
        found.append(Pending(f"Phone {subscriber.username}", reverse("selfservice_phone", args=[subscriber.pk]),
                             status_of(subscriber), "phone", subscriber.pk))
    for trunk in Trunk.objects.for_request(request).filter(customer=customer, **unsettled):
        found.append(Pending(f"Phone system {trunk.name}", reverse("selfservice_trunk", args=[trunk.pk]),
                             status_of(trunk), "trunk", trunk.pk))
    forwards = CallForward.objects.for_request(request).filter(**unsettled).select_related("subscriber", "number")
    mine = forwards.filter(subscriber__customer=customer) | forwards.filter(number__customer=customer)
    for (kind, pk), rows_ in forwards_by_owner(mine).items():
        owner = rows_[0].owner
        if kind == "number":
            label, url, status_kind = national_format(owner.e164), reverse("selfservice_number", args=[pk]), "number"
        else:
            label, url, status_kind = f"Phone {owner.username}", reverse("selfservice_phone", args=[pk]), "phone"
        found.append(Pending(f"Call forwards of {label}", url, forwards_status(rows_), f"{status_kind}-forwards", pk))
    return found
