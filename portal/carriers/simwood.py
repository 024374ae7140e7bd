"""Simwood API v3: numbers, their routing config and 999 address, and voice trunks.

Simwood has no customers and no subscribers: they stay in the portal. The customer
grouping shows in trunk names and in each number's ``meta.key``.

Mapping (portal → Simwood; details and reasons in ``docs/carriers/simwood.md``):

=============================  ===============================================================
NumberSpec.e164                ``{NUMBER}`` in ``numbers/{A}/allocated/{NUMBER}`` (E.164 without
                               ``+``); this is also the number's remote id
NumberSpec.activated           config ``options.enabled``
NumberSpec.destination         first step of ``routing.default`` (``meta.destination`` when
                               that step is not the destination's: none, or forwarded away)
NumberSpec.customer_remote_id  config ``meta.key`` (the allocated report's search key)
NumberSpec.portal_id           config ``meta.portal_id``
NumberSpec.emergency_address   ``…/allocated/{NUMBER}/999`` (same field names)
ForwardSpec unconditional      ``routing.unconditional`` (+ ``rules.unconditional`` when timed),
                               or the whole ``routing.default`` when always on
ForwardSpec no_answer          steps after the destination's step, in ``routing.default`` or
                               (timed) ``routing.no_answer`` + ``rules.no_answer``
Destination(target, timeout)   one step ``[block]``: ``+E164`` → ``pstn``/``number``,
                               ``sip:user@host`` → ``sip``/``endpoint``, ``sip:{TRUNK}@reg`` →
                               ``reg``/``user``; ``timeout`` → block ``timeout``
TimeWindow                     a rule period ``{"dow": [1..7], "time": [HHMM, HHMM]}``
TimeWindow (dated)             periods ``{"month": [M], "day": [D…], "time": [HHMM, HHMM]}``: a
                               part of a day with its time, whole days of a month as a list;
                               the first period also has every ``dow`` (marks the start)
forwards not in routing        ``meta.hidden`` (disabled ones, and a no-answer forward an
                               always-on unconditional forward makes unreachable)
TrunkSpec.name, customer_ref   trunk ``{A}-{NN}{CUSTOMER_REF}{NAME}``, NN = length of the ref
TrunkSpec.type                 ``type`` ``IP`` / ``auth``
TrunkSpec.allowed_ips          ``…/trunks/{T}/acl`` (IP trunks only)
TrunkSpec.channels_in / _out   ``limit_concurrent_in`` / ``limit_concurrent_out``
TrunkSpec.default_cli          ``cli_default`` (E.164 without ``+``)
TrunkSpec.force_cli            ``cli_force_default`` (0/1)
TrunkSpec.max_cost_per_minute  ``max_cpm``
TrunkSpec.max_cost_per_call    ``max_cost``
TrunkSpec.enabled              ``enabled`` (0/1)
=============================  ===============================================================

Not held: customers, subscribers, trunk ``host`` and ``codecs``, busy and unavailable
forwards (Simwood fails over on no answer, busy and failure alike, so the one
"no_answer" forward covers all three), time zones other than Europe/London.

Assumptions where the documents are silent:

* A config validation error may come as a non-2xx status or as a 2xx with
  ``"success": false``; both are failures. The last quoted name in the carrier's
  message is reported as the field.
* 401 and 403 (an account number that is not the credentials') are authentication
  errors; 404 is not-found; 429 is rate-limited with ``Retry-After`` (seconds; 1 when
  absent); 5xx is transient; other statuses are permanent.
* GET config on a number without one may answer ``[]``, ``{}`` or ``null``: no config.
* The destination's own step rings for ``DESTINATION_RING_SECONDS`` before a
  no-answer forward takes over (the portal holds no ring time for the destination).
  With no destination and nothing else to ring the number answers ``busy``.
* Rule periods: a period matches when each of its fields does (``dow``, ``day`` and
  ``month`` as sets of values, ``time`` from its start to before its end); a rule matches
  when any period does. ``time`` cannot say 24:00: a part of a day that runs to midnight
  ends at 2359, read as the end of the day. Rules have no year, so a dated window is read
  back in the year whose occurrence has not ended yet; the portal clears dated windows
  that are over, so the carrier never brings one round again.
* When a timed unconditional forward and a timed no-answer forward overlap, the
  unconditional rule is written first; Simwood's precedence between matching rules
  is not documented.
* Trunk ids use only upper-case letters and digits (the documented examples); names
  and customer refs are upper-cased, other characters are refused. Trunks can be
  neither renamed nor retyped. An update's answer is compared with what was sent,
  because Simwood drops invalid trunk options silently.
* Simwood has no pagination for trunks or numbers: ``iter_trunks`` reads the trunk
  list, ``iter_numbers`` the allocated-numbers report (polled until ready), and both
  fetch each object only as it is yielded.
* A consecutive block is the ``available/consecutive/{N}`` report (N 10-100 in tens,
  ``pattern`` as for the search; UK numbers only), collected like the allocated report;
  its rows are read as the search's. Numbers picked from an earlier search are checked
  again before they are allocated with one size-100 search per hundred they fall in
  (``pattern`` ``{first digits}*``), which lists every number of that hundred still offered.
* ``allocate_number`` writes no config (the account default routing applies until
  ``update_number``); a repeat allocate of one's own number is Simwood's 200, so a
  retried allocate simply adopts the number.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from .base import (
    progress,
    FORWARD_TYPES,
    AccountConfig,
    AuthenticationError,
    AvailableNumber,
    Capabilities,
    CarrierAdapter,
    CarrierClient,
    CreatedTrunk,
    Destination,
    DuplicateError,
    EmergencyAddress,
    ForwardSpec,
    NotFoundError,
    NumberSpec,
    PermanentError,
    RateLimitedError,
    TimeWindow,
    TransientError,
    TrunkSpec,
    UnsupportedError,
    MINUTES_PER_DAY,
    check_forwards,
    day_parts,
    marked_runs,
)

log = logging.getLogger(__name__)

DESTINATION_RING_SECONDS = 20
END_OF_DAY = 2359  # the last HHMM of a day: a rule's time runs to midnight
REGISTRATION_HOST = "reg"  # sip:{TRUNK}@reg names a Simwood registration (reg) user
LONDON = "Europe/London"
SEARCH_SIZES = (1, 10, 100)
BLOCK_SIZES = tuple(range(10, 101, 10))  # the consecutive report's documented sizes
UK = "44"
REPORT_TIMEOUT_SECONDS = 120.0
REPORT_FIRST_POLL_SECONDS = 0.05
REPORT_MAX_POLL_SECONDS = 2.0
MANAGED_FORWARDS = ("unconditional", "no_answer")
TRUNK_ID_MAX = 24
EMERGENCY_FIELDS = ("name", "premises", "thoroughfare", "locality", "postcode")
QUOTED_NAME = re.compile(r"'([^']+)'")
ALNUM = re.compile(r"[A-Z0-9]*")


def digits(e164: str) -> str:
    """Portal E.164 (``+441632960001``) → Simwood's form (``441632960001``)."""
    return e164[1:] if e164.startswith("+") else e164


def plus(number: str) -> str:
    return number if number.startswith("+") else f"+{number}"


def hhmm(text: str) -> int:
    hours, _, minutes = text.partition(":")
    return int(hours) * 100 + int(minutes)


def clock(value: Any) -> str:
    hours, minutes = divmod(int(value), 100)
    return f"{hours:02d}:{minutes:02d}"


def flag(value: bool) -> int:
    return 1 if value else 0


def is_on(value: Any) -> bool:
    return str(value) == "1"


def optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def same_amount(sent: Any, got: Any) -> bool:
    if sent is None or got is None:
        return sent is None and got is None
    try:
        return Decimal(str(sent)) == Decimal(str(got))
    except InvalidOperation:
        return str(sent) == str(got)


# ------------------------------------------------------------------ routing blocks
def to_block(destination: Destination | str, timeout: int | None = None) -> dict[str, Any]:
    """One portal destination as a Simwood endpoint block."""
    target = destination.target if isinstance(destination, Destination) else destination
    if isinstance(destination, Destination):
        timeout = destination.timeout
    if target.startswith("+"):
        block: dict[str, Any] = {"type": "pstn", "number": digits(target)}
    elif target.startswith("sip:"):
        endpoint = target[len("sip:"):]
        user, _, host = endpoint.partition("@")
        if host == REGISTRATION_HOST:
            block = {"type": "reg", "user": user}
        else:
            block = {"type": "sip", "endpoint": endpoint}
    else:
        raise PermanentError(f"{target!r} is neither an E.164 number nor a SIP URI", field="destination")
    if timeout is not None:
        block["timeout"] = timeout
    return block


def block_target(block: Any) -> str | None:
    """The portal target a block rings, or None for blocks that ring nobody (busy, fax…)."""
    if not isinstance(block, dict):
        return None
    kind = block.get("type")
    if kind == "pstn" and block.get("number"):
        return plus(str(block["number"]))
    if kind == "sip" and block.get("endpoint"):
        return f"sip:{block['endpoint']}"
    if kind == "reg" and block.get("user"):
        return f"sip:{block['user']}@{REGISTRATION_HOST}"
    return None


def steps_of(destinations: list[Destination]) -> list[list[dict[str, Any]]]:
    """Hunt order: each destination is a step of its own."""
    return [[to_block(destination)] for destination in destinations]


def destinations_of(steps: Any) -> list[Destination]:
    """Every ringing block of the steps, in order (a ring group is flattened)."""
    found = []
    for step in steps if isinstance(steps, list) else []:
        for block in step if isinstance(step, list) else []:
            target = block_target(block)
            if target is not None:
                found.append(Destination(target, int(block.get("timeout", DESTINATION_RING_SECONDS))))
    return found


def period_of(window: TimeWindow) -> dict[str, Any]:
    return {"dow": [day + 1 for day in window.weekdays], "time": [hhmm(window.start), hhmm(window.end)]}


def periods_of(windows: list[TimeWindow]) -> list[dict[str, Any]]:
    return [period for window in windows
            for period in (dated_periods(window) if window.dated else [period_of(window)])]


def dated_periods(window: TimeWindow) -> list[dict[str, Any]]:
    """A dated window as periods of a month and days (rules have no year): a part of a day
    with its ``time``, the whole days of one month in a row as one ``day`` list. The first
    period carries every ``dow`` (it changes nothing) to mark where a dated window begins."""
    start, end = window.span()
    periods: list[dict[str, Any]] = []
    for day, first, last in day_parts(start, end):
        if first == 0 and last == MINUTES_PER_DAY:
            previous = periods[-1] if periods else {}
            if "time" not in previous and previous.get("month") == [day.month]:
                previous["day"].append(day.day)  # the whole day after the previous one
            else:
                periods.append({"month": [day.month], "day": [day.day]})
        else:
            # HHMM has no 2400: a part of a day that runs to midnight ends at 2359, the day's last minute.
            periods.append({"month": [day.month], "day": [day.day],
                            "time": [first // 60 * 100 + first % 60, END_OF_DAY if last == MINUTES_PER_DAY
                                     else last // 60 * 100 + last % 60]})
    periods[0] = {"dow": list(range(1, 8)), **periods[0]}
    return periods


def window_of(period: dict[str, Any]) -> TimeWindow | None:
    start, end = period.get("time", [0, 2359])
    weekdays = [day - 1 for day in period.get("dow", range(1, 8))]
    return TimeWindow(weekdays=weekdays, start=clock(start), end=clock(end))


def windows_of(periods: Any, today: date | None = None) -> list[TimeWindow]:
    """Weekly windows, then the dated ones (periods with a month and days)."""
    periods = [p for p in periods if isinstance(p, dict)] if isinstance(periods, list) else []
    weekly = [window_of(p) for p in periods if "day" not in p and "month" not in p]
    dated = [p for p in periods if "day" in p or "month" in p]
    blocks = marked_runs(dated, lambda period: period.get("dow") == list(range(1, 8)))
    return weekly + [dated_window_of(block, today or datetime.now(ZoneInfo(LONDON)).date()) for block in blocks]


def dated_window_of(block: list[dict[str, Any]], today: date) -> TimeWindow:
    """The dated window a run of periods describes, in the year it comes next (or is under
    way): Simwood's rules have no year, so the one whose end is still to come."""
    def edge(period: dict[str, Any], last: bool) -> tuple[int, int, int]:
        month = (period.get("month") or [1])[-1 if last else 0]
        days = period.get("day") or [1]
        times = period.get("time") or [0, END_OF_DAY]
        minute = hhmm_minutes(times[1]) + (1 if int(times[1]) == END_OF_DAY else 0) if last else hhmm_minutes(times[0])
        return int(month), int(days[-1] if last else days[0]), minute

    (start_month, start_day, start_minute), (end_month, end_day, end_minute) = edge(block[0], False), edge(block[-1], True)
    crosses_new_year = (end_month, end_day) < (start_month, start_day)
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            start = datetime(year, start_month, start_day) + timedelta(minutes=start_minute)
            end = datetime(year + crosses_new_year, end_month, end_day) + timedelta(minutes=end_minute)
        except ValueError:  # 29 February of a year that has none
            continue
        if end.date() >= today:
            break
    return TimeWindow(weekdays=[], start=f"{start:%H:%M}", end=f"{end:%H:%M}", start_date=start.date().isoformat(),
                      end_date=end.date().isoformat())


def hhmm_minutes(value: Any) -> int:
    hours, minutes = divmod(int(value), 100)
    return hours * 60 + minutes


# Hidden forwards travel in meta as [code, enabled, [[target, timeout]…], [["0123", "HHMM", "HHMM"]…]],
# as compact as readable, since Simwood keeps only about 512 bytes of meta.
TYPE_CODES = {"unconditional": "u", "no_answer": "n"}
CODE_TYPES = {code: kind for kind, code in TYPE_CODES.items()}


def pack_forward(forward: ForwardSpec) -> list[Any]:
    return [
        TYPE_CODES[forward.type],
        flag(forward.enabled),
        [[d.target, d.timeout] for d in forward.destinations],
        [pack_window(w) for w in forward.windows],
    ]


def pack_window(window: TimeWindow) -> list[str]:
    """Weekly: ["0123", "HHMM", "HHMM"]; dated: ["YYYYMMDD", "HHMM", "YYYYMMDD", "HHMM"] (with the year)."""
    start, end = window.start.replace(":", ""), window.end.replace(":", "")
    if window.dated:
        return [window.start_date.replace("-", ""), start, window.end_date.replace("-", ""), end]
    return ["".join(str(day) for day in window.weekdays), start, end]


def unpack_window(packed: list[str]) -> TimeWindow:
    if len(packed) == 4:
        start_date, start, end_date, end = packed
        return TimeWindow([], clock(start), clock(end), start_date=date_text(start_date), end_date=date_text(end_date))
    days, start, end = packed
    return TimeWindow([int(day) for day in days], clock(start), clock(end))


def date_text(packed: str) -> str:
    return f"{packed[:4]}-{packed[4:6]}-{packed[6:]}"


def unpack_forward(packed: list[Any]) -> ForwardSpec:
    code, enabled, destinations, windows = packed
    return ForwardSpec(
        type=CODE_TYPES[code],
        enabled=bool(enabled),
        destinations=[Destination(target, timeout) for target, timeout in destinations],
        windows=[unpack_window(window) for window in windows],
    )


# ------------------------------------------------------------------ number config
@dataclass
class NumberRouting:
    """The portal's view of one number's Simwood config."""

    destination: str | None = None
    activated: bool = True
    forwards: list[ForwardSpec] = field(default_factory=list)
    customer_ref: str | None = None
    portal_id: str = ""


META_KEYS = ("key", "portal_id", "destination", "default", "hidden")


def build_config(routing: NumberRouting, existing: dict[str, Any]) -> dict[str, Any]:
    """The config to PUT: ``existing`` with the portal-managed parts replaced."""
    config = {key: dict(existing.get(key) or {}) for key in ("options", "rules", "routing", "meta")}
    for name in ("default", *MANAGED_FORWARDS):
        config["routing"].pop(name, None)
        config["rules"].pop(name, None)
    for key in META_KEYS:
        config["meta"].pop(key, None)
    config["options"]["enabled"] = routing.activated

    active = {f.type: f for f in routing.forwards if f.enabled and f.destinations}
    unconditional, no_answer = active.get("unconditional"), active.get("no_answer")
    hidden = [f for f in routing.forwards if active.get(f.type) is not f]
    ring_time = DESTINATION_RING_SECONDS if no_answer else None
    own_steps = [[to_block(routing.destination, ring_time)]] if routing.destination else []

    if unconditional and not unconditional.windows:
        default = steps_of(unconditional.destinations)
        config["meta"]["default"] = "unconditional"
        if no_answer:
            hidden.append(no_answer)  # unreachable while the unconditional forward is always on
    else:
        default = own_steps
        if unconditional:
            config["rules"]["unconditional"] = periods_of(unconditional.windows)
            config["routing"]["unconditional"] = steps_of(unconditional.destinations)
        if no_answer and no_answer.windows:
            config["rules"]["no_answer"] = periods_of(no_answer.windows)
            config["routing"]["no_answer"] = own_steps + steps_of(no_answer.destinations)
        elif no_answer:
            default = own_steps + steps_of(no_answer.destinations)
    config["routing"]["default"] = default or [[{"type": "busy"}]]

    if not routing.destination or config["meta"].get("default") == "unconditional":
        # routing.default does not start with the destination's step: say what it is
        config["meta"]["destination"] = routing.destination
    if routing.customer_ref:
        config["meta"]["key"] = routing.customer_ref
    if routing.portal_id:
        config["meta"]["portal_id"] = routing.portal_id
    if hidden:
        config["meta"]["hidden"] = [pack_forward(f) for f in hidden]
    return {key: value for key, value in config.items() if value or key in ("routing", "options")}


def parse_config(config: Any) -> NumberRouting:
    """The portal's view of a Simwood config (written by the portal or by hand)."""
    if not isinstance(config, dict) or not isinstance(config.get("routing"), dict):
        return NumberRouting()
    meta = config.get("meta") if isinstance(config.get("meta"), dict) else {}
    rules = config.get("rules") if isinstance(config.get("rules"), dict) else {}
    routing = config["routing"]
    default = routing.get("default") or []
    forwards: dict[str, ForwardSpec] = {}

    if meta.get("default") == "unconditional":
        destination = meta.get("destination")
        forwards["unconditional"] = ForwardSpec("unconditional", destinations=destinations_of(default))
    else:
        if "destination" in meta:
            destination = meta["destination"]
        else:
            first = destinations_of(default[:1])
            destination = first[0].target if first else None
        own = 1 if destination else 0
        if fallbacks := destinations_of(default[own:]):
            forwards["no_answer"] = ForwardSpec("no_answer", destinations=fallbacks)
        if timed := routing.get("no_answer"):
            forwards["no_answer"] = ForwardSpec(
                "no_answer",
                destinations=destinations_of(timed[own:]),
                windows=windows_of(rules.get("no_answer")),
            )
    if timed := routing.get("unconditional"):
        forwards["unconditional"] = ForwardSpec(
            "unconditional",
            destinations=destinations_of(timed),
            windows=windows_of(rules.get("unconditional")),
        )
    for packed in meta.get("hidden") or []:
        hidden = unpack_forward(packed)
        forwards[hidden.type] = hidden
    options = config.get("options") if isinstance(config.get("options"), dict) else {}
    return NumberRouting(
        destination=destination,
        activated=options.get("enabled", True) is not False,
        forwards=sorted(forwards.values(), key=lambda f: FORWARD_TYPES.index(f.type)),
        customer_ref=meta.get("key") or None,
        portal_id=str(meta.get("portal_id", "")),
    )


def check_windows(forwards: list[ForwardSpec]) -> None:
    for forward in forwards:
        for window in forward.windows:
            if window.timezone != LONDON:
                raise UnsupportedError(f"Simwood time rules are in {LONDON} time only", field="windows")
            if window.dated:
                start, end = window.span()
                if start >= end:
                    raise PermanentError("a dated window must end after it starts", field="windows")
                continue
            if not window.weekdays:
                raise PermanentError("a time window needs at least one weekday", field="windows")
            if hhmm(window.start) >= hhmm(window.end):
                raise PermanentError("a time window must start before it ends", field="windows")


# ------------------------------------------------------------------ trunk names
def trunk_id(spec: TrunkSpec) -> str:
    """``{NN}{CUSTOMER_REF}{NAME}``: NN, the ref's length, keeps the split reversible."""
    name, ref = spec.name.upper(), spec.customer_ref.upper()
    if not name or ALNUM.fullmatch(name) is None or ALNUM.fullmatch(ref) is None:
        raise PermanentError(
            "Simwood trunk names and customer refs may hold only letters and digits", field="name"
        )
    encoded = f"{len(ref):02d}{ref}{name}"
    if len(encoded) > TRUNK_ID_MAX:
        raise PermanentError(
            f"the trunk name and customer ref are too long for Simwood"
            f" ({TRUNK_ID_MAX - 2} characters together)",
            field="name",
        )
    return encoded


def simwood_trunk_type(spec: TrunkSpec) -> str:
    return "IP" if spec.type == "ip" else "auth"


def split_trunk_id(encoded: str) -> tuple[str, str]:
    """(name, customer_ref) of a trunk id; trunks made outside the portal keep their id as name."""
    if len(encoded) > 2 and encoded[:2].isdigit():
        length = int(encoded[:2])
        if len(encoded) > 2 + length:
            return encoded[2 + length:], encoded[2:2 + length]
    return encoded, ""


# ------------------------------------------------------------------ the adapter
class SimwoodAdapter(CarrierAdapter):
    kind = "simwood"
    label = "Simwood"
    capabilities = Capabilities(
        trunks=True,
        number_config=True,
        number_inventory=True,
        number_blocks=BLOCK_SIZES,
        emergency_address=True,
        forwards=True,
        forward_owners=frozenset({"number"}),
        forward_types=frozenset(MANAGED_FORWARDS),
        max_destinations=3,
        ring_timeouts=True,
        time_windows=True,
        date_windows=True,
        dates_repeat_yearly=True,
        last_minute_runs_to_midnight=True,
        trunk_types=frozenset({"ip", "auth"}),
        trunk_renames=False,
        trunk_fields=frozenset({
            "name", "type", "allowed_ips", "channels_in", "channels_out", "default_cli", "force_cli",
            "max_cost_per_minute", "max_cost_per_call", "enabled", "customer_ref",
        }),
        notes=(
            "Customers and subscribers stay in the portal; Simwood holds numbers and trunks.",
            "A no-answer forward also applies when the destination is busy or unreachable.",
            "Time windows are in UK time (Europe/London).",
            "Dated (holiday) windows: Simwood's rules have days and months but no year, so a holiday must "
            "last less than a year and end within one; the portal clears it when it is over. Its times stop at "
            "23:59, which runs to midnight, so a holiday cannot start or end at 23:59.",
            "Trunk names and customer refs: letters and digits only, 22 characters together.",
            "Disabled forwards are kept in the number's metadata (about 512 bytes at Simwood);"
            " very long SIP addresses on two disabled forwards may not fit.",
        ),
    )

    def __init__(self, config: AccountConfig, *, transport: httpx.BaseTransport | None = None):
        super().__init__(config, transport=transport)
        self.account = str(config.settings["account"])
        auth = (str(config.settings["api_user"]), config.credentials["api_key"])
        self.client = CarrierClient(config, auth=auth, transport=transport)
        self.report_timeout = float(config.settings.get("report_timeout", REPORT_TIMEOUT_SECONDS))

    def close(self) -> None:
        self.client.close()

    # -- HTTP and errors ----------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request; the decoded JSON of a success, or a typed CarrierError."""
        log.debug("simwood %s %s", method, path)
        response = self.client.request(method, path, **kwargs)
        if response.status_code == 204:
            return None
        body = self._json(response)
        if response.is_success and not (isinstance(body, dict) and body.get("success") is False):
            return body
        raise self._error(response, body)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    def _error(self, response: httpx.Response, body: Any) -> Exception:
        status = response.status_code
        messages = body.get("errors") if isinstance(body, dict) else None
        fallback = response.reason_phrase or f"HTTP {status}"
        message = "; ".join(str(m) for m in messages) if messages else fallback
        if status == 401:
            return AuthenticationError("Simwood refused the API user and key", status=status)
        if status == 403:
            return AuthenticationError(
                f"Simwood denied access to account {self.account}: {message}", status=status
            )
        if status == 404:
            return NotFoundError(message, status=status)
        if status == 429:
            return RateLimitedError(message, retry_after=self._retry_after(response))
        if status >= 500:
            return TransientError(message, status=status)
        names = QUOTED_NAME.findall(messages[-1]) if messages else []
        return PermanentError(message, status=status, field=names[-1] if names else None)

    @staticmethod
    def _retry_after(response: httpx.Response) -> float:
        try:
            return max(float(response.headers.get("retry-after", "1")), 0.0)
        except ValueError:
            return 1.0

    # -- lifecycle ------------------------------------------------------------------
    def test_connection(self) -> None:
        self._call("GET", f"accounts/{self.account}/prepay/balance")

    # -- number inventory -------------------------------------------------------------
    def search_numbers(self, pattern: str = "", limit: int = 10, *, block: int = 0) -> list[AvailableNumber]:
        if block:
            return self._consecutive(pattern, block)
        size = next((s for s in SEARCH_SIZES if s >= limit), SEARCH_SIZES[-1])
        params = {"pattern": self._search_pattern(pattern)} if pattern else {}
        rows = self._call("GET", f"numbers/{self.account}/available/all/{size}", params=params) or []
        return [self._offer(row) for row in rows[:limit]]

    def _consecutive(self, pattern: str, block: int) -> list[AvailableNumber]:
        """The consecutive report: one run of ``block`` available numbers (UK only)."""
        if block not in BLOCK_SIZES:
            sizes = ", ".join(str(size) for size in BLOCK_SIZES)
            raise UnsupportedError(f"Simwood offers consecutive blocks of {sizes} numbers", field="block")
        if pattern.startswith("+") and not pattern.startswith(f"+{UK}"):
            return []  # the consecutive report covers UK numbers only
        params = {"pattern": self._search_pattern(pattern)} if pattern else {}
        report = self._call("POST", f"numbers/{self.account}/available/consecutive/{block}", params=params)
        return [self._offer(row) for row in self._report_rows(report)]

    def still_available(self, e164s: list[str]) -> set[str]:
        """One search per hundred the numbers fall in (a size-100 search of ``NNN…NN*``
        sees all of them), so a block of up to 100 takes one or two requests."""
        wanted = {digits(e164) for e164 in e164s}
        offered: set[str] = set()
        for hundred in sorted({number[:-2] for number in wanted}):
            country = "1" if hundred.startswith("1") else UK
            params = {"pattern": f"{hundred}*", "country_code": country}
            rows = self._call("GET", f"numbers/{self.account}/available/all/{SEARCH_SIZES[-1]}", params=params)
            offered |= {f"{row['country_code']}{row['number']}" for row in rows or []}
        return {plus(number) for number in wanted & offered}

    @staticmethod
    def _offer(row: dict[str, Any]) -> AvailableNumber:
        return AvailableNumber(
            e164=plus(f"{row['country_code']}{row['number']}"),
            price=f"{Decimal(str(row.get('wholesale_gold_premium') or 0)):.2f}",
            tier="gold" if float(row.get("wholesale_gold_premium") or 0) > 0 else "standard",
        )

    @staticmethod
    def _search_pattern(pattern: str) -> str:
        """Portal search text → Simwood pattern: E.164 prefixes stay prefixes, digits match anywhere."""
        text = pattern.replace(" ", "")
        if "*" in text:
            return digits(text)
        return f"{digits(text)}*" if text.startswith("+") else f"*{text}*"

    def allocate_number(
        self, e164: str, customer_remote_id: str | None = None, *, destination: str | None = None
    ) -> str:
        # Allocation takes no body; the routing is the number's config, set by update_number.
        number = digits(e164)
        self._call("PUT", self._number_path(number))
        return number

    def release_number(self, remote_id: str) -> None:
        self._call("DELETE", self._number_path(remote_id))

    def find_number(self, e164: str) -> str | None:
        number = digits(e164)
        try:
            self._call("GET", self._number_path(number))
        except NotFoundError:
            return None
        return number

    def _number_path(self, remote_id: str) -> str:
        # Simwood names a number by its digits (447700900123). Anything else would be a
        # path Simwood answers 404 to, which must never pass for "already released".
        if not remote_id.isdigit():
            raise ValueError(f"{remote_id!r} is not how Simwood names a number")
        return f"numbers/{self.account}/allocated/{remote_id}"

    # -- number config ------------------------------------------------------------------
    def _read_config(self, remote_id: str) -> dict[str, Any]:
        config = self._call("GET", f"{self._number_path(remote_id)}/config")
        return config if isinstance(config, dict) else {}

    def _write_config(self, remote_id: str, existing: dict[str, Any], routing: NumberRouting) -> None:
        self._call("PUT", f"{self._number_path(remote_id)}/config", json=build_config(routing, existing))

    def update_number(self, remote_id: str, spec: NumberSpec) -> None:
        """Destination, state and ids; the forwards already at Simwood are kept."""
        existing = self._read_config(remote_id)
        routing = parse_config(existing)
        routing.destination = spec.destination
        routing.activated = spec.activated
        routing.customer_ref = spec.customer_remote_id
        routing.portal_id = spec.portal_id
        self._write_config(remote_id, existing, routing)
        wanted = spec.emergency_address
        if wanted is not None and wanted != self.fetch_emergency_address(remote_id):
            self.set_emergency_address(remote_id, wanted)

    def fetch_number(self, remote_id: str) -> NumberSpec:
        routing = parse_config(self._read_config(remote_id))
        return NumberSpec(
            e164=plus(remote_id),
            destination=routing.destination,
            activated=routing.activated,
            forwards=routing.forwards,
            customer_remote_id=routing.customer_ref,
            emergency_address=self.fetch_emergency_address(remote_id),
            portal_id=routing.portal_id,
        )

    def iter_numbers(self) -> Iterator[tuple[str, NumberSpec]]:
        for row in self._allocated_report():
            number = f"{row['country_code']}{row['number']}"
            try:
                yield number, self.fetch_number(number)
            except NotFoundError:
                continue  # released since the report was taken

    def _allocated_report(self) -> list[dict[str, Any]]:
        """The allocated-numbers report: request it, poll its file until it is ready."""
        return self._report_rows(self._call("POST", f"numbers/{self.account}/allocated/all"))

    def _report_rows(self, report: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of an asynchronous report: its file, polled until it is ready (204 before)."""
        path = f"files/{self.account}/{report['hash']}"
        deadline = time.monotonic() + self.report_timeout
        pause = REPORT_FIRST_POLL_SECONDS
        while time.monotonic() < deadline:
            try:
                rows = self._call("GET", path)
            except NotFoundError:
                raise TransientError("the Simwood report expired before it was collected") from None
            if rows is not None:
                return rows
            time.sleep(pause)
            pause = min(pause * 2, REPORT_MAX_POLL_SECONDS)
        raise TransientError("the Simwood report was not ready in time")

    # -- forwards -------------------------------------------------------------------------
    def set_forwards(self, owner: str, remote_id: str, forwards: list[ForwardSpec]) -> None:
        self._check_owner(owner)
        problems = check_forwards(self.capabilities, owner, forwards)
        if problems:
            raise UnsupportedError("; ".join(problems), field="forwards")
        types = [f.type for f in forwards]
        if len(set(types)) != len(types):
            raise PermanentError("Simwood holds one forward of each type per number", field="forwards")
        check_windows(forwards)
        existing = self._read_config(remote_id)
        routing = parse_config(existing)
        routing.forwards = list(forwards)
        self._write_config(remote_id, existing, routing)

    def fetch_forwards(self, owner: str, remote_id: str) -> list[ForwardSpec]:
        self._check_owner(owner)
        return parse_config(self._read_config(remote_id)).forwards

    def _check_owner(self, owner: str) -> None:
        if owner != "number":
            raise self._unsupported(f"call forwards on a {owner}")

    # -- 999 --------------------------------------------------------------------------------
    def set_emergency_address(self, number_remote_id: str, address: EmergencyAddress) -> None:
        body = {name: getattr(address, name) for name in EMERGENCY_FIELDS}
        body["postcode"] = body["postcode"].strip().upper()
        self._call("PUT", f"{self._number_path(number_remote_id)}/999", json=body)

    def fetch_emergency_address(self, number_remote_id: str) -> EmergencyAddress | None:
        records = self._call("GET", f"{self._number_path(number_remote_id)}/999") or []
        if not records:
            return None
        return EmergencyAddress(**{name: records[0].get(name) or "" for name in EMERGENCY_FIELDS})

    # -- trunks -------------------------------------------------------------------------------
    def _trunk_path(self, remote_id: str) -> str:
        return f"voice/{self.account}/trunks/{remote_id}"

    def _remote_trunk_name(self, spec: TrunkSpec) -> str:
        return f"{self.account}-{trunk_id(spec)}"

    def find_trunk(self, spec: TrunkSpec) -> str | None:
        name = self._remote_trunk_name(spec)
        try:
            self._call("GET", self._trunk_path(name))
        except NotFoundError:
            return None
        return name

    def create_trunk(self, spec: TrunkSpec) -> CreatedTrunk:
        name = self._remote_trunk_name(spec)
        if spec.type not in self.capabilities.trunk_types:
            raise UnsupportedError(f"Simwood has no {spec.type!r} trunks", field="type")
        self._check_acl_allowed(spec)
        if self.find_trunk(spec) is not None:
            raise DuplicateError(f"trunk {name} already exists at Simwood", remote_id=name)
        created = self._call("PUT", self._trunk_path(name), json={"type": simwood_trunk_type(spec)})
        # The password is in this answer only: kept before the options that may still fail.
        progress().landed(name, secret=created.get("pass"))
        self._apply_trunk(name, spec, current_acl=[])
        return CreatedTrunk(remote_id=name, password=created.get("pass"))

    def update_trunk(self, remote_id: str, spec: TrunkSpec) -> None:
        current = self._call("GET", self._trunk_path(remote_id))
        if self._remote_trunk_name(spec) != remote_id:
            raise UnsupportedError("Simwood cannot rename a trunk", field="name")
        if simwood_trunk_type(spec) != current["type"]:
            raise UnsupportedError("Simwood cannot change a trunk's type", field="type")
        self._check_acl_allowed(spec)
        acl = self._acl(remote_id) if current["type"] == "IP" else []
        self._apply_trunk(remote_id, spec, current_acl=acl)

    @staticmethod
    def _check_acl_allowed(spec: TrunkSpec) -> None:
        if spec.allowed_ips and spec.type != "ip":
            raise UnsupportedError("Simwood holds allowed IPs on IP trunks only", field="allowed_ips")

    def _apply_trunk(self, name: str, spec: TrunkSpec, current_acl: list[str]) -> None:
        options = self._trunk_options(spec)
        answer = self._call("PUT", self._trunk_path(name), json=options)
        for key, sent in options.items():
            if not same_amount(sent, answer.get(key)):
                raise PermanentError(f"Simwood did not accept {key}={sent!r}", field=key)
        for ip in spec.allowed_ips:
            if ip not in current_acl:
                self._call("PUT", f"{self._trunk_path(name)}/acl/{ip}")
        for ip in current_acl:
            if ip not in spec.allowed_ips:
                self._call("DELETE", f"{self._trunk_path(name)}/acl/{ip}")

    @staticmethod
    def _trunk_options(spec: TrunkSpec) -> dict[str, Any]:
        return {
            "enabled": flag(spec.enabled),
            "limit_concurrent_in": spec.channels_in,
            "limit_concurrent_out": spec.channels_out,
            "cli_default": digits(spec.default_cli) if spec.default_cli else None,
            "cli_force_default": flag(spec.force_cli),
            "max_cpm": spec.max_cost_per_minute,
            "max_cost": spec.max_cost_per_call,
        }

    def _acl(self, remote_id: str) -> list[str]:
        return [entry["ip"] for entry in self._call("GET", f"{self._trunk_path(remote_id)}/acl") or []]

    def delete_trunk(self, remote_id: str) -> None:
        self._call("DELETE", self._trunk_path(remote_id))

    def fetch_trunk(self, remote_id: str) -> TrunkSpec:
        trunk = self._call("GET", self._trunk_path(remote_id))
        prefix = f"{self.account}-"
        name, customer_ref = split_trunk_id(remote_id.removeprefix(prefix))
        is_ip = trunk["type"] == "IP"
        return TrunkSpec(
            name=name,
            type="ip" if is_ip else "auth",
            allowed_ips=self._acl(remote_id) if is_ip else [],
            channels_in=optional_int(trunk.get("limit_concurrent_in")),
            channels_out=optional_int(trunk.get("limit_concurrent_out")),
            default_cli=plus(trunk["cli_default"]) if trunk.get("cli_default") else "",
            force_cli=is_on(trunk.get("cli_force_default")),
            max_cost_per_minute=trunk.get("max_cpm"),
            max_cost_per_call=trunk.get("max_cost"),
            enabled=is_on(trunk.get("enabled", "1")),
            customer_ref=customer_ref,
        )

    def reset_trunk_password(self, remote_id: str) -> str:
        return self._call("POST", f"{self._trunk_path(remote_id)}/password_reset")["pass"]

    def iter_trunks(self) -> Iterator[tuple[str, TrunkSpec]]:
        for row in self._call("GET", f"voice/{self.account}/trunks") or []:
            yield row["trunk"], self.fetch_trunk(row["trunk"])
