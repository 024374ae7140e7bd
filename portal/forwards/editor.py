"""The call-forward editor: one reusable component for staff and self-service pages.

``ForwardEditor(owner, request, data)`` holds an owner's forwards (a subscriber's or a
number's) as the person is editing them: ordered destinations with ring timeouts, weekly
time windows picked by weekday, presets. It offers only what the owner's carrier can hold
(``Capabilities``) and says why the rest is not offered. Buttons (add, remove, move up or
down, presets) post the whole editor back and get it re-rendered without saving, so it
works from the keyboard and without JavaScript. ``save`` writes through
``services.set_forwards``; the preview is built from the same ``ForwardSpec``s the
carrier payload is built from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError

from portal.carriers.base import FORWARD_TYPES, Capabilities
from portal.ui.forms import DestinationField, TimeField, WeekdaysField, region_of

from . import services
from .models import MAX_DESTINATIONS, MAX_RING_TIMEOUT, MIN_RING_TIMEOUT, ForwardType
from .preview import describe

DEFAULT_TIMEOUT = 20
DEFAULT_TIMEZONE = "Europe/London"
OFFICE_DAYS = [0, 1, 2, 3, 4]
OFFICE_START, OFFICE_END = dt.time(9, 0), dt.time(17, 30)
END_OF_DAY = dt.time(23, 59)

HELP = {
    "unconditional": "Every call goes here instead of ringing the phones.",
    "busy": "Used when the line is already on a call.",
    "no_answer": "Used when nobody answers in time.",
    "unavailable": "Used when no phone is registered (offline, no network).",
}


class DestinationForm(forms.Form):
    target = DestinationField(label="Forward to", help_text="")
    timeout = forms.IntegerField(label="Ring for (s)", min_value=MIN_RING_TIMEOUT, max_value=MAX_RING_TIMEOUT,
                                 initial=DEFAULT_TIMEOUT, widget=forms.NumberInput(attrs={"inputmode": "numeric"}))


class WindowForm(forms.Form):
    days = WeekdaysField(label="Days")
    start = TimeField(label="From")
    end = TimeField(label="Until")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] >= cleaned["end"]:
            self.add_error("end", "Must be after the start.")
        return cleaned


@dataclass
class Section:
    """One forward type as it is being edited."""

    type: str
    enabled: bool = False
    destinations: list[dict] = field(default_factory=list)  # {"target", "timeout"}
    windows: list[dict] = field(default_factory=list)  # {"days", "start", "end"}
    timezone: str = DEFAULT_TIMEZONE
    errors: list[str] = field(default_factory=list)
    destination_forms: list[DestinationForm] = field(default_factory=list)
    window_forms: list[WindowForm] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ForwardType(self.type).label

    @property
    def help(self) -> str:
        return HELP[self.type]


def offer(owner) -> tuple[list[str], list[str]]:
    """The forward types the owner's carrier can hold, and why the others are not offered."""
    account = owner.carrier_account if owner.carrier_account_id else None
    caps, carrier, kind = (account.capabilities if account else None), (account.get_kind_display() if account else ""), services.owner_kind(owner)
    if caps is None:
        return [], ["This is on no carrier account, so no forward can be sent anywhere."]
    if not caps.forwards:
        return [], [f"{carrier} holds no call forwards through its API."]
    if kind not in caps.forward_owners:
        where = " or ".join(sorted(caps.forward_owners)) or "nothing"
        return [], [f"{carrier} holds call forwards on a {where}, not on a {kind}."]
    offered = [t for t in FORWARD_TYPES if t in caps.forward_types]
    reasons = [f"“{ForwardType(t).label}” is not offered: {carrier} has no such forward."
               for t in FORWARD_TYPES if t not in caps.forward_types]
    if not caps.time_windows:
        reasons.append(f"Time windows (office hours) are not offered: {carrier} cannot limit a forward to times.")
    if not caps.ring_timeouts:
        reasons.append(f"Ring times are not offered: {carrier} rings each destination for its own fixed time.")
    return offered, reasons


class ForwardEditor:
    def __init__(self, owner, request, data=None):
        self.owner = owner
        self.request = request
        self.kind = services.owner_kind(owner)
        account = owner.carrier_account if owner.carrier_account_id else None
        self.carrier = account.get_kind_display() if account else ""
        self.caps: Capabilities | None = account.capabilities if account else None
        customer = owner.customer if getattr(owner, "customer_id", None) else None
        self.region = region_of(customer)
        self.errors: list[str] = []
        self.saved = False
        self.types, self.not_offered = offer(owner)
        current = {f.type: f for f in services.current_forwards(owner)}
        if data is None:
            self.sections = [self._from_input(t, current.get(t)) for t in self.types]
        else:
            self.sections = [self._from_post(t, data) for t in self.types]
        # Forwards of types this editor does not offer are written back unchanged.
        self.kept = [current[t] for t in current if t not in self.types]
        self._build_forms(bound=False)

    @property
    def max_destinations(self) -> int:
        return min(self.caps.max_destinations, MAX_DESTINATIONS) if self.caps else 0

    @property
    def windows_offered(self) -> bool:
        return bool(self.caps and self.caps.time_windows)

    # -- state from the database or the post ----------------------------------------
    def _from_input(self, type_: str, forward) -> Section:
        if forward is None:
            return Section(type_, destinations=[{"target": "", "timeout": DEFAULT_TIMEOUT}])
        return Section(
            type_,
            enabled=forward.enabled,
            destinations=[{"target": _as_typed(t), "timeout": s} for t, s in forward.destinations]
            or [{"target": "", "timeout": DEFAULT_TIMEOUT}],
            windows=[{"days": list(w.weekdays), "start": w.start, "end": w.end} for w in forward.windows],
            timezone=forward.windows[0].timezone if forward.windows else DEFAULT_TIMEZONE,
        )

    def _from_post(self, type_: str, data) -> Section:
        targets = data.getlist(f"{type_}-target")
        timeouts = data.getlist(f"{type_}-timeout")
        destinations = [{"target": t.strip(), "timeout": timeouts[i] if i < len(timeouts) else DEFAULT_TIMEOUT}
                        for i, t in enumerate(targets)]
        count = data.get(f"{type_}-windows", "0")
        windows = []
        for i in range(min(int(count) if count.isdigit() else 0, 10)):
            windows.append({"days": data.getlist(f"{type_}-w{i}-days"), "start": data.get(f"{type_}-w{i}-start", ""),
                            "end": data.get(f"{type_}-w{i}-end", "")})
        return Section(type_, enabled=data.get(f"{type_}-enabled") == "on", destinations=destinations,
                       windows=windows, timezone=data.get(f"{type_}-timezone") or DEFAULT_TIMEZONE)

    def _build_forms(self, bound: bool) -> None:
        for section in self.sections:
            section.destination_forms = [
                self._destination_form(section.type, i, row, bound) for i, row in enumerate(section.destinations)
            ]
            section.window_forms = []
            for i, row in enumerate(section.windows):
                form = WindowForm(**self._bind(f"{section.type}-w{i}", row, bound, {"days": row["days"]}))
                form.day_values = {str(d) for d in row["days"]}
                form.start_text, form.end_text = _hhmm(row["start"]), _hhmm(row["end"])
                section.window_forms.append(form)

    def _destination_form(self, type_, i, row, bound) -> DestinationForm:
        form = DestinationForm(**self._bind(f"{type_}-d{i}", row, bound, {}))
        form.fields["target"].region = self.region
        return form

    @staticmethod
    def _bind(prefix: str, row: dict, bound: bool, lists: dict) -> dict:
        if not bound:
            return {"prefix": prefix, "initial": row}
        data = {f"{prefix}-{k}": v for k, v in row.items() if k not in lists}
        from django.utils.datastructures import MultiValueDict

        multi = MultiValueDict({k: [v] for k, v in data.items()})
        for k, values in lists.items():
            multi.setlist(f"{prefix}-{k}", [str(v) for v in values])
        return {"prefix": prefix, "data": multi}

    # -- the buttons ---------------------------------------------------------------
    def apply(self, op: str) -> None:
        """A button other than save: change the state; nothing is validated or saved."""
        parts = op.split(":")
        section = next((s for s in self.sections if s.type == (parts[1] if len(parts) > 1 else "")), None)
        if section is None:
            return
        index = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1
        rows = section.destinations
        verb = parts[0]
        if verb == "add-destination" and len(rows) < self.max_destinations:
            rows.append({"target": "", "timeout": DEFAULT_TIMEOUT})
            section.enabled = True
        elif verb == "remove-destination" and 0 <= index < len(rows):
            rows.pop(index)
        elif verb == "up" and 0 < index < len(rows):
            rows[index - 1], rows[index] = rows[index], rows[index - 1]
        elif verb == "down" and 0 <= index < len(rows) - 1:
            rows[index + 1], rows[index] = rows[index], rows[index + 1]
        elif verb == "add-window" and self.windows_offered:
            section.windows.append({"days": OFFICE_DAYS, "start": OFFICE_START, "end": OFFICE_END})
        elif verb == "remove-window" and 0 <= index < len(section.windows):
            section.windows.pop(index)
        elif verb == "office-hours" and self.windows_offered:
            section.windows = [{"days": OFFICE_DAYS, "start": OFFICE_START, "end": OFFICE_END}]
            section.enabled = True
        elif verb == "after-hours" and self.windows_offered:
            section.windows = [
                {"days": OFFICE_DAYS, "start": dt.time(0, 0), "end": OFFICE_START},
                {"days": OFFICE_DAYS, "start": OFFICE_END, "end": END_OF_DAY},
                {"days": [5, 6], "start": dt.time(0, 0), "end": END_OF_DAY},
            ]
            section.enabled = True
        elif verb == "always":
            section.windows = []
        self._build_forms(bound=False)

    # -- save ----------------------------------------------------------------------
    def inputs(self) -> list[services.ForwardInput] | None:
        """Validated inputs for the service, or None with the errors next to their rows."""
        self._build_forms(bound=True)
        valid = True
        inputs = []
        for section in self.sections:
            destinations, windows = [], []
            for form in section.destination_forms:
                if not form.has_changed() and not form.data.get(f"{form.prefix}-target"):
                    continue  # an empty row is no destination
                if form.is_valid():
                    timeout = form.cleaned_data["timeout"] if self.caps.ring_timeouts else DEFAULT_TIMEOUT
                    destinations.append((form.cleaned_data["target"], timeout))
                else:
                    valid = False
            for form in section.window_forms:
                if form.is_valid():
                    windows.append(services.WindowInput(form.cleaned_data["days"], form.cleaned_data["start"],
                                                        form.cleaned_data["end"], section.timezone))
                else:
                    valid = False
            if section.enabled and not destinations:
                section.errors.append("Add where calls go, or switch this forward off.")
                valid = False
            if section.enabled or destinations:
                inputs.append(services.ForwardInput(section.type, section.enabled, destinations, windows))
        if not valid:
            return None
        return inputs + self.kept

    def save(self, actor) -> bool:
        inputs = self.inputs()
        if inputs is None:
            return False
        try:
            services.set_forwards(self.owner, inputs, actor=actor)
        except ValidationError as exc:
            self._place_errors(exc.messages)
            return False
        self.saved = True
        return True

    def _place_errors(self, messages: list[str]) -> None:
        """A service error that names a forward goes to that forward; the rest above the editor."""
        for message in messages:
            section = next((s for s in self.sections if message.startswith(f"Forward “{s.label}”: ")), None)
            if section is not None:
                section.errors.append(message.split(": ", 1)[1])
            else:
                self.errors.append(message)

    # -- the preview ---------------------------------------------------------------
    def preview(self) -> list[str]:
        """What will happen, in plain words, from the specs the carrier would be sent."""
        specs = []
        for section in self.sections:
            destinations = [(row["target"], _int(row["timeout"])) for row in section.destinations if row["target"]]
            windows = [services.WindowInput(_days(row["days"]), _time(row["start"]), _time(row["end"]),
                                            section.timezone)
                       for row in section.windows if _days(row["days"]) and _time(row["start"]) and _time(row["end"])]
            if section.enabled or destinations:
                specs.append(services.ForwardInput(section.type, section.enabled, destinations, windows))
        return describe(services.to_specs(specs), owner_words(self.owner), self.region)


def _days(values) -> list[int]:
    """The weekdays among what was posted (anything else is the form's to refuse)."""
    return [int(value) for value in values if str(value) in {"0", "1", "2", "3", "4", "5", "6"}]


def owner_words(owner) -> str:
    from portal.ui.forms import national_format

    if services.owner_kind(owner) == "number":
        return national_format(owner.e164)
    return f"SIP account {owner.username}" + (f" ({owner.display_name})" if owner.display_name else "")


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT


def _time(value):
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        return None


def _hhmm(value) -> str:
    return value.strftime("%H:%M") if isinstance(value, dt.time) else str(value or "")


def _as_typed(target: str) -> str:
    """A stored destination as a person would type it again (E.164 → national)."""
    from portal.ui.forms import national_format

    return target if target.lower().startswith(("sip:", "sips:")) else national_format(target)
