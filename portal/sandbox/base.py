"""What every carrier emulator in the sandbox is made of.

The sandbox core (``app.py``) knows carriers only through :class:`CarrierEmulator`:
it mounts each emulator's routes under its prefix, asks it who a request belongs to
(for faults and the request log), and asks it how that carrier words a 429 or a 5xx.
Everything an account holds lives in ``Account.data`` as plain JSON, so the store can
persist it without knowing any carrier.
"""

from __future__ import annotations

import base64
import ipaddress
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from .store import Store


@dataclass
class Account:
    """One carrier account in the sandbox.

    ``settings`` is what a portal carrier account of this kind needs (credentials and
    kind-specific values), exactly as the control API returns it. ``data`` is the
    carrier's own state for this account. ``config`` holds control-API knobs such as a
    Simotel account's IP allow-list.
    """

    id: str
    carrier: str
    settings: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "carrier": self.carrier,
            "settings": self.settings,
            "data": self.data,
            "config": self.config,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Account:
        return cls(
            id=doc["id"],
            carrier=doc["carrier"],
            settings=doc.get("settings", {}),
            data=doc.get("data", {}),
            config=doc.get("config", {}),
        )


def new_secret(nbytes: int = 18) -> str:
    return secrets.token_urlsafe(nbytes)


def whole_seconds_left(started: float, length: float, now: float) -> int:
    """Whole seconds until a window of ``length`` seconds that began at ``started`` ends.

    Rounded up, as ``Retry-After`` must not send a client back too early, but never past
    the window itself: ``started + length - now`` is computed in floating point, and when
    the clock sits just below a power of two it comes out a hair above ``length``
    (40.000000000000114 for a 40 s window), which a plain ``ceil`` turns into 41.
    """
    return max(0, math.ceil(min(length, started + length - now)))


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """The (user, password) of an HTTP Basic ``Authorization`` header, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


# -- per-account knobs (PATCH /_sandbox/accounts/{id}) ------------------------------
class KnobError(ValueError):
    """A config value the emulator cannot use; the text names the knob and what it takes."""


Knob = Callable[[str, Any], Any]  # (name, value) -> the value to store, or KnobError


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def seconds_knob(*, zero_allowed: bool) -> Knob:
    def check(name: str, value: Any) -> float:
        if not _is_number(value) or value < 0 or (value == 0 and not zero_allowed):
            bound = "0 or more" if zero_allowed else "more than 0"
            raise KnobError(f"{name} must be a number of seconds, {bound}")
        return value

    return check


def whole_number_knob(minimum: int, maximum: int | None = None, *, also: tuple[int, ...] = ()) -> Knob:
    def check(name: str, value: Any) -> int:
        in_range = _is_number(value) and value == int(value) and minimum <= value <= (maximum or math.inf)
        if not (in_range or (_is_number(value) and value in also)):
            extra = "".join(f"{choice} or " for choice in also)
            bound = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
            raise KnobError(f"{name} must be a whole number: {extra}{bound}")
        return int(value)

    return check


def choice_knob(*choices: str) -> Knob:
    def check(name: str, value: Any) -> str:
        if value not in choices:
            raise KnobError(f"{name} must be one of: {', '.join(choices)}")
        return value

    return check


def boolean_knob(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise KnobError(f"{name} must be true or false")
    return value


def address_list_knob(name: str, value: Any) -> list[str]:
    def is_address(item: Any) -> bool:
        if not isinstance(item, str):
            return False
        try:
            ipaddress.ip_address(item)
        except ValueError:
            return False
        return True

    if not isinstance(value, list) or not all(is_address(item) for item in value):
        raise KnobError(f"{name} must be a list of IP addresses")
    return value


class CarrierEmulator:
    """Base class of one carrier's emulator. Subclasses live in ``carriers/``.

    A subclass sets ``name`` and ``prefix`` and implements the methods below. Handlers
    reach the store through ``self.store``; after changing ``account.data`` they call
    ``self.store.save(account)`` so the change is persisted.
    """

    name: str = ""
    prefix: str = ""  # e.g. "/simwood/v3": the account's base URL is this prefix

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- accounts -----------------------------------------------------------------
    def new_account(self, account: Account) -> None:
        """Fill ``account.settings`` (fresh credentials etc.) and ``account.data``."""
        raise NotImplementedError

    def identify(self, request: Request) -> Account | None:
        """The account a request claims to be for, from its credentials, or None.

        Used by the fault injector and the request log before the route runs, so it
        must be cheap and must not change anything. It need not check the password:
        the routes authenticate properly.
        """
        raise NotImplementedError

    def public_state(self, account: Account) -> dict[str, Any]:
        """What ``GET /_sandbox/accounts/{id}/state`` shows for this account."""
        return account.data

    # The knobs ``PATCH /_sandbox/accounts/{id}`` may set in ``account.config``, each with
    # its check; anything else is refused there, so an account never holds a value its
    # emulator cannot use.
    config_knobs: dict[str, Knob] = {}

    def checked_config(self, changes: dict[str, Any]) -> dict[str, Any]:
        """The changes as they will be stored (None: back to the default); KnobError if any is wrong."""
        unknown = sorted(set(changes) - set(self.config_knobs))
        if unknown:
            takes = ", ".join(sorted(self.config_knobs)) or "no knobs"
            raise KnobError(f"unknown {self.name} config key {unknown[0]!r}; {self.name} takes: {takes}")
        return {
            name: None if value is None else self.config_knobs[name](name, value) for name, value in changes.items()
        }

    # Kinds (portal terms: "subscriber", "trunk"...) this emulator can make in bulk.
    bulk_kinds: tuple[str, ...] = ()

    def bulk_create(self, account: Account, kind: str, count: int) -> dict[str, Any]:
        """Add ``count`` synthetic objects of ``kind`` at once (benchmarks), then save once.

        Returns a short description of what was made. Only kinds in ``bulk_kinds``.
        """
        raise NotImplementedError

    # -- where a call would go ---------------------------------------------------------
    def routing_at(self, account: Account, owner: str, at: datetime) -> dict[str, Any]:
        """How the carrier would route a call to ``owner`` (its id or number, in the carrier's
        terms) at the local moment ``at``, by its time rules; LookupError for no such owner.
        Only for carriers whose routing depends on the time."""
        raise NotImplementedError

    # -- routes -------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """Starlette routes, relative to ``prefix``."""
        raise NotImplementedError

    # -- how this carrier words injected faults ------------------------------------
    def rate_limited_response(self, request: Request, retry_after: int) -> Response:
        """A 429 as this carrier sends it, with ``Retry-After``."""
        return JSONResponse(
            {"error": "Too Many Requests"},
            status_code=429,
            headers={"Retry-After": str(retry_after)},
        )

    def error_response(self, request: Request, status: int) -> Response:
        """An injected server error (5xx or other) as this carrier would word it."""
        return JSONResponse({"error": "Service Unavailable"}, status_code=status)
