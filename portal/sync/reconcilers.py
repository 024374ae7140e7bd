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

import ipaddress
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from portal.carriers.base import Capabilities, CarrierAdapter, ForwardSpec

from .models import SyncState
from .objects import KINDS

# A change on its way to the carrier is not drift: the push will make them equal.
IN_FLIGHT = (SyncState.PENDING, SyncState.SYNCING)


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


# ------------------------------------------------------------------ the kinds
class ObjectReconciler:
    """Customers, subscribers, numbers and trunks: objects with a remote id of their own."""

    name: str = ""
    forwards = False  # the kind of an owner's whole set of forwards (portal/forwards/sync.py)
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
    def adopt(self, obj, *, remote_id: str, theirs: dict, fields: Iterable[str], parents, actor):
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


# ------------------------------------------------------------------ the registry
OBJECT_RECONCILERS: list[ObjectReconciler] = []
FORWARD_RECONCILERS: list = []  # ForwardsReconciler (portal/forwards/sync.py): .forwards is True
RECONCILERS: dict[str, Any] = {}
_parents: list[type] = []


def register(reconciler, *, forwards: bool = False) -> None:
    """Make a kind's reconciler known; in registration order (the order an import needs)."""
    (FORWARD_RECONCILERS if forwards else OBJECT_RECONCILERS).append(reconciler)
    RECONCILERS[reconciler.name] = reconciler


def register_parents(parents: type) -> None:
    """What finds (or makes) the customer an imported object goes to (customers' ``Parents``)."""
    _parents[:] = [parents]


def parents_for(account, actor=None):
    """A ``Parents`` for one resolution batch of ``account``."""
    return _parents[0](account, actor)
