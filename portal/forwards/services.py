"""Call forwards: an owner's whole set is written at once. The only writers of forwards.

Everything is checked before anything is saved: each destination and time window, the
loop back to the owner's own number, and what the owner's carrier can hold (a time
window on a carrier without them is refused with the reason, never silently dropped).
"""

from __future__ import annotations

import datetime as dt
import logging
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
from .preview import dates_words
from .validation import local_now, validate_destinations, validate_window, window_span

DEFAULT_TIMEZONE = "Europe/London"


@dataclass
class WindowInput:
    """A weekly window, or (with dates) one stretch from ``start_date`` at ``start`` to
    ``end_date`` at ``end``: a holiday. No weekdays then."""

    weekdays: list[int]
    start: dt.time
    end: dt.time
    timezone: str = "Europe/London"
    start_date: dt.date | None = None
    end_date: dt.date | None = None

    @property
    def dated(self) -> bool:
        return self.start_date is not None

    def key(self) -> tuple:
        return (tuple(self.weekdays), self.start, self.end, self.timezone, self.start_date, self.end_date)

    def is_over(self) -> bool:
        """A dated window whose end has passed, on the clock of its time zone."""
        return self.dated and window_span(self.start_date, self.start, self.end_date, self.end)[1] <= local_now(
            self.timezone)

    def spec(self) -> TimeWindow:
        if self.dated:
            return TimeWindow([], f"{self.start:%H:%M}", f"{self.end:%H:%M}", self.timezone,
                              start_date=self.start_date.isoformat(), end_date=self.end_date.isoformat())
        return TimeWindow(list(self.weekdays), f"{self.start:%H:%M}", f"{self.end:%H:%M}", self.timezone)


@dataclass
class ForwardInput:
    type: str
    enabled: bool = True
    destinations: list[tuple[str, int]] = field(default_factory=list)
    windows: list[WindowInput] = field(default_factory=list)


log = logging.getLogger(__name__)

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
        ForwardSpec(f.type, f.enabled, [Destination(t, s) for t, s in f.destinations], [w.spec() for w in f.windows])
        for f in forwards
    ]


def saved_windows(owner) -> dict[str, set[tuple]]:
    """The keys of the owner's saved windows, by forward type: a dated window that is over
    may stay as it was saved, but not be set anew."""
    return {forward.type: {window.key() for window in forward.windows} for forward in current_forwards(owner)}


def _validated(owner, forwards: list[ForwardInput], *, past_allowed: bool = False) -> list[ForwardInput]:
    errors: list[ValidationError] = []
    seen: set[str] = set()
    own = _owner_numbers(owner)
    saved = {} if past_allowed else saved_windows(owner)
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
                validate_window(window.weekdays, window.start, window.end, window.timezone, window.start_date,
                                window.end_date)
            except ValidationError as exc:
                errors.extend(ValidationError(f"Forward “{label}”: {m}") for m in exc.messages)
                continue
            if not past_allowed and window.is_over() and window.key() not in saved.get(forward.type, set()):
                errors.append(ValidationError(f"Forward “{label}”: {dates_words(window.spec())} is over already: "
                                              "choose dates to come."))
        cleaned.append(ForwardInput(forward.type, forward.enabled, destinations, forward.windows))
    if errors:
        raise ValidationError(errors)
    caps = capabilities_of(owner)
    if caps is not None:
        problems = check_forwards(caps, owner_kind(owner), to_specs(cleaned), today=local_now(DEFAULT_TIMEZONE).date())
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
    cleaned = _validated(owner, forwards, past_allowed=not sync)
    kind = owner_kind(owner)
    with change_by(actor):
        # The owner's row first (the lock order of every writer): two people setting one
        # owner's forwards at once take turns, the second working on the first's saved set.
        if not type(owner).objects.select_for_update(no_key=True).filter(pk=owner.pk).exists():
            raise ValidationError(f"This {'SIP account' if kind == 'subscriber' else kind} was deleted meanwhile.")
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
                    forward=forward, weekdays=[] if w.dated else w.weekdays, start=w.start, end=w.end,
                    timezone=w.timezone, start_date=w.start_date, end_date=w.end_date,
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
            [WindowInput(list(w.weekdays), w.start, w.end, w.timezone, w.start_date, w.end_date)
             for w in f.windows.all()],
        )
        for f in CallForward.objects.filter(**{kind: owner}).prefetch_related("destinations", "windows")
    ]


def end_past_windows(*, actor=None) -> int:
    """Clear the dated windows that are over, and switch off a forward left without any.

    A holiday forward applies only on its dates; once they are over it must not apply
    again. A carrier whose dates have no year (Simwood) would bring them round next year,
    and a forward whose only window went would otherwise apply at all times. Run hourly
    (beat); returns how many owners' forwards changed (each pushed to its carrier).
    """
    soon = local_now(DEFAULT_TIMEZONE).date() + dt.timedelta(days=1)  # any zone's today is at most this
    over = [w for w in ForwardWindow.objects.filter(end_date__lte=soon).select_related("forward")
            if window_span(w.start_date, w.start, w.end_date, w.end)[1] <= local_now(w.timezone)]
    owners = {(w.forward.owner_kind, w.forward.subscriber_id or w.forward.number_id): w.forward for w in over}
    changed = 0
    for forward in owners.values():
        owner = forward.owner
        updated = []
        for item in current_forwards(owner):
            left = [w for w in item.windows if not w.is_over()]
            if len(left) < len(item.windows):
                item = ForwardInput(item.type, item.enabled and bool(left), item.destinations, left)
            updated.append(item)
        try:
            set_forwards(owner, updated, actor=actor)
        except ValidationError as exc:  # the rest of the set no longer fits its carrier: a person decides
            log.warning("the forwards of %s keep a window that is over: %s", owner, " ".join(exc.messages))
            continue
        changed += 1
    return changed
