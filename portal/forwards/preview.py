"""Forwards told in plain words, from the same ForwardSpecs a carrier is sent.

“Calls to 020 7946 0001 ring 07911 123456 for 20 s, then sip:desk@pbx.example.com for
30 s — Mon–Fri 09:00–17:30 (Europe/London).” One function describes what the carrier
payload says, so the preview cannot promise what the carrier will not do.
"""

from __future__ import annotations

import datetime as dt

from portal.carriers.base import FORWARD_TYPES, ForwardSpec, TimeWindow

DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

WHEN = {
    "unconditional": "All calls to {owner}",
    "busy": "When {owner} is on a call, calls",
    "no_answer": "When {owner} does not answer, calls",
    "unavailable": "When {owner} is offline, calls",
}


def days(weekdays: list[int]) -> str:
    """[0, 1, 2, 3, 4] → “Mon–Fri”; [0, 2] → “Mon, Wed”."""
    ordered = sorted(set(weekdays))
    if not ordered:
        return "no day"
    if len(ordered) == 7:
        return "every day"
    runs, start, previous = [], ordered[0], ordered[0]
    for day in ordered[1:] + [None]:
        if day is not None and day == previous + 1:
            previous = day
            continue
        runs.append(DAY_NAMES[start] if start == previous else
                    f"{DAY_NAMES[start]}–{DAY_NAMES[previous]}" if previous - start > 1 else
                    f"{DAY_NAMES[start]}, {DAY_NAMES[previous]}")
        if day is not None:
            start = previous = day
    return ", ".join(runs)


def date_words(day: dt.date, today: dt.date) -> str:
    """“24 Dec”, with the year when it is not this year's: “2 Jan 2027”."""
    return f"{day.day} {MONTH_NAMES[day.month - 1]}" + (f" {day.year}" if day.year != today.year else "")


def dates_words(window: TimeWindow, today: dt.date | None = None) -> str:
    """A dated window: “from 24 Dec 18:00 to 2 Jan 2027 08:00”; whole days “from 24 Dec to 26 Dec”
    (its end is the start of the day after), one whole day “on 24 Dec”."""
    today = today or dt.date.today()
    start, end = window.span()
    if start.time() == end.time() == dt.time(0):
        last = end.date() - dt.timedelta(days=1)
        if last == start.date():
            return f"on {date_words(last, today)}"
        return f"from {date_words(start.date(), today)} to {date_words(last, today)}"
    return f"from {date_words(start.date(), today)} {start:%H:%M} to {date_words(end.date(), today)} {end:%H:%M}"


def target_words(target: str) -> str:
    if target.lower().startswith(("sip:", "sips:")):
        return target
    from portal.ui.forms import national_format

    return national_format(target)


def describe_one(spec: ForwardSpec, owner: str, today: dt.date | None = None) -> str:
    when = WHEN[spec.type].format(owner=owner)
    if not spec.enabled:
        return f"{when} are not forwarded (this forward is off)."
    if not spec.destinations:
        return f"{when}: no destination yet."
    legs = [f"{target_words(d.target)} for {d.timeout} s" for d in spec.destinations]
    if spec.type == "no_answer":
        text = f"Calls ring {owner} first; if nobody answers, they ring " + ", then ".join(legs)
    else:
        text = f"{when} ring " + ", then ".join(legs)
    weekly = [w for w in spec.windows if not w.dated]
    dated = " and ".join(dates_words(w, today) for w in spec.windows if w.dated)
    zone = spec.windows[0].timezone if spec.windows else ""
    if dated and not weekly:
        # A holiday: the dates lead (“From 24 Dec 18:00 to 2 Jan 2027 08:00 (Europe/London), all calls …”).
        return f"{dated[0].upper()}{dated[1:]} ({zone}), {text[0].lower()}{text[1:]}; outside those dates this " \
               "forward does not apply."
    if weekly:
        windows = "; ".join(f"{days(w.weekdays)} {w.start}–{w.end}" for w in weekly)
        text += f" — only {windows}{' and ' + dated if dated else ''} ({zone}); at other times this forward does not apply"
    return text + "."


def describe(specs: list[ForwardSpec], owner: str, region: str = "GB", today: dt.date | None = None) -> list[str]:
    """One sentence per forward, in the order calls meet them; [] when nothing is forwarded."""
    order = {t: i for i, t in enumerate(FORWARD_TYPES)}
    return [describe_one(spec, owner, today) for spec in sorted(specs, key=lambda s: order.get(s.type, 9))]
