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

from portal.carriers.base import FORWARD_TYPES, Capabilities, check_date_window
from portal.ui.forms import DestinationField, TimeField, WeekdaysField, region_of

from . import services
from .models import MAX_DESTINATIONS, MAX_RING_TIMEOUT, MIN_RING_TIMEOUT, ForwardType
from .preview import describe
from .validation import local_now, window_span

DATED_FIELDS = ("start_date", "start_time", "end_date", "end_time")
FIELD_OF_PART = {"start": "start_time", "end": "end_time"}  # a TimeWindow's times, as this form names them
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


class DatedWindowForm(forms.Form):
    """A holiday: from a date (and time) until a date (and time). With no times it runs from
    the start of the first day to the end of the last; stored with the end exclusive (to
    the end of 2 Jan is 3 Jan at 00:00)."""

    start_date = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start_time = TimeField(label="at", required=False)
    end_date = forms.DateField(label="Until", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end_time = TimeField(label="at", required=False)

    def __init__(self, *args, editor=None, section=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editor, self.section = editor, section

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("start_date") and cleaned.get("end_date")):
            return cleaned
        window = dated_input(cleaned, self.section.timezone)
        start, end = window_span(window.start_date, window.start, window.end_date, window.end)
        if end <= start:
            self.add_error("end_date", "Must be after the start.")
            return cleaned
        if window.is_over() and window.key() not in self.editor.saved_windows.get(self.section.type, set()):
            self.add_error("end_date", "This is over already: choose dates to come.")
        for part, reason in check_date_window(self.editor.caps, window.spec(), local_now(self.section.timezone).date()):
            self.add_error(FIELD_OF_PART.get(part, part), f"{self.editor.carrier}: {reason}.")
        cleaned["window"] = window
        return cleaned


def dated_input(cleaned: dict, timezone: str) -> services.WindowInput:
    """A holiday as typed (end date inclusive, times optional) as the service takes it."""
    start_time = cleaned.get("start_time") or dt.time(0)
    if cleaned.get("end_time") is not None:
        end_date, end_time = cleaned["end_date"], cleaned["end_time"]
    else:
        end_date, end_time = cleaned["end_date"] + dt.timedelta(days=1), dt.time(0)
    return services.WindowInput([], start_time, end_time, timezone, cleaned["start_date"], end_date)


def dated_row(window: services.WindowInput) -> dict:
    """A saved holiday as the editor shows it: a midnight start or end is left without a time."""
    row = {"start_date": window.start_date, "start_time": "" if window.start == dt.time(0) else window.start,
           "end_date": window.end_date, "end_time": window.end}
    if window.end == dt.time(0) and window.end_date > window.start_date:
        row.update(end_date=window.end_date - dt.timedelta(days=1), end_time="")
    return row


@dataclass
class Section:
    """One forward type as it is being edited."""

    type: str
    enabled: bool = False
    destinations: list[dict] = field(default_factory=list)  # {"target", "timeout"}
    windows: list[dict] = field(default_factory=list)  # {"days", "start", "end"}
    dated: list[dict] = field(default_factory=list)  # {"start_date", "start_time", "end_date", "end_time"}
    timezone: str = DEFAULT_TIMEZONE
    errors: list[str] = field(default_factory=list)
    destination_forms: list[DestinationForm] = field(default_factory=list)
    window_forms: list[WindowForm] = field(default_factory=list)
    dated_forms: list[DatedWindowForm] = field(default_factory=list)

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
    if not caps.time_windows and not caps.date_windows:
        reasons.append(f"Time windows (office hours, holidays) are not offered: {carrier} cannot limit a forward "
                       "to times or dates.")
    elif not caps.time_windows:
        reasons.append(f"Weekly time windows (office hours) are not offered: {carrier} cannot limit a forward to "
                       "times of the week.")
    elif not caps.date_windows:
        reasons.append(f"Holidays (from a date to a date) are not offered: {carrier} cannot limit a forward to dates.")
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
        # A holiday that is over may stay as it was saved (the hourly clean-up takes it), not be set anew.
        self.saved_windows = {t: {w.key() for w in f.windows} for t, f in current.items()}
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

    @property
    def dates_offered(self) -> bool:
        return bool(self.caps and self.caps.date_windows)

    @property
    def dates_note(self) -> str:
        """What a person must know about this carrier's holidays."""
        if not (self.dates_offered and self.caps.dates_repeat_yearly):
            return ""
        return (f"{self.carrier}'s rules have days and months but no year: a holiday must last less than a year "
                "and end within one. The portal clears its dates once it is over, so it does not come round again.")

    # -- state from the database or the post ----------------------------------------
    def _from_input(self, type_: str, forward) -> Section:
        if forward is None:
            return Section(type_, destinations=[{"target": "", "timeout": DEFAULT_TIMEOUT}])
        return Section(
            type_,
            enabled=forward.enabled,
            destinations=[{"target": _as_typed(t), "timeout": s} for t, s in forward.destinations]
            or [{"target": "", "timeout": DEFAULT_TIMEOUT}],
            windows=[{"days": list(w.weekdays), "start": w.start, "end": w.end} for w in forward.windows if not w.dated],
            dated=[dated_row(w) for w in forward.windows if w.dated],
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
        count = data.get(f"{type_}-holidays", "0")
        dated = [{name: data.get(f"{type_}-h{i}-{name}", "").strip() for name in DATED_FIELDS}
                 for i in range(min(int(count) if count.isdigit() else 0, 10))]
        return Section(type_, enabled=data.get(f"{type_}-enabled") == "on", destinations=destinations,
                       windows=windows, dated=dated, timezone=data.get(f"{type_}-timezone") or DEFAULT_TIMEZONE)

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
            section.dated_forms = []
            for i, row in enumerate(section.dated):
                form = DatedWindowForm(editor=self, section=section, **self._bind(f"{section.type}-h{i}", row, bound, {}))
                form.texts = {name: _as_text(row[name]) for name in DATED_FIELDS}
                section.dated_forms.append(form)

    def _destination_form(self, type_, i, row, bound) -> DestinationForm:
        # An empty row is no destination: never validated, so never shown as "required" either.
        bound = bound and bool(str(row["target"]).strip())
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
        elif verb == "holiday" and self.dates_offered:
            first = local_now(section.timezone).date() + dt.timedelta(days=1)
            section.dated.append({"start_date": first, "start_time": "", "end_date": first + dt.timedelta(days=6),
                                  "end_time": ""})
            section.enabled = True
        elif verb == "remove-holiday" and 0 <= index < len(section.dated):
            section.dated.pop(index)
        elif verb == "always":
            section.windows, section.dated = [], []
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
                if not form.is_bound:
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
            for form in section.dated_forms:
                if form.is_valid():
                    windows.append(form.cleaned_data["window"])
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
                continue
            # What the carrier cannot hold names the forward by its type ("a no-answer forward can have …").
            section = next((s for s in self.sections if f"{s.type.replace('_', '-')} forward" in message), None)
            (section.errors if section is not None else self.errors).append(message)

    # -- the preview ---------------------------------------------------------------
    def preview(self) -> list[str]:
        """What will happen, in plain words, from the specs the carrier would be sent."""
        specs = []
        for section in self.sections:
            destinations = [(row["target"], _int(row["timeout"])) for row in section.destinations if row["target"]]
            windows = [services.WindowInput(_days(row["days"]), _time(row["start"]), _time(row["end"]),
                                            section.timezone)
                       for row in section.windows if _days(row["days"]) and _time(row["start"]) and _time(row["end"])]
            windows += [window for window in (_dated(row, section.timezone) for row in section.dated) if window]
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


def _dated(row: dict, timezone: str) -> services.WindowInput | None:
    """A holiday row for the preview, if it reads as one (dates, and a start before its end)."""
    values = {"start_date": _date(row["start_date"]), "end_date": _date(row["end_date"]),
              "start_time": _time(row["start_time"]) if row["start_time"] else None,
              "end_time": _time(row["end_time"]) if row["end_time"] else None}
    if values["start_date"] is None or values["end_date"] is None:
        return None
    window = dated_input(values, timezone)
    start, end = window_span(window.start_date, window.start, window.end_date, window.end)
    return window if start < end else None


def _date(value):
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _as_text(value) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    return _hhmm(value)


def _hhmm(value) -> str:
    return value.strftime("%H:%M") if isinstance(value, dt.time) else str(value or "")


def _as_typed(target: str) -> str:
    """A stored destination as a person would type it again (E.164 → national)."""
    from portal.ui.forms import national_format

    return target if target.lower().startswith(("sip:", "sips:")) else national_format(target)
