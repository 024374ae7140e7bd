"""The one interface the portal uses to talk to any carrier.

The sync engine turns portal models into the plain *specs* below (portal terms: E.164
numbers, portal field names) and calls an adapter; the adapter speaks the carrier's
dialect over one httpx client and turns the carrier's answers back into specs. Adapters
never import Django models, so they can be tested against the sandbox on their own.

Every adapter declares a :class:`Capabilities` set. The service layer refuses what a
carrier cannot hold before anything is saved, and the pages read it to show, hide or
explain fields, so nothing outside this package names a carrier.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

import httpx

from portal import __version__

log = logging.getLogger(__name__)

USER_AGENT = f"voip-reseller-portal/{__version__}"

# Portal call-forward types, in the order pages list them.
FORWARD_TYPES = ("unconditional", "busy", "no_answer", "unavailable")


# --------------------------------------------------------------------------- errors
class CarrierError(Exception):
    """Something the carrier (or the way to it) said no to.

    ``message`` is the carrier's own wording where it gave one; it is shown to the
    person who made the change, so it must never contain a secret.
    """

    transient: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field

    def __str__(self) -> str:
        prefix = f"{self.field}: " if self.field else ""
        return f"{prefix}{self.message}"


class TransientError(CarrierError):
    """Worth retrying: timeouts, connection errors, 5xx, a locked object."""

    transient = True


class RateLimitedError(TransientError):
    """The carrier asked us to slow down; ``retry_after`` is the wait in seconds."""

    def __init__(self, message: str, *, retry_after: float, status: int | None = 429):
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentError(CarrierError):
    """The carrier rejected the data or the request; retrying will not help."""


class AuthenticationError(PermanentError):
    """The carrier did not accept the account's credentials (or our address)."""


class NotFoundError(PermanentError):
    """The remote object does not exist (for this account)."""


class DuplicateError(PermanentError):
    """The object already exists at the carrier; ``remote_id`` names it when known."""

    def __init__(self, message: str, *, remote_id: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.remote_id = remote_id


class UnsupportedError(PermanentError):
    """The carrier cannot hold this object or field (see the capability set)."""


# --------------------------------------------------------------------- capabilities
@dataclass(frozen=True)
class Capabilities:
    """What a carrier can hold, in portal terms."""

    customers: bool = False
    subscribers: bool = False
    trunks: bool = False
    number_config: bool = False  # a number's destination/routing is held at the carrier
    number_inventory: bool = False  # search available, allocate, release
    number_blocks: tuple[int, ...] = ()  # sizes of the consecutive blocks its search offers
    emergency_address: bool = False
    forwards: bool = False
    forward_owners: frozenset[str] = frozenset()  # {"subscriber", "number"}
    forward_types: frozenset[str] = frozenset()  # subset of FORWARD_TYPES
    max_destinations: int = 0  # per forward
    ring_timeouts: bool = False  # a timeout per destination
    time_windows: bool = False  # weekly windows: weekdays and times of day
    # Dated windows: from a date (and time) to a date (and time), e.g. a holiday.
    date_windows: bool = False
    # The carrier's dates have no year (Simwood's rules): it applies them every year, so a
    # dated window must last less than a year and end within one; the portal clears a
    # window that is over (``forwards.services.end_past_windows``) before it comes round again.
    dates_repeat_yearly: bool = False
    # The carrier's times of day are HHMM up to 2359, and an end of 2359 runs to midnight
    # (Simwood): a dated window can neither start nor end at 23:59 and read back the same.
    last_minute_runs_to_midnight: bool = False
    # A number stays with the customer it was allocated to (SureVoIP allocates it to a
    # customer and cannot move or release it through its API).
    numbers_stay_with_customer: bool = False
    trunk_types: frozenset[str] = frozenset()  # {"ip", "auth"}
    trunk_fields: frozenset[str] = frozenset()  # TrunkSpec field names the carrier holds
    # The carrier names a trunk by its name (Simwood): it cannot be renamed once it exists.
    trunk_renames: bool = True
    # The carrier keeps a SIP account's username and domain for good (Sipwise: 422 on a change).
    subscriber_renames: bool = True
    # CustomerSpec field names the carrier holds and reads back (empty: all of them), so that
    # reconciliation does not see drift in a field the carrier never keeps.
    customer_fields: frozenset[str] = frozenset()
    # A number's unconditional forward *is* its destination (SureVoIP): a number cannot
    # hold both a destination and a different always-on forward.
    forward_is_destination: bool = False
    # Subscribers must live in the carrier account's own SIP domain (settings["domain"]).
    fixed_sip_domain: bool = False
    notes: tuple[str, ...] = ()  # plain-language gaps, shown to staff


# ------------------------------------------------------------------------- the specs
@dataclass
class Destination:
    target: str  # E.164 ("+441632960001") or a SIP URI ("sip:alice@example.com")
    timeout: int = 20  # seconds to ring before the next destination


@dataclass
class TimeWindow:
    """A weekly window (``weekdays`` from ``start`` to ``end`` each of those days), or a
    dated one (``start_date`` at ``start`` to ``end_date`` at ``end``, one stretch; no
    weekdays). Dated windows are what a holiday forward is made of."""

    weekdays: list[int]  # 0 = Monday … 6 = Sunday
    start: str  # "HH:MM", inclusive
    end: str  # "HH:MM", exclusive
    timezone: str = "Europe/London"
    start_date: str = ""  # "YYYY-MM-DD": a dated window
    end_date: str = ""  # "YYYY-MM-DD"; a window to the end of 2 Jan ends on 3 Jan at "00:00"

    @property
    def dated(self) -> bool:
        return bool(self.start_date)

    def span(self) -> tuple[datetime, datetime]:
        """A dated window's [start, end) as naive local date-times (in ``timezone``)."""
        return (
            datetime.combine(date.fromisoformat(self.start_date), clock_time(self.start)),
            datetime.combine(date.fromisoformat(self.end_date), time()) + timedelta(minutes=minutes_of(self.end)),
        )


def minutes_of(hhmm: str) -> int:
    """"HH:MM" (up to "24:00") as minutes after midnight."""
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes)


def clock_time(hhmm: str) -> time:
    return time(0, 0) if hhmm == "24:00" else time.fromisoformat(hhmm)


YEAR = timedelta(days=365)
LAST_MINUTE = time(23, 59)
MINUTES_PER_DAY = 24 * 60


def marked_runs(items: list[Any], begins: Callable[[Any], bool]) -> list[list[Any]]:
    """``items`` split into runs, a new one at each item ``begins`` marks (and at the first):
    how adapters find the windows again in the entries they wrote them as."""
    runs: list[list[Any]] = []
    for item in items:
        if not runs or begins(item):
            runs.append([])
        runs[-1].append(item)
    return runs


def day_parts(start: datetime, end: datetime) -> Iterator[tuple[date, int, int]]:
    """(day, first minute, end minute) of each day that [start, end) touches; the end
    minute of a day that runs to midnight is 1440."""
    day = start.date()
    while datetime.combine(day, time()) < end:
        midnight = datetime.combine(day, time())
        first = max(start, midnight) - midnight
        last = min(end, midnight + timedelta(days=1)) - midnight
        yield day, int(first.total_seconds()) // 60, int(last.total_seconds()) // 60
        day += timedelta(days=1)


@dataclass
class ForwardSpec:
    type: str  # one of FORWARD_TYPES
    enabled: bool = True
    destinations: list[Destination] = field(default_factory=list)
    windows: list[TimeWindow] = field(default_factory=list)  # empty: always


@dataclass
class CustomerSpec:
    name: str
    contact_name: str = ""
    email: str = ""
    phone: str = ""  # E.164 or ""
    address: dict[str, str] = field(default_factory=dict)  # line1, line2, city, postcode, country
    external_ref: str = ""
    status: str = "active"  # active | suspended | terminated
    portal_id: str = ""  # the portal's id, written where the carrier keeps a reference


@dataclass
class SubscriberSpec:
    username: str
    domain: str = ""
    password: str | None = None  # only sent when set; never read back
    display_name: str = ""
    primary_number: str | None = None  # E.164
    alias_numbers: list[str] = field(default_factory=list)  # E.164
    status: str = "active"
    customer_remote_id: str | None = None
    caller_id: str = ""  # E.164 or ""
    call_limit: int | None = None
    portal_id: str = ""


@dataclass
class EmergencyAddress:
    name: str = ""
    premises: str = ""
    thoroughfare: str = ""
    locality: str = ""
    postcode: str = ""


@dataclass
class NumberSpec:
    e164: str
    destination: str | None = None  # E.164 or SIP URI the number rings
    activated: bool = True
    forwards: list[ForwardSpec] = field(default_factory=list)
    customer_remote_id: str | None = None
    emergency_address: EmergencyAddress | None = None
    portal_id: str = ""


@dataclass
class TrunkSpec:
    name: str
    type: str = "ip"  # ip | auth
    allowed_ips: list[str] = field(default_factory=list)
    channels_in: int | None = None
    channels_out: int | None = None
    default_cli: str = ""  # E.164 or ""
    force_cli: bool = False
    max_cost_per_minute: str | None = None  # decimal as text
    max_cost_per_call: str | None = None
    enabled: bool = True
    host: str = ""  # where the carrier sends calls (PBX-style carriers)
    codecs: list[str] = field(default_factory=list)
    customer_ref: str = ""  # the portal customer's reference, for carriers without customers
    customer_remote_id: str | None = None  # the customer at the carrier, for carriers with customers
    # E.164 numbers routed to the trunk, its main number first, for carriers that hold a
    # trunk's numbers on it (Sipwise); None: not said, the carrier keeps what it has.
    numbers: list[str] | None = None
    portal_id: str = ""


@dataclass
class AvailableNumber:
    e164: str
    price: str = ""  # as the carrier quotes it
    tier: str = ""


@dataclass
class CreatedTrunk:
    remote_id: str
    password: str | None = None  # shown once by carriers that generate it


# ---------------------------------------------------------------- multi-request creates
class Progress:
    """What a create that takes several requests has achieved at the carrier so far.

    A Sipwise customer is a contact POST, then a customer POST; a Sipwise trunk is a
    subscriber POST, then its preferences; Simwood shows a new trunk's password once, in
    the answer to the first request. If a later request fails, what the first one made
    must be reused by the retry (not made again: an orphan), or cleaned up, and never lost
    (a trunk live at the carrier with credentials nobody knows). Adapters report each
    step here as it lands; the sync engine keeps it in the database across retries
    (``portal.sync.engine.JobProgress``). Outside a sync job this base keeps it in memory.
    """

    def __init__(self, parts: dict[str, str] | None = None) -> None:
        self.parts: dict[str, str] = dict(parts or {})
        self._sent: list[dict] = []

    def sending(self, lookup: dict) -> None:
        """A create goes out for the object ``lookup`` finds: if its answer never comes back,
        a retry made after a rename still knows what to look for."""
        if lookup not in self._sent:
            self._sent.append(lookup)

    def sent(self) -> list[dict]:
        """The lookups of the creates sent for this object so far, oldest first."""
        return list(self._sent)

    def remember(self, key: str, value: str) -> None:
        """An intermediate object landed (e.g. the contact of a customer still to create)."""
        self.parts[key] = value

    def forget(self, key: str) -> None:
        """The intermediate object was cleaned up."""
        self.parts.pop(key, None)

    def landed(self, remote_id: str, secret: str | None = None) -> None:
        """The carrier holds the object now, as ``remote_id`` (and shows ``secret`` once)."""


_progress: ContextVar[Progress | None] = ContextVar("carrier_progress", default=None)


def progress() -> Progress:
    """The progress of the operation under way (a throwaway when nobody keeps it)."""
    return _progress.get() or Progress()


@contextmanager
def keeping(tracker: Progress) -> Iterator[Progress]:
    """Adapters report to ``tracker`` while the block runs (one thread's calls only)."""
    token = _progress.set(tracker)
    try:
        yield tracker
    finally:
        _progress.reset(token)


# --------------------------------------------------------------------- the client
@dataclass
class AccountConfig:
    """Everything an adapter needs to reach one carrier account."""

    base_url: str
    credentials: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    connect_timeout: float = 5.0
    read_timeout: float = 15.0


class CarrierClient:
    """One httpx client per carrier account: base URL, auth, timeouts, User-Agent.

    Transport failures become :class:`TransientError` without the request's URL
    credentials or headers in the text. Status codes are the adapter's to interpret.
    """

    def __init__(
        self,
        config: AccountConfig,
        *,
        auth: httpx.Auth | tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base_url = config.base_url if config.base_url.endswith("/") else config.base_url + "/"
        timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
        self.http = httpx.Client(
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
            transport=transport,
        )

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        # Paths are relative to the account's base URL, never absolute.
        path = path.lstrip("/")
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise TransientError(f"timed out talking to the carrier ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"could not reach the carrier ({type(exc).__name__})") from None

    def close(self) -> None:
        self.http.close()


# -------------------------------------------------------------------- the adapter
class CarrierAdapter:
    """Base of every carrier adapter. Unsupported operations raise UnsupportedError.

    Remote ids are strings whatever the carrier uses. Create methods return the new
    remote id; ``find_*`` look an object up by its natural key so a retried create
    never makes a second object. Iterators stream page by page and yield
    ``(remote_id, spec)``.
    """

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, config: AccountConfig, *, transport: httpx.BaseTransport | None = None):
        self.config = config
        self.transport = transport

    def _unsupported(self, what: str) -> UnsupportedError:
        return UnsupportedError(f"{self.label or self.kind} cannot hold {what}")

    # lifecycle
    def test_connection(self) -> None:
        """Raise a CarrierError unless the account's credentials work."""
        raise self._unsupported("a connection test")

    def close(self) -> None:
        """Release the HTTP connections."""

    def __enter__(self) -> CarrierAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # customers
    def create_customer(self, spec: CustomerSpec) -> str:
        raise self._unsupported("customers")

    def update_customer(self, remote_id: str, spec: CustomerSpec) -> None:
        raise self._unsupported("customers")

    def delete_customer(self, remote_id: str) -> None:
        raise self._unsupported("customers")

    def fetch_customer(self, remote_id: str) -> CustomerSpec:
        raise self._unsupported("customers")

    def find_customer(self, spec: CustomerSpec) -> str | None:
        raise self._unsupported("customers")

    def iter_customers(self) -> Iterator[tuple[str, CustomerSpec]]:
        raise self._unsupported("customers")

    # subscribers
    def create_subscriber(self, spec: SubscriberSpec) -> str:
        raise self._unsupported("subscribers")

    def update_subscriber(self, remote_id: str, spec: SubscriberSpec) -> None:
        raise self._unsupported("subscribers")

    def delete_subscriber(self, remote_id: str) -> None:
        raise self._unsupported("subscribers")

    def fetch_subscriber(self, remote_id: str) -> SubscriberSpec:
        raise self._unsupported("subscribers")

    def find_subscriber(self, spec: SubscriberSpec) -> str | None:
        raise self._unsupported("subscribers")

    def iter_subscribers(self) -> Iterator[tuple[str, SubscriberSpec]]:
        raise self._unsupported("subscribers")

    # numbers
    def search_numbers(self, pattern: str = "", limit: int = 10, *, block: int = 0) -> list[AvailableNumber]:
        """Numbers the carrier offers now. ``block`` N (one of ``Capabilities.number_blocks``):
        one run of N consecutive numbers instead, in order ([] when the carrier has none)."""
        raise self._unsupported("number search")

    def still_available(self, e164s: list[str]) -> set[str]:
        """Which of ``e164s`` the carrier still offers: the re-check before allocating numbers
        picked from an earlier search (someone else may have taken them meanwhile)."""
        raise self._unsupported("number search")

    def allocate_number(
        self, e164: str, customer_remote_id: str | None = None, *, destination: str | None = None
    ) -> str:
        """Buy ``e164`` for the account (or its customer); ``destination`` is where it should
        ring, for carriers whose allocation carries one (None: not routed yet)."""
        raise self._unsupported("number purchase")

    def release_number(self, remote_id: str) -> None:
        raise self._unsupported("number release")

    def find_number(self, e164: str) -> str | None:
        """The remote id under which this account holds ``e164``; None if it does not."""
        raise self._unsupported("numbers")

    def update_number(self, remote_id: str, spec: NumberSpec) -> None:
        raise self._unsupported("number routing")

    def fetch_number(self, remote_id: str) -> NumberSpec:
        raise self._unsupported("number routing")

    def iter_numbers(self) -> Iterator[tuple[str, NumberSpec]]:
        raise self._unsupported("numbers")

    # trunks
    def create_trunk(self, spec: TrunkSpec) -> CreatedTrunk:
        raise self._unsupported("trunks")

    def update_trunk(self, remote_id: str, spec: TrunkSpec) -> None:
        raise self._unsupported("trunks")

    def delete_trunk(self, remote_id: str) -> None:
        raise self._unsupported("trunks")

    def fetch_trunk(self, remote_id: str) -> TrunkSpec:
        raise self._unsupported("trunks")

    def find_trunk(self, spec: TrunkSpec) -> str | None:
        raise self._unsupported("trunks")

    def reset_trunk_password(self, remote_id: str) -> str:
        raise self._unsupported("trunk passwords")

    def iter_trunks(self) -> Iterator[tuple[str, TrunkSpec]]:
        raise self._unsupported("trunks")

    # call forwards: the whole set of one owner at once
    def set_forwards(self, owner: str, remote_id: str, forwards: list[ForwardSpec]) -> None:
        """Make the owner's forwards at the carrier exactly ``forwards``.

        ``owner`` is "subscriber" or "number". Types the portal does not manage are
        left as they are at the carrier.
        """
        raise self._unsupported("call forwards")

    def fetch_forwards(self, owner: str, remote_id: str) -> list[ForwardSpec]:
        raise self._unsupported("call forwards")

    def iter_forwards(self, owner: str) -> Iterator[tuple[str, list[ForwardSpec]]]:
        """Every owner's forwards as ``(owner remote id, forwards)``, page by page.

        Only for carriers that list forwards with their owners; reconciliation reads the
        others owner by owner with :meth:`fetch_forwards`.
        """
        raise self._unsupported("a list of call forwards")

    # what a half-landed create left behind
    def discard_parts(self, kind: str, parts: dict[str, str], lookup: dict | None = None) -> None:
        """Remove what the first requests of a create of ``kind`` made (see :class:`Progress`)
        when the object itself never came to be and is not wanted any more: ``parts`` as
        recorded, and what ``lookup`` (the kind's natural key) finds of a request whose answer
        never came back."""

    # 999
    def set_emergency_address(self, number_remote_id: str, address: EmergencyAddress) -> None:
        raise self._unsupported("an emergency address")

    def fetch_emergency_address(self, number_remote_id: str) -> EmergencyAddress | None:
        raise self._unsupported("an emergency address")


def check_date_window(capabilities: Capabilities, window: TimeWindow, today: date | None = None) -> list[tuple[str, str]]:
    """Why a carrier cannot hold this dated window: (part, reason) pairs ([] if it can), the part
    being the ``TimeWindow`` field the reason is about (``start_date``, ``start``, ``end_date``, ``end``)."""
    if not capabilities.date_windows:
        return [("start_date", "this carrier cannot limit a forward to dates")]
    start, end = window.span()
    problems = []
    if capabilities.dates_repeat_yearly:
        # The carrier brings the dates round every year: the window must not overlap its
        # own next round, and its last round (a year before) must be over already.
        today = today or date.today()
        if end - start >= YEAR:
            problems.append(("end_date", "this carrier's dates have no year, so a dated window must be shorter "
                                         "than a year"))
        elif end.date() - today >= YEAR:
            problems.append(("end_date", "this carrier's dates have no year, so a dated window must end within a year"))
    if capabilities.last_minute_runs_to_midnight:
        if start.time() == LAST_MINUTE:
            problems.append(("start", "its last time of day, 23:59, runs to midnight, so nothing can start then: "
                                      "start at 23:58 or at 00:00 the next day"))
        if end.time() == LAST_MINUTE:
            problems.append(("end", "its last time of day, 23:59, runs to midnight: end at 00:00 the next day, "
                                    "or leave the time empty"))
    return problems


def check_forwards(
    capabilities: Capabilities, owner: str, forwards: list[ForwardSpec], today: date | None = None
) -> list[str]:
    """Plain-language reasons why a carrier cannot hold these forwards ([] if it can)."""
    problems: list[str] = []
    if forwards and not capabilities.forwards:
        return ["this carrier does not hold call forwards"]
    if forwards and owner not in capabilities.forward_owners:
        problems.append(f"this carrier does not hold call forwards on a {owner}")
    for fwd in forwards:
        label = fwd.type.replace("_", "-")
        if fwd.type not in capabilities.forward_types:
            problems.append(f"this carrier has no {label} forward")
        if len(fwd.destinations) > capabilities.max_destinations:
            problems.append(
                f"a {label} forward can have at most {capabilities.max_destinations} "
                f"destination{'s' if capabilities.max_destinations != 1 else ''} on this carrier"
            )
        if any(not w.dated for w in fwd.windows) and not capabilities.time_windows:
            problems.append(f"this carrier cannot limit a {label} forward to time windows")
        for window in (w for w in fwd.windows if w.dated):
            problems += [reason if capabilities.date_windows else f"this carrier cannot limit a {label} forward to dates"
                         for _, reason in check_date_window(capabilities, window, today)]
    return list(dict.fromkeys(problems))
