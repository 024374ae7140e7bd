"""Call forwards: an owner's whole set is written at once. The only writers of forwards.

Everything is checked before anything is saved: each destination and time window, the
loop back to the owner's own number, and what the owner's carrier can hold (a time
window on a carrier without them is refused with the reason, never silently dropped).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.carriers.base import Destination, ForwardSpec, TimeWindow, check_forwards
from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from portal.sync.models import SyncState
from portal.sync.outbox import record_change
from portal.sync.provisioning import capabilities_of, change_by, service

from .models import CallForward, ForwardDestination, ForwardType, ForwardWindow
from .validation import validate_destinations, validate_window


@dataclass
class WindowInput:
    weekdays: list[int]
    start: dt.time
    end: dt.time
    timezone: str = "Europe/London"


@dataclass
class ForwardInput:
    type: str
    enabled: bool = True
    destinations: list[tuple[str, int]] = field(default_factory=list)
    windows: list[WindowInput] = field(default_factory=list)


DESTINATION_IS_FORWARD = (
    "a number's destination is its always-on forward here: clear the number's destination "
    "or switch the always-on forward off"
)


def owner_kind(owner) -> str:
    if isinstance(owner, Subscriber):
        return "subscriber"
    if isinstance(owner, Number):
        return "number"
    raise TypeError(f"a call forward cannot belong to {type(owner).__name__}")


def _owner_numbers(owner) -> set[str]:
    if isinstance(owner, Number):
        return {owner.e164}
    return set(owner.numbers.values_list("e164", flat=True))


def to_specs(forwards: list[ForwardInput]) -> list[ForwardSpec]:
    """Forward inputs as the specs a carrier is sent (and the editor's preview is told from)."""
    return [
        ForwardSpec(
            f.type,
            f.enabled,
            [Destination(t, s) for t, s in f.destinations],
            [TimeWindow(list(w.weekdays), f"{w.start:%H:%M}", f"{w.end:%H:%M}", w.timezone) for w in f.windows],
        )
        for f in forwards
    ]


def _validated(owner, forwards: list[ForwardInput]) -> list[ForwardInput]:
    errors: list[ValidationError] = []
    seen: set[str] = set()
    own = _owner_numbers(owner)
    cleaned: list[ForwardInput] = []
    for forward in forwards:
        label = ForwardType(forward.type).label if forward.type in ForwardType.values else forward.type
        if forward.type not in ForwardType.values:
            errors.append(ValidationError(f"“{forward.type}” is not a kind of forward."))
            continue
        if forward.type in seen:
            errors.append(ValidationError(f"There is already a forward “{label}”."))
            continue
        seen.add(forward.type)
        if forward.enabled and not forward.destinations:
            errors.append(ValidationError(f"Forward “{label}”: add at least one destination."))
        try:
            destinations = validate_destinations(forward.destinations, own)
        except ValidationError as exc:
            errors.extend(ValidationError(f"Forward “{label}”: {m}") for m in exc.messages)
            destinations = []
        for window in forward.windows:
            try:
                validate_window(window.weekdays, window.start, window.end, window.timezone)
            except ValidationError as exc:
                errors.extend(ValidationError(f"Forward “{label}”: {m}") for m in exc.messages)
        cleaned.append(ForwardInput(forward.type, forward.enabled, destinations, forward.windows))
    if errors:
        raise ValidationError(errors)
    caps = capabilities_of(owner)
    if caps is not None:
        problems = check_forwards(caps, owner_kind(owner), to_specs(cleaned))
        if caps.forward_is_destination and isinstance(owner, Number) and owner.destination:
            if any(f.type == ForwardType.UNCONDITIONAL and f.enabled for f in cleaned):
                problems.append(DESTINATION_IS_FORWARD)
        if problems:
            carrier = owner.carrier_account.get_kind_display()
            raise ValidationError([f"{carrier}: {p}." for p in problems])
    return cleaned


@service
def set_forwards(owner, forwards: list[ForwardInput], *, actor=None, sync: bool = True) -> list[CallForward]:
    """Make the owner's forwards exactly ``forwards`` (types not listed are removed).

    ``sync=False``: these are the forwards the carrier holds (reconciliation adopting
    them, an import): they are saved as synced and nothing is queued.
    """
    cleaned = _validated(owner, forwards)
    kind = owner_kind(owner)
    with change_by(actor):
        existing = {f.type: f for f in CallForward.objects.filter(**{kind: owner})}
        kept: list[CallForward] = []
        for item in cleaned:
            forward = existing.pop(item.type, None) or CallForward(**{kind: owner}, type=item.type)
            forward.enabled = item.enabled
            forward.carrier_account = owner.carrier_account
            if sync:
                forward.save()
            else:
                forward.remote_id = owner.remote_id
                forward.sync_state, forward.sync_error, forward.synced_at = SyncState.SYNCED, "", timezone.now()
                forward.save_as_carrier_holds_it()
            forward.destinations.all().delete()
            forward.windows.all().delete()
            # One by one (not bulk_create) so the audit log records each row.
            for position, (target, timeout) in enumerate(item.destinations):
                ForwardDestination.objects.create(forward=forward, position=position, target=target, timeout=timeout)
            for w in item.windows:
                ForwardWindow.objects.create(
                    forward=forward, weekdays=w.weekdays, start=w.start, end=w.end, timezone=w.timezone
                )
            kept.append(forward)
        for gone in existing.values():
            gone.delete()
        if sync:
            record_change(owner, kind=f"{kind}_forwards", actor=actor)
    return kept


def current_forwards(owner) -> list[ForwardInput]:
    """The owner's forwards as inputs, e.g. to change one and write the set back."""
    kind = owner_kind(owner)
    return [
        ForwardInput(
            f.type,
            f.enabled,
            [(d.target, d.timeout) for d in f.destinations.all()],
            [WindowInput(list(w.weekdays), w.start, w.end, w.timezone) for w in f.windows.all()],
        )
        for f in CallForward.objects.filter(**{kind: owner}).prefetch_related("destinations", "windows")
    ]
