"""Sipwise C5 (NGCP) adapter: the v1 REST API with a reseller's admin login.

Contract: ``/work/shared/carrier-docs/003_*.txt`` (handbook REST chapter) and
``notes-sipwise.md``; the full table and reasoning are in ``docs/carriers/sipwise.md``.

Mapping in brief (portal → Sipwise):

====================================  ==========================================================
customer                              ``customercontacts`` item + ``customers`` item
  name / contact_name                 contact ``company`` / ``firstname`` + ``lastname``
  email / phone                       contact ``email`` (required) / ``phonenumber`` (digits)
  address line1+line2, city, ...      contact ``street`` (line2 after a newline), ``city``,
                                      ``postcode``, ``country``
  external_ref                        contact ``gpp0``
  portal_id                           contact ``gpp9`` ``portal:<id>``: finds a contact whose
                                      POST landed unanswered (reused, or removed with the customer)
  portal_id                           customer ``external_id`` (the natural key of find)
  status active/suspended/terminated  customer ``status`` active/locked/terminated
  (billing profile, type)             settings ``billing_profile_id``, ``customer_type``
                                      (default ``sipaccount``)
subscriber                            ``subscribers`` item
  username, domain, password          ``username``, ``domain`` (default: settings), ``password``
  display_name, status                ``display_name``, ``status`` (suspended = locked)
  primary_number, alias_numbers       ``primary_number`` / ``alias_numbers`` as {cc, ac, sn}
  customer_remote_id, portal_id       ``customer_id``, ``external_id``
  caller_id, call_limit               preferences ``cli`` (digits), ``concurrent_max``
number                                a subscriber's primary or alias number (remote id = E.164)
trunk                                 a subscriber: username ``trunk-<portal id or name slug>``,
                                      ``external_id`` ``trunk:<...>``, ``display_name`` = name,
                                      preferences ``allowed_ips``, ``concurrent_max_out``, ``cli``;
                                      numbers (main first) ``primary_number`` + ``alias_numbers``
call forwards (subscriber)            ``callforwards/<subscriber id>``: unconditional=cfu,
                                      busy=cfb, no_answer=cft (+``ringtimeout``), unavailable=cfna;
                                      destinations by priority with ``timeout``; windows = ``times``
====================================  ==========================================================

Assumptions where the documents are silent:

- Numbers: ``cc`` is the E.164 country code; ``ac`` the geographic area code when
  ``phonenumbers`` knows one, else empty; ``sn`` the rest. Reading back concatenates them.
  Numbers are unique across the platform (one number table for all resellers).
- ``primary_number`` is optional in released versions and required on master for
  sipaccount customers; the notes' checklist advises always sending one. Every subscriber
  is sent its portal primary number and every trunk its main number (``TrunkSpec.numbers``
  first; the rest as aliases; ``numbers=None`` leaves a trunk's numbers as they are). No
  number is invented when the portal has none: master's 422 ("A primary_number is required
  …") is a PermanentError on ``primary_number`` (``numbers`` for a trunk).
- Forward targets: an E.164 number is sent as digits (``4366610001``, as in the handbook);
  the platform answers ``sip:<digits>@<own domain>``, read back as E.164. A SIP URI is sent
  as is and read back as is, except a URI on the subscriber's own domain whose user part
  is all digits, which reads back as that E.164 number.
- Time windows: one window becomes the product of its weekday runs and its hour/minute
  segments; the first entry of each window carries ``month: "1-12"`` (which matches every
  month, so it changes nothing) so that adjacent windows read back as they were written.
  We rely on the platform returning ``times`` in the order sent. Windows are evaluated in
  the platform's time zone: the adapter holds only windows in ``timezone`` (constructor
  or settings option, default Europe/London) and only same-day windows (start < end,
  end may be ``24:00``).
- Dated windows (a holiday: from a date and time to a date and time) use the ``year``,
  ``month`` and ``mday`` fields (notes 5.6): each part of a day is an entry of its day with
  its hours and minutes, each run of whole days within one month one entry with an
  ``mday`` range. The first entry of each dated window carries ``wday: "1-7"`` (every day,
  so it changes nothing) to mark where it begins. Entries with a year are read back as
  dated windows, the others as weekly ones. Years end at 3000, the platform's limit.
- The simple call-forward API has no on/off switch: a disabled forward is removed at the
  carrier and reads back as absent. cft's ``ringtimeout`` is kept as the platform has it,
  or set to ``no_answer_ring_timeout`` (default 20 s) when the forward is new.
- Numbers live on subscribers, so ``update_number`` is refused; the sync engine changes a
  number by updating the subscriber that holds it. ``iter_numbers`` and ``fetch_number``
  show where each number is (``destination`` = the subscriber's SIP URI).
- A trunk needs a Sipwise customer: ``TrunkSpec.customer_remote_id`` names it; without it,
  ``customer_ref`` must equal that customer's ``external_id`` (the portal customer's id,
  as written by ``create_customer``).
- 423 (locked) answers are transient; 403 "Invalid user"/"Banned" are authentication
  failures; 422 messages containing "already exist" are duplicates.
- Iterators read the platform's ``page``/``rows`` paging (``page_size``, default 100) and
  fetch each subscriber's preferences and each customer's contact with one GET apiece.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import logging
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import phonenumbers

from .base import (
    progress,
    FORWARD_TYPES,
    AccountConfig,
    AuthenticationError,
    Capabilities,
    CarrierAdapter,
    CarrierClient,
    CarrierError,
    CreatedTrunk,
    CustomerSpec,
    Destination,
    DuplicateError,
    ForwardSpec,
    NotFoundError,
    NumberSpec,
    PermanentError,
    RateLimitedError,
    SubscriberSpec,
    TimeWindow,
    TransientError,
    TrunkSpec,
    UnsupportedError,
    check_forwards,
    day_parts,
    marked_runs,
)

log = logging.getLogger(__name__)

CF_TYPE = {"unconditional": "cfu", "busy": "cfb", "no_answer": "cft", "unavailable": "cfna"}
PORTAL_FORWARD = {cf: portal for portal, cf in CF_TYPE.items()}
CUSTOMER_STATUS = {"active": "active", "suspended": "locked", "terminated": "terminated"}
PORTAL_CUSTOMER_STATUS = {"active": "active", "locked": "suspended", "pending": "suspended", "terminated": "terminated"}
SUBSCRIBER_STATUS = {"active": "active", "suspended": "locked"}
PORTAL_SUBSCRIBER_STATUS = {"active": "active", "locked": "suspended"}
AUTH_FAILURES = {"Invalid user", "Banned", "Invalid OTP", "Invalid HTTP method for read-only user"}
TRUNK_PREFIX = "trunk:"
WINDOW_MARKER = "1-12"  # month range matching every month: marks the first entry of a window
DATED_MARKER = "1-7"  # weekday range matching every day: marks the first entry of a dated window
TIME_YEAR_MAX = 3000  # notes 5.6: year 1990-3000
READ_ONLY_CF_KEYS = {"destination_set", "time_set", "source_set", "bnumber_set"}
MAX_DESTINATIONS = 10
TRUNK_FIELDS = frozenset(
    {"name", "type", "allowed_ips", "channels_out", "default_cli", "enabled", "customer_ref", "customer_remote_id",
     "numbers"}
)  # fmt: skip


# ------------------------------------------------------------------ number formats
def e164_to_number(e164: str, field: str) -> dict[str, str]:
    """``+431987650`` → ``{"cc": "43", "ac": "1", "sn": "987650"}``."""
    try:
        parsed = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        raise PermanentError(f"{e164!r} is not an E.164 number", field=field) from None
    national = phonenumbers.national_significant_number(parsed)
    area_length = phonenumbers.length_of_geographical_area_code(parsed)
    return {"cc": str(parsed.country_code), "ac": national[:area_length], "sn": national[area_length:]}


def number_to_e164(number: dict[str, Any] | None) -> str | None:
    if not number:
        return None
    return "+" + "".join(str(number.get(part) or "") for part in ("cc", "ac", "sn"))


def digits(e164: str) -> str:
    return e164[1:] if e164.startswith("+") else e164


def plus(carrier_digits: str | None) -> str:
    return f"+{carrier_digits}" if carrier_digits else ""


# ------------------------------------------------------------------- time windows
SIPWISE_WDAY = {weekday: (weekday + 1) % 7 + 1 for weekday in range(7)}  # portal 0=Mon; Sipwise 1=Sun
PORTAL_WEEKDAY = {wday: weekday for weekday, wday in SIPWISE_WDAY.items()}
MINUTES_PER_DAY = 24 * 60


def span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def parse_clock(value: str) -> int:
    match = re.fullmatch(r"([01]\d|2[0-4]):([0-5]\d)", value)
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise PermanentError(f"{value!r} is not a time of day (HH:MM)", field="windows")
    return int(match.group(1)) * 60 + int(match.group(2))


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def weekday_runs(weekdays: list[int]) -> list[str | None]:
    """Sipwise ``wday`` values covering ``weekdays``: runs of consecutive days, or None for all."""
    days = sorted({SIPWISE_WDAY[day] for day in weekdays})
    if len(days) == 7:
        return [None]
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return [span(run[0], run[-1]) for run in runs]


def clock_segments(start: int, end: int) -> list[tuple[str | None, str | None]]:
    """(hour, minute) pairs covering [start, end) minutes of the day."""
    if start == 0 and end == MINUTES_PER_DAY:
        return [(None, None)]
    start_hour, start_minute = divmod(start, 60)
    end_hour, end_minute = divmod(end, 60)
    if start_hour == end_hour:
        return [(str(start_hour), span(start_minute, end_minute - 1))]
    segments: list[tuple[str | None, str | None]] = []
    first_full_hour = start_hour
    if start_minute:
        segments.append((str(start_hour), span(start_minute, 59)))
        first_full_hour += 1
    if first_full_hour < end_hour:
        segments.append((span(first_full_hour, end_hour - 1), None))
    if end_minute:
        segments.append((str(end_hour), span(0, end_minute - 1)))
    return segments


def window_to_times(window: TimeWindow) -> list[dict[str, str | None]]:
    if window.dated:
        return dated_window_to_times(window)
    start, end = parse_clock(window.start), parse_clock(window.end)
    if not window.weekdays or any(day not in SIPWISE_WDAY for day in window.weekdays):
        raise PermanentError("a time window needs weekdays between 0 (Monday) and 6 (Sunday)", field="windows")
    if start >= end:
        raise UnsupportedError("Sipwise holds same-day time windows only: split an overnight window in two")
    entries = [
        {"year": None, "month": None, "mday": None, "wday": wday, "hour": hour, "minute": minute}
        for wday in weekday_runs(window.weekdays)
        for hour, minute in clock_segments(start, end)
    ]
    entries[0]["month"] = WINDOW_MARKER
    return entries


def dated_window_to_times(window: TimeWindow) -> list[dict[str, str | None]]:
    """A dated window as entries of a year, a month and days: a part of a day by its hours
    and minutes, whole days in a row of one month as one ``mday`` range. The first entry
    carries ``wday: "1-7"`` (every weekday: it changes nothing) to mark where a dated
    window begins, so adjacent windows read back as they were written."""
    try:
        start, end = window.span()
    except ValueError:
        raise PermanentError("a dated window needs a start and an end date (YYYY-MM-DD)", field="windows") from None
    if start >= end:
        raise PermanentError("a dated window must end after it starts", field="windows")
    if end.year > TIME_YEAR_MAX:
        raise PermanentError(f"Sipwise time sets end in the year {TIME_YEAR_MAX}", field="windows")
    entries: list[dict[str, str | None]] = []
    run: list[date] = []  # whole days in a row, of one month

    def close_run() -> None:
        if run:
            entries.append({"year": str(run[0].year), "month": str(run[0].month), "mday": span(run[0].day, run[-1].day),
                            "wday": None, "hour": None, "minute": None})
            run.clear()

    for day, first, last in day_parts(start, end):
        if first == 0 and last == MINUTES_PER_DAY:
            if run and (run[-1].month != day.month or run[-1].year != day.year):
                close_run()
            run.append(day)
            continue
        close_run()
        entries += [{"year": str(day.year), "month": str(day.month), "mday": str(day.day), "wday": None,
                     "hour": hour, "minute": minute} for hour, minute in clock_segments(first, last)]
    close_run()
    entries[0]["wday"] = DATED_MARKER
    return entries


def dated_entry_span(entry: dict[str, Any]) -> tuple[datetime, datetime]:
    """[start, end) of one entry of a dated window (a single year)."""
    year = int(str(entry["year"]).partition("-")[0])
    first_month, last_month = parse_span(entry.get("month"), 1, 12)
    last_of_month = calendar.monthrange(year, last_month)[1]
    first_day, _ = parse_span(entry.get("mday"), 1, 31)
    _, last_day = parse_span(entry.get("mday"), 1, last_of_month)
    first_minute, last_minute = entry_minutes(entry)
    return (datetime(year, first_month, first_day) + timedelta(minutes=first_minute),
            datetime(year, last_month, min(last_day, last_of_month)) + timedelta(minutes=last_minute))


def dated_times_to_windows(times: list[dict[str, Any]], timezone: str) -> list[TimeWindow]:
    windows = []
    for block in marked_runs(times, lambda entry: entry.get("wday") == DATED_MARKER):
        spans = [dated_entry_span(entry) for entry in block]
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        windows.append(TimeWindow(weekdays=[], start=f"{start:%H:%M}", end=f"{end:%H:%M}", timezone=timezone,
                                  start_date=start.date().isoformat(), end_date=end.date().isoformat()))
    return windows


def parse_span(value: Any, low: int, high: int) -> tuple[int, int]:
    """(first, last) of a Sipwise field value; None means the whole range."""
    if value is None or value == "":
        return low, high
    first, _, last = str(value).partition("-")
    return int(first), int(last or first)


def entry_weekdays(entry: dict[str, Any]) -> set[int]:
    first, last = parse_span(entry.get("wday"), 1, 7)
    days = range(first, last + 1) if first <= last else [*range(first, 8), *range(1, last + 1)]
    return {PORTAL_WEEKDAY[day] for day in days}


def entry_minutes(entry: dict[str, Any]) -> tuple[int, int]:
    first_hour, last_hour = parse_span(entry.get("hour"), 0, 23)
    first_minute, last_minute = parse_span(entry.get("minute"), 0, 59)
    if first_hour > last_hour or first_minute > last_minute:  # cyclic ranges set elsewhere: whole day
        return 0, MINUTES_PER_DAY
    return first_hour * 60 + first_minute, last_hour * 60 + last_minute + 1


def times_to_windows(times: list[dict[str, Any]], timezone: str) -> list[TimeWindow]:
    """Weekly windows first, then the dated ones (entries with a year), each in the order sent."""
    dated = [entry for entry in times if entry.get("year") not in (None, "")]
    weekly = [entry for entry in times if entry.get("year") in (None, "")]
    return weekly_times_to_windows(weekly, timezone) + dated_times_to_windows(dated, timezone)


def weekly_times_to_windows(times: list[dict[str, Any]], timezone: str) -> list[TimeWindow]:
    windows = []
    for block in marked_runs(times, lambda entry: entry.get("month") == WINDOW_MARKER):
        weekdays = set().union(*(entry_weekdays(entry) for entry in block))
        spans = [entry_minutes(entry) for entry in block]
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        windows.append(TimeWindow(weekdays=sorted(weekdays), start=clock(start), end=clock(end), timezone=timezone))
    return windows


# ------------------------------------------------------------------------ helpers
def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "trunk"


def embedded(doc: dict[str, Any], collection: str) -> list[dict[str, Any]]:
    # Old platforms embed a lone item as an object rather than a one-element array.
    items = doc.get("_embedded", {}).get(f"ngcp:{collection}", [])
    return items if isinstance(items, list) else [items]


def retry_after_seconds(value: str | None) -> float:
    if not value:
        return 1.0
    if value.strip().isdigit():
        return float(value)
    try:
        return max(1.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return 1.0


FIELD_PATTERNS = (
    re.compile(r"field='([^']+)'"),
    re.compile(r"^Invalid '([^']+)'"),
    re.compile(r"^A (primary_number) is required"),  # master: a sipaccount subscriber needs one
)


def error_field(message: str) -> str | None:
    for pattern in FIELD_PATTERNS:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return None


@contextlib.contextmanager
def trunk_numbers_named_as_in_the_portal() -> Iterator[None]:
    """A refusal of a trunk's primary or alias number names the trunk's ``numbers`` field."""
    try:
        yield
    except PermanentError as error:
        if error.field in ("primary_number", "alias_numbers") or (error.field or "").startswith("alias_numbers."):
            error.field = "numbers"
        raise


# ------------------------------------------------------------------------ adapter
def contact_marker(portal_id: str) -> str | None:
    """What a contact carries to say which portal customer it was made for."""
    return f"portal:{portal_id}" if portal_id and "*" not in portal_id else None


class SipwiseAdapter(CarrierAdapter):
    kind = "sipwise"
    label = "Sipwise C5"
    capabilities = Capabilities(
        customers=True,
        subscribers=True,
        fixed_sip_domain=True,
        trunks=True,
        number_config=False,
        number_inventory=False,
        emergency_address=False,
        forwards=True,
        forward_owners=frozenset({"subscriber"}),
        forward_types=frozenset(FORWARD_TYPES),
        max_destinations=MAX_DESTINATIONS,
        ring_timeouts=True,
        time_windows=True,
        date_windows=True,
        trunk_types=frozenset({"auth"}),
        trunk_fields=TRUNK_FIELDS,
        subscriber_renames=False,
        notes=(
            "Numbers are a subscriber's primary or alias numbers: change them on the subscriber.",
            "Time windows are same-day only and in the platform's time zone; dated (holiday) windows too.",
            "A disabled call forward is removed at Sipwise (the portal keeps its destinations).",
            "A trunk is a subscriber with SIP credentials, allowed IPs and an outgoing call limit; "
            "Sipwise has no incoming-only call limit, codecs or host for it.",
        ),
    )

    def __init__(
        self,
        config: AccountConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        page_size: int | None = None,
        timezone: str | None = None,
    ) -> None:
        super().__init__(config, transport=transport)
        settings = config.settings
        self.page_size = int(page_size or settings.get("page_size") or 100)
        self.timezone = timezone or settings.get("timezone") or "Europe/London"
        self.domain = settings.get("domain", "")
        self.ring_timeout = int(settings.get("no_answer_ring_timeout") or 20)
        password = config.credentials.get("password", "")
        self._secrets = {password} - {""}
        self.client = CarrierClient(config, auth=(settings.get("username", ""), password), transport=transport)

    # ------------------------------------------------------------------ transport
    def close(self) -> None:
        self.client.close()

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        patch: list[dict[str, Any]] | None = None,
        prefer: str | None = None,
        secrets_sent: tuple[str, ...] = (),
    ) -> httpx.Response:
        headers = {"Prefer": prefer} if prefer else {}
        kwargs: dict[str, Any] = {"params": params, "headers": headers}
        if patch is not None:
            headers["Content-Type"] = "application/json-patch+json"
            kwargs["content"] = json.dumps(patch)
        elif body is not None:
            kwargs["json"] = body
        response = self.client.request(method, path, **kwargs)
        log.debug("sipwise %s %s -> %s", method, path, response.status_code)
        if response.status_code >= 400:
            raise self._error(response, secrets_sent)
        return response

    def _get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._request("GET", path, params=params).json()

    def _create(self, collection: str, body: dict[str, Any], secrets_sent: tuple[str, ...] = ()) -> str:
        response = self._request("POST", f"{collection}/", body=body, secrets_sent=secrets_sent)
        location = response.headers.get("location", "")
        remote_id = location.rstrip("/").rsplit("/", 1)[-1]
        if not remote_id.isdigit():
            raise TransientError(f"Sipwise created a {collection} item without a usable Location header")
        return remote_id

    def _error(self, response: httpx.Response, secrets_sent: tuple[str, ...]) -> Exception:
        status = response.status_code
        try:
            message = str(response.json().get("message") or response.reason_phrase)
        except (ValueError, AttributeError):
            message = response.reason_phrase or f"HTTP {status}"
        for secret in self._secrets | set(secrets_sent):
            if secret:
                message = message.replace(secret, "*****")
        if status == 401 or (status == 403 and message in AUTH_FAILURES):
            return AuthenticationError(f"Sipwise refused the login: {message}", status=status)
        if status == 404:
            return NotFoundError(message, status=status)
        if status == 429:
            return RateLimitedError(message, retry_after=retry_after_seconds(response.headers.get("retry-after")))
        if status == 423 or status >= 500:
            return TransientError(message, status=status)
        if status == 422 and "already exist" in message:
            return DuplicateError(message, status=status, field=error_field(message))
        return PermanentError(message, status=status, field=error_field(message))

    def _pages(self, collection: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, one page in memory at a time."""
        page = 1
        while True:
            doc = self._get(f"{collection}/", {**(params or {}), "page": page, "rows": self.page_size})
            yield from embedded(doc, collection)
            if "next" not in doc.get("_links", {}):
                return
            page += 1

    def _first(self, collection: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return embedded(self._get(f"{collection}/", {**params, "rows": self.page_size}), collection)

    def test_connection(self) -> None:
        self._get(f"billingprofiles/{self.config.settings.get('billing_profile_id')}")

    # ------------------------------------------------------------------ customers
    def _contact_body(self, spec: CustomerSpec) -> dict[str, Any]:
        first, _, last = spec.contact_name.strip().partition(" ")
        address = spec.address
        street = "\n".join(line for line in (address.get("line1", ""), address.get("line2", "")) if line)
        return {
            "company": spec.name or None,
            "firstname": first or None,
            "lastname": last.strip() or None,
            "email": spec.email or None,
            "phonenumber": digits(spec.phone) if spec.phone else None,
            "street": street or None,
            "city": address.get("city") or None,
            "postcode": address.get("postcode") or None,
            "country": address.get("country") or None,
            "gpp0": spec.external_ref or None,
            "gpp9": contact_marker(spec.portal_id),
        }

    def _customer_body(self, spec: CustomerSpec) -> dict[str, Any]:
        if spec.status not in CUSTOMER_STATUS:
            raise PermanentError(f"unknown customer status {spec.status!r}", field="status")
        return {"status": CUSTOMER_STATUS[spec.status], "external_id": spec.portal_id or None}

    def create_customer(self, spec: CustomerSpec) -> str:
        customer = self._customer_body(spec)
        step = progress()
        # A contact an earlier attempt made (its customer POST then failed on the way) is
        # reused, brought up to date: a second one would be an orphan.
        # So is one whose POST landed but whose answer never came back (a timeout, a killed
        # worker): found by the portal id it carries.
        contact_id = step.parts.get("contact_id")
        if not (contact_id and self._contact_exists(contact_id)):
            contact_id = next(iter(self._unattached_contacts(spec.email, spec.portal_id)), None)
            if contact_id:
                step.remember("contact_id", contact_id)
        if contact_id:
            self._patch_fields(f"customercontacts/{contact_id}", self._contact_body(spec))
        else:
            contact_id = self._create("customercontacts", self._contact_body(spec))
            step.remember("contact_id", contact_id)
        settings = self.config.settings
        body = {
            **customer,
            "contact_id": int(contact_id),
            "billing_profile_id": settings.get("billing_profile_id"),
            "type": settings.get("customer_type") or "sipaccount",
        }
        try:
            remote_id = self._create("customers", body)
        except PermanentError:
            self._discard_contact(contact_id)
            raise
        step.forget("contact_id")  # it belongs to the customer now
        return remote_id

    def _contact_exists(self, contact_id: str) -> bool:
        try:
            self._get(f"customercontacts/{contact_id}")
        except NotFoundError:
            return False
        return True

    def _discard_contact(self, contact_id: str) -> None:
        """Best effort: a contact whose customer was refused should not linger."""
        try:
            self._request("DELETE", f"customercontacts/{contact_id}")
        except NotFoundError:
            pass
        except CarrierError as error:
            log.warning("sipwise contact %s left behind: %s", contact_id, error.message)
            return
        progress().forget("contact_id")

    def _unattached_contacts(self, email: str, portal_id: str) -> list[str]:
        """This portal customer's contacts that no customer uses: what its creates left."""
        marker = contact_marker(portal_id)
        if not (email and marker):
            return []
        made = [str(c["id"]) for c in self._first("customercontacts", {"email": email}) if c.get("gpp9") == marker]
        return [contact_id for contact_id in made if not self._first("customers", {"contact_id": contact_id})]

    def discard_parts(self, kind: str, parts: dict[str, str], lookup: dict | None = None) -> None:
        if kind != "customer":
            return
        if parts.get("contact_id"):
            self._discard_contact(parts["contact_id"])
        lookup = lookup or {}
        for contact_id in self._unattached_contacts(lookup.get("email") or "", lookup.get("portal_id") or ""):
            self._discard_contact(contact_id)

    def fetch_customer(self, remote_id: str) -> CustomerSpec:
        return self._customer_spec(self._get(f"customers/{remote_id}"))

    def _customer_spec(self, customer: dict[str, Any]) -> CustomerSpec:
        contact = self._get(f"customercontacts/{customer['contact_id']}")
        line1, _, line2 = (contact.get("street") or "").partition("\n")
        address = {"line1": line1, "line2": line2, "city": contact.get("city"), "postcode": contact.get("postcode")}
        address["country"] = contact.get("country")
        return CustomerSpec(
            name=contact.get("company") or "",
            contact_name=" ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p),
            email=contact.get("email") or "",
            phone=plus(contact.get("phonenumber")),
            address={key: value for key, value in address.items() if value},
            external_ref=contact.get("gpp0") or "",
            status=PORTAL_CUSTOMER_STATUS.get(customer["status"], "active"),
            portal_id=customer.get("external_id") or "",
        )

    def update_customer(self, remote_id: str, spec: CustomerSpec) -> None:
        customer = self._get(f"customers/{remote_id}")
        if customer["status"] == "terminated":
            # Final at Sipwise: nothing of it can change any more (a second terminate, from a
            # retried push, is done already; anything else is refused in plain words).
            if spec.status == "terminated":
                return
            raise PermanentError("Sipwise keeps a terminated customer terminated: it cannot be changed or reactivated")
        self._patch_fields(f"customercontacts/{customer['contact_id']}", self._contact_body(spec))
        self._patch_fields(f"customers/{remote_id}", self._customer_body(spec))

    def _patch_fields(self, path: str, values: dict[str, Any], secrets_sent: tuple[str, ...] = ()) -> None:
        # PATCH only what the portal manages, so fields set on the platform stay as they are.
        operations = [{"op": "replace", "path": f"/{key}", "value": value} for key, value in values.items()]
        self._request("PATCH", path, patch=operations, secrets_sent=secrets_sent)

    def delete_customer(self, remote_id: str) -> None:
        # Customers have no DELETE: termination is a status (and reaches the subscribers).
        # The contact stays, as the platform keeps it for the terminated contract's history.
        if self._get(f"customers/{remote_id}")["status"] != "terminated":
            self._patch_fields(f"customers/{remote_id}", {"status": "terminated"})

    def find_customer(self, spec: CustomerSpec) -> str | None:
        if not spec.portal_id or "*" in spec.portal_id:
            return None
        found = self._first("customers", {"external_id": spec.portal_id, "not_status": "terminated"})
        return str(found[0]["id"]) if found else None

    def iter_customers(self) -> Iterator[tuple[str, CustomerSpec]]:
        for customer in self._pages("customers", {"not_status": "terminated"}):
            yield str(customer["id"]), self._customer_spec(customer)

    # ---------------------------------------------------------------- subscribers
    def _numbers(self, primary: str | None, aliases: list[str]) -> dict[str, Any]:
        return {
            "primary_number": e164_to_number(primary, "primary_number") if primary else None,
            "alias_numbers": [e164_to_number(alias, "alias_numbers") for alias in aliases],
        }

    def _subscriber_body(self, spec: SubscriberSpec) -> dict[str, Any]:
        if spec.status not in SUBSCRIBER_STATUS:
            raise PermanentError(f"unknown subscriber status {spec.status!r}", field="status")
        return {
            "username": spec.username,
            "domain": spec.domain or self.domain,
            "display_name": spec.display_name or None,
            **self._numbers(spec.primary_number, spec.alias_numbers),
            "status": SUBSCRIBER_STATUS[spec.status],
            "external_id": spec.portal_id or None,
        }

    def _subscriber_preferences(self, spec: SubscriberSpec) -> dict[str, Any]:
        return {"cli": digits(spec.caller_id) if spec.caller_id else None, "concurrent_max": spec.call_limit}

    def create_subscriber(self, spec: SubscriberSpec) -> str:
        if not spec.customer_remote_id:
            raise PermanentError("a Sipwise subscriber belongs to a customer", field="customer_remote_id")
        if not spec.password:
            raise PermanentError("Sipwise needs a SIP password for a new subscriber", field="password")
        body = {**self._subscriber_body(spec), "customer_id": int(spec.customer_remote_id), "password": spec.password}
        remote_id = self._create("subscribers", body, secrets_sent=(spec.password,))
        progress().landed(remote_id)  # before its preferences, which may still fail
        self._set_preferences(remote_id, self._subscriber_preferences(spec))
        return remote_id

    def update_subscriber(self, remote_id: str, spec: SubscriberSpec) -> None:
        values = self._subscriber_body(spec)
        if spec.customer_remote_id:
            values["customer_id"] = int(spec.customer_remote_id)
        if spec.password:
            values["password"] = spec.password
        self._patch_fields(f"subscribers/{remote_id}", values, secrets_sent=(spec.password or "",))
        self._set_preferences(remote_id, self._subscriber_preferences(spec))

    def delete_subscriber(self, remote_id: str) -> None:
        self._request("DELETE", f"subscribers/{remote_id}")

    def fetch_subscriber(self, remote_id: str) -> SubscriberSpec:
        return self._subscriber_spec(self._get(f"subscribers/{remote_id}"))

    def _subscriber_spec(self, subscriber: dict[str, Any]) -> SubscriberSpec:
        preferences = self._get(f"subscriberpreferences/{subscriber['id']}")
        return SubscriberSpec(
            username=subscriber["username"],
            domain=subscriber["domain"],
            display_name=subscriber.get("display_name") or "",
            primary_number=number_to_e164(subscriber.get("primary_number")),
            alias_numbers=[number_to_e164(alias) for alias in subscriber.get("alias_numbers") or []],
            status=PORTAL_SUBSCRIBER_STATUS.get(subscriber["status"], "active"),
            customer_remote_id=str(subscriber["customer_id"]),
            caller_id=plus(preferences.get("cli")),
            call_limit=preferences.get("concurrent_max"),
            portal_id=subscriber.get("external_id") or "",
        )

    def find_subscriber(self, spec: SubscriberSpec) -> str | None:
        return self._find_by_username(spec.username, spec.domain or self.domain)

    def _find_by_username(self, username: str, domain: str) -> str | None:
        for subscriber in self._first("subscribers", {"username": username, "domain": domain}):
            if subscriber["username"] == username:  # the filter treats '*' as a wildcard
                return str(subscriber["id"])
        return None

    def iter_subscribers(self) -> Iterator[tuple[str, SubscriberSpec]]:
        for subscriber in self._pages("subscribers"):
            if not (subscriber.get("external_id") or "").startswith(TRUNK_PREFIX):
                yield str(subscriber["id"]), self._subscriber_spec(subscriber)

    def _set_preferences(self, subscriber_id: str, wanted: dict[str, Any]) -> None:
        """Write the portal's preferences (None unsets) and keep every other one as it is."""
        current = self._get(f"subscriberpreferences/{subscriber_id}")
        updated = {key: value for key, value in current.items() if key != "_links"}
        for key, value in wanted.items():
            if value in (None, "", []):
                updated.pop(key, None)
            else:
                updated[key] = value
        if updated != {key: value for key, value in current.items() if key != "_links"}:
            self._request("PUT", f"subscriberpreferences/{subscriber_id}", body=updated)

    # -------------------------------------------------------------------- numbers
    def iter_numbers(self) -> Iterator[tuple[str, NumberSpec]]:
        for subscriber in self._pages("subscribers"):
            for number in self._held_numbers(subscriber):
                yield number.e164, number

    def fetch_number(self, remote_id: str) -> NumberSpec:
        for filter_name in ("primary_number", "alias"):
            for subscriber in self._first("subscribers", {filter_name: digits(remote_id)}):
                for number in self._held_numbers(subscriber):
                    if number.e164 == remote_id:
                        return number
        raise NotFoundError(f"no subscriber holds {remote_id}")

    @staticmethod
    def _held_numbers(subscriber: dict[str, Any]) -> list[NumberSpec]:
        held = [subscriber.get("primary_number"), *(subscriber.get("alias_numbers") or [])]
        uri = f"sip:{subscriber['username']}@{subscriber['domain']}"
        return [
            NumberSpec(e164=number_to_e164(number), destination=uri, customer_remote_id=str(subscriber["customer_id"]))
            for number in held
            if number
        ]

    def update_number(self, remote_id: str, spec: NumberSpec) -> None:
        raise UnsupportedError(
            "Sipwise holds a number as a subscriber's primary or alias number: update that subscriber instead"
        )

    # --------------------------------------------------------------------- trunks
    def _trunk_username(self, spec: TrunkSpec) -> str:
        return f"trunk-{slug(spec.portal_id or spec.name)}"

    def _refuse_unheld_trunk_fields(self, spec: TrunkSpec) -> None:
        defaults = TrunkSpec(name=spec.name)
        unheld = [
            name
            for name in vars(spec)
            if name not in TRUNK_FIELDS and name != "portal_id" and getattr(spec, name) != getattr(defaults, name)
        ]
        if spec.type not in self.capabilities.trunk_types:
            unheld.append("type")
        if unheld:
            raise UnsupportedError(f"Sipwise cannot hold a trunk's {', '.join(sorted(unheld))}")

    def _trunk_customer(self, spec: TrunkSpec) -> int:
        if spec.customer_remote_id:
            return int(spec.customer_remote_id)
        if spec.customer_ref and "*" not in spec.customer_ref:
            found = self._first("customers", {"external_id": spec.customer_ref, "not_status": "terminated"})
            if found:
                return found[0]["id"]
        raise PermanentError("a Sipwise trunk needs the Sipwise customer of its portal customer", field="customer_ref")

    def _trunk_values(self, spec: TrunkSpec) -> dict[str, Any]:
        values = {
            "display_name": spec.name,
            "status": "active" if spec.enabled else "locked",
            "external_id": TRUNK_PREFIX + (spec.portal_id or self._trunk_username(spec)),
        }
        if spec.numbers is not None:  # the trunk's main number is its primary_number
            main, *others = spec.numbers or [None]
            values.update(self._numbers(main, others))
        return values

    @staticmethod
    def _trunk_preferences(spec: TrunkSpec) -> dict[str, Any]:
        return {
            "allowed_ips": list(spec.allowed_ips),
            "concurrent_max_out": spec.channels_out,
            "cli": digits(spec.default_cli) if spec.default_cli else None,
        }

    def create_trunk(self, spec: TrunkSpec) -> CreatedTrunk:
        self._refuse_unheld_trunk_fields(spec)
        password = secrets.token_urlsafe(18)
        body = {
            **self._trunk_values(spec),
            "customer_id": self._trunk_customer(spec),
            "username": self._trunk_username(spec),
            "domain": self.domain,
            "password": password,
        }
        with trunk_numbers_named_as_in_the_portal():
            remote_id = self._create("subscribers", body, secrets_sent=(password,))
        # Live at Sipwise with these credentials now: kept before the preferences, which
        # may still fail, so that the trunk can be found, retried and deleted.
        progress().landed(remote_id, secret=password)
        self._set_preferences(remote_id, self._trunk_preferences(spec))
        return CreatedTrunk(remote_id=remote_id, password=password)

    def update_trunk(self, remote_id: str, spec: TrunkSpec) -> None:
        self._refuse_unheld_trunk_fields(spec)
        self._trunk(remote_id)
        with trunk_numbers_named_as_in_the_portal():
            self._patch_fields(f"subscribers/{remote_id}", self._trunk_values(spec))
        self._set_preferences(remote_id, self._trunk_preferences(spec))

    def _trunk(self, remote_id: str) -> dict[str, Any]:
        subscriber = self._get(f"subscribers/{remote_id}")
        if not (subscriber.get("external_id") or "").startswith(TRUNK_PREFIX):
            raise NotFoundError(f"Sipwise subscriber {remote_id} is not a trunk")
        return subscriber

    def delete_trunk(self, remote_id: str) -> None:
        self._trunk(remote_id)
        self._request("DELETE", f"subscribers/{remote_id}")

    def fetch_trunk(self, remote_id: str) -> TrunkSpec:
        return self._trunk_spec(self._trunk(remote_id))

    def _trunk_spec(self, subscriber: dict[str, Any]) -> TrunkSpec:
        preferences = self._get(f"subscriberpreferences/{subscriber['id']}")
        customer = self._get(f"customers/{subscriber['customer_id']}")
        marker = subscriber["external_id"][len(TRUNK_PREFIX) :]
        return TrunkSpec(
            name=subscriber.get("display_name") or "",
            type="auth",
            allowed_ips=list(preferences.get("allowed_ips") or []),
            channels_out=preferences.get("concurrent_max_out"),
            default_cli=plus(preferences.get("cli")),
            enabled=subscriber["status"] == "active",
            customer_ref=customer.get("external_id") or "",
            customer_remote_id=str(customer["id"]),
            numbers=[number.e164 for number in self._held_numbers(subscriber)],
            portal_id="" if marker == subscriber["username"] else marker,
        )

    def find_trunk(self, spec: TrunkSpec) -> str | None:
        return self._find_by_username(self._trunk_username(spec), self.domain)

    def reset_trunk_password(self, remote_id: str) -> str:
        self._trunk(remote_id)
        password = secrets.token_urlsafe(18)
        self._patch_fields(f"subscribers/{remote_id}", {"password": password}, secrets_sent=(password,))
        return password

    def iter_trunks(self) -> Iterator[tuple[str, TrunkSpec]]:
        for subscriber in self._pages("subscribers", {"subscriber_external_id": f"{TRUNK_PREFIX}*"}):
            yield str(subscriber["id"]), self._trunk_spec(subscriber)

    # ------------------------------------------------------------- call forwards
    def _check_forward_owner(self, owner: str) -> None:
        if owner not in self.capabilities.forward_owners:
            raise UnsupportedError(f"Sipwise holds call forwards on subscribers, not on a {owner}")

    def set_forwards(self, owner: str, remote_id: str, forwards: list[ForwardSpec]) -> None:
        self._check_forward_owner(owner)
        problems = check_forwards(self.capabilities, owner, forwards)
        if problems:
            raise UnsupportedError("; ".join(problems))
        types = [forward.type for forward in forwards]
        if len(types) != len(set(types)):
            raise PermanentError("one forward per type", field="forwards")
        current = self._get(f"callforwards/{remote_id}")
        # PUT replaces all seven types: send back the ones the portal does not manage.
        body = {cf: self._as_input(current.get(cf) or {}) for cf in ("cfs", "cfr", "cfo")}
        for forward in forwards:
            if forward.enabled and forward.destinations:
                cf_type = CF_TYPE[forward.type]
                body[cf_type] = self._forward_body(forward, current.get(cf_type) or {})
        self._request("PUT", f"callforwards/{remote_id}", body=body)

    @staticmethod
    def _as_input(forward: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in forward.items() if key not in READ_ONLY_CF_KEYS}

    def _forward_body(self, forward: ForwardSpec, current: dict[str, Any]) -> dict[str, Any]:
        for window in forward.windows:
            if window.timezone != self.timezone:
                raise UnsupportedError(f"Sipwise time windows are in {self.timezone}, not {window.timezone}")
        body: dict[str, Any] = {
            "destinations": [
                {"destination": self._target_out(d.target), "timeout": d.timeout, "priority": position}
                for position, d in enumerate(forward.destinations, start=1)
            ],
            "times": [entry for window in forward.windows for entry in window_to_times(window)],
        }
        if forward.type == "no_answer":
            body["ringtimeout"] = current.get("ringtimeout") or self.ring_timeout
        return body

    @staticmethod
    def _target_out(target: str) -> str:
        return digits(target) if target.startswith("+") else target

    @staticmethod
    def _target_in(destination: dict[str, Any]) -> str:
        simple = destination.get("simple_destination") or ""
        if simple.isdigit():
            return f"+{simple}"
        return destination["destination"]

    def fetch_forwards(self, owner: str, remote_id: str) -> list[ForwardSpec]:
        self._check_forward_owner(owner)
        current = self._get(f"callforwards/{remote_id}")
        forwards = []
        for portal_type in FORWARD_TYPES:
            forward = current.get(CF_TYPE[portal_type]) or {}
            if not forward.get("destinations"):
                continue
            ordered = sorted(forward["destinations"], key=lambda d: d.get("priority") or 0)
            forwards.append(
                ForwardSpec(
                    type=portal_type,
                    destinations=[Destination(self._target_in(d), int(d.get("timeout") or 0)) for d in ordered],
                    windows=times_to_windows(forward.get("times") or [], self.timezone),
                )
            )
        return forwards
