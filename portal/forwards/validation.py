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


def validate_window(weekdays: Sequence[int], start: dt.time, end: dt.time, timezone: str) -> None:
    problems = []
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
