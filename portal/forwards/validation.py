"""The rules a call forward must keep, whichever way it is written (form, API, import)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError

from portal.core.validators import normalise_destination

from .models import MAX_DESTINATIONS, MAX_RING_TIMEOUT, MIN_RING_TIMEOUT


def validate_destinations(
    destinations: Sequence[tuple[str, int]], owner_numbers: Iterable[str] = ()
) -> list[tuple[str, int]]:
    """Check and normalise ``[(target, timeout), …]``; raise one ValidationError listing every problem."""
    if len(destinations) > MAX_DESTINATIONS:
        raise ValidationError(
            "A forward can have at most %(max)d destinations.", code="too_many", params={"max": MAX_DESTINATIONS}
        )
    own = set(owner_numbers)
    problems: list[ValidationError] = []
    cleaned: list[tuple[str, int]] = []
    for position, (target, timeout) in enumerate(destinations, start=1):
        try:
            target = normalise_destination(target)
        except ValidationError as exc:
            problems.append(ValidationError(f"Destination {position}: {exc.messages[0]}", code="destination"))
            continue
        if target in own:
            problems.append(
                ValidationError(
                    f"Destination {position}: {target} is this forward's own number; calls would loop.", code="loop"
                )
            )
        if not MIN_RING_TIMEOUT <= int(timeout) <= MAX_RING_TIMEOUT:
            problems.append(
                ValidationError(
                    f"Destination {position}: ring for between {MIN_RING_TIMEOUT} and {MAX_RING_TIMEOUT} seconds.",
                    code="timeout",
                )
            )
        cleaned.append((target, int(timeout)))
    if problems:
        raise ValidationError(problems)
    return cleaned


def validate_window(
    weekdays: Sequence[int],
    start: dt.time,
    end: dt.time,
    timezone: str,
    start_date: dt.date | None = None,
    end_date: dt.date | None = None,
) -> None:
    """A weekly window (weekdays, times), or a dated one (from a date and time to a date and time)."""
    problems = []
    if start_date is not None or end_date is not None:
        if start_date is None or end_date is None:
            problems.append(ValidationError("A dated window needs a start date and an end date.", code="dates"))
        elif weekdays:
            problems.append(ValidationError("A dated window runs straight through: it has no weekdays.", code="weekdays"))
        elif start is not None and end is not None:
            first, last = window_span(start_date, start, end_date, end)
            if first >= last:
                problems.append(ValidationError("The window must end after it starts.", code="window_order"))
    else:
        if not weekdays:
            problems.append(ValidationError("Choose at least one weekday.", code="weekdays"))
        elif any(not isinstance(day, int) or not 0 <= day <= 6 for day in weekdays):
            problems.append(ValidationError("Weekdays are 0 (Monday) to 6 (Sunday).", code="weekdays"))
        if start is not None and end is not None and start >= end:
            problems.append(ValidationError("The window must end after it starts.", code="window_order"))
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        problems.append(ValidationError(f"“{timezone}” is not a time zone (e.g. Europe/London).", code="timezone"))
    if problems:
        raise ValidationError(problems)


def window_span(start_date: dt.date, start: dt.time, end_date: dt.date, end: dt.time) -> tuple[dt.datetime, dt.datetime]:
    """A dated window's [start, end) as naive local date-times."""
    return dt.datetime.combine(start_date, start), dt.datetime.combine(end_date, end)


def local_now(timezone: str) -> dt.datetime:
    """Now, as a naive date-time in ``timezone`` (the clock dated windows are read by)."""
    return dt.datetime.now(zoneinfo.ZoneInfo(timezone)).replace(tzinfo=None)
