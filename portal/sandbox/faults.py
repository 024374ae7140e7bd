"""Injected faults: latency, random errors, outages, the next N failing, rate limits.

Faults are set through the control API for a scope: everything, one carrier, or one
account of a carrier. A request is subject to every scope that matches it, the widest
first. Each knob is optional; ``PUT /_sandbox/faults`` replaces the set of its scope, and a
PUT with no knob at all removes it.

A spec is checked and normalised when it is set, so a typo is a 400 on the control API
and never a 500 on carrier traffic later. Within one scope the knobs act in this order:
latency (always added), then outage, fail_next, rate_limit and errors; the first of those
that fails the request decides its status, and the ones after it do not see the request
(a request refused by an outage does not count against the rate limit).

Choices the requirements leave open:

* ``rate_limit`` counts each sandbox account on its own (real carriers limit per
  account), also when the fault is set for a carrier or globally; requests whose
  credentials name no account share one counter per carrier. The window is fixed: it
  starts with the first request counted and ``Retry-After`` is the time left in it.
* ``outage`` starts when it is set. In ``hang`` mode a request is held without an answer
  until the outage ends (or is cleared or replaced) and then answered 503, by which time
  a client with a shorter timeout has given up.
* ``errors.rate`` is a probability per request; statuses are drawn uniformly.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .base import whole_seconds_left

Scope = tuple[str | None, str | None]  # (carrier, account)

SCOPE_KEYS = ("carrier", "account")
OUTAGE_MODES = ("503", "hang")


class FaultSpecError(ValueError):
    pass


# -- checking a spec ------------------------------------------------------------------
def _number(knob: str, key: str, value: Any, minimum: float, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FaultSpecError(f"{knob}.{key} must be a number")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise FaultSpecError(f"{knob}.{key} must be {bound}")
    return float(value)


def _count(knob: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultSpecError(f"{knob}.{key} must be a whole number, 0 or more")
    return value


def _status(knob: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
        raise FaultSpecError(f"{knob}.{key} must be an HTTP error status (400-599)")
    return value


def _statuses(knob: str, key: str, value: Any) -> list[int]:
    if not isinstance(value, list) or not value:
        raise FaultSpecError(f"{knob}.{key} must be a non-empty list of HTTP error statuses")
    return [_status(knob, key, status) for status in value]


def _outage_mode(knob: str, key: str, value: Any) -> str:
    mode = str(value)
    if mode not in OUTAGE_MODES:
        raise FaultSpecError(f"{knob}.{key} must be '503' or 'hang'")
    return mode


def _at_least(minimum: float) -> Callable[[str, str, Any], float]:
    return lambda knob, key, value: _number(knob, key, value, minimum)


def _positive(knob: str, key: str, value: Any) -> float:
    number = _number(knob, key, value, 0)
    if number == 0:
        raise FaultSpecError(f"{knob}.{key} must be more than 0")
    return number


def _probability(knob: str, key: str, value: Any) -> float:
    return _number(knob, key, value, 0, 1)


REQUIRED = object()  # marks a field with no default

# knob -> field -> (checker, default)
KNOBS: dict[str, dict[str, tuple[Callable[[str, str, Any], Any], Any]]] = {
    "latency": {"fixed_ms": (_at_least(0), 0.0), "jitter_ms": (_at_least(0), 0.0)},
    "errors": {"rate": (_probability, REQUIRED), "statuses": (_statuses, [500])},
    "outage": {"seconds": (_positive, REQUIRED), "mode": (_outage_mode, "503")},
    "fail_next": {"count": (_count, REQUIRED), "status": (_status, 503)},
    "rate_limit": {"requests": (_count, REQUIRED), "window_seconds": (_positive, 60.0)},
}


def _checked_knob(knob: str, given: Any) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise FaultSpecError(f"{knob} must be an object")
    fields = KNOBS[knob]
    unknown = set(given) - set(fields)
    if unknown:
        raise FaultSpecError(f"unknown keys in {knob}: {', '.join(sorted(unknown))}")
    checked = {}
    for key, (check, default) in fields.items():
        if key in given:
            checked[key] = check(knob, key, given[key])
        elif default is REQUIRED:
            raise FaultSpecError(f"{knob}.{key} is required")
        else:
            checked[key] = default
    return checked


def checked_knobs(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The knobs of a control-API spec, complete with defaults; FaultSpecError if wrong."""
    unknown = set(spec) - set(KNOBS) - set(SCOPE_KEYS)
    if unknown:
        raise FaultSpecError(f"unknown keys: {', '.join(sorted(unknown))}")
    return {knob: _checked_knob(knob, spec[knob]) for knob in KNOBS if knob in spec}


# -- acting on requests -----------------------------------------------------------------
@dataclass
class Verdict:
    """What the injector decided for one request."""

    delay: float = 0.0  # seconds to wait before anything else
    status: int | None = None  # answer with this error status instead of the route
    hang_for: float = 0.0  # hold the request this long (or until lifted), then fail
    lifted: asyncio.Event | None = None  # set when the hanging outage is cleared
    retry_after: int | None = None  # set on rate limiting (status 429)

    async def wait(self) -> None:
        """Sleep the injected latency, then hold a hanging request."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.hang_for and self.lifted is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.lifted.wait(), self.hang_for)


@dataclass
class FaultSet:
    scope: Scope
    knobs: dict[str, dict[str, Any]]
    set_at: float = field(default_factory=time.monotonic)
    fail_next_left: int = 0
    lifted: asyncio.Event = field(default_factory=asyncio.Event)
    window_start: dict[str, float] = field(default_factory=dict)
    window_count: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fail_next_left = self.knobs.get("fail_next", {}).get("count", 0)

    def outage_left(self, now: float) -> float:
        outage = self.knobs.get("outage")
        return max(0.0, self.set_at + outage["seconds"] - now) if outage else 0.0

    def judge(self, verdict: Verdict, who: str, now: float, rng: random.Random) -> None:
        knobs = self.knobs
        if latency := knobs.get("latency"):
            jitter = latency["jitter_ms"]
            verdict.delay = max(0.0, verdict.delay + (latency["fixed_ms"] + rng.uniform(-jitter, jitter)) / 1000)
        if verdict.status is not None:
            return
        if remaining := self.outage_left(now):
            if knobs["outage"]["mode"] == "hang":
                verdict.hang_for, verdict.lifted = remaining, self.lifted
            verdict.status = 503
            return
        if self.fail_next_left > 0:
            self.fail_next_left -= 1
            verdict.status = knobs["fail_next"]["status"]
            return
        if (limit := knobs.get("rate_limit")) and self._over_rate_limit(limit, verdict, who, now):
            return
        if (errors := knobs.get("errors")) and rng.random() < errors["rate"]:
            verdict.status = rng.choice(errors["statuses"])

    def _over_rate_limit(self, limit: dict[str, Any], verdict: Verdict, who: str, now: float) -> bool:
        window = limit["window_seconds"]
        start = self.window_start.get(who)
        if start is None or now - start >= window:
            self.window_start[who], self.window_count[who] = now, 0
            start = now
        if self.window_count[who] >= limit["requests"]:
            verdict.status = 429
            verdict.retry_after = max(1, whole_seconds_left(start, window, now))
            return True
        self.window_count[who] += 1
        return False

    def lift(self) -> None:
        """Release requests held by a hanging outage of this set."""
        self.lifted.set()

    def describe(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"carrier": self.scope[0], "account": self.scope[1], **self.knobs}
        if "fail_next" in doc:
            doc["fail_next"] = {**doc["fail_next"], "remaining": self.fail_next_left}
        if "outage" in doc:
            doc["outage"] = {**doc["outage"], "remaining_seconds": round(self.outage_left(time.monotonic()), 3)}
        return doc


class FaultInjector:
    def __init__(self, seed: int | None = None) -> None:
        self.sets: dict[Scope, FaultSet] = {}
        self.rng = random.Random(seed)

    @property
    def active(self) -> bool:
        return bool(self.sets)

    def put(
        self, spec: dict[str, Any], carriers: set[str], carrier_of_account: Callable[[str], str | None]
    ) -> FaultSet | None:
        """Set (or, with no knob, remove) the faults of the spec's scope.

        ``carrier_of_account`` tells the carrier of a sandbox account id (None: no such
        account); an account scope may leave its carrier out.
        """
        knobs = checked_knobs(spec)
        scope = self._scope(spec, carriers, carrier_of_account)
        previous = self.sets.pop(scope, None)
        if previous is not None:
            previous.lift()
        if not knobs:
            return None
        fault_set = self.sets[scope] = FaultSet(scope=scope, knobs=knobs)
        return fault_set

    @staticmethod
    def _scope(spec: dict[str, Any], carriers: set[str], carrier_of_account: Callable[[str], str | None]) -> Scope:
        carrier, account = spec.get("carrier"), spec.get("account")
        if carrier is not None and carrier not in carriers:
            raise FaultSpecError(f"unknown carrier: {carrier}")
        if account is None:
            return carrier, None
        if not isinstance(account, str):
            raise FaultSpecError("account must be a sandbox account id")
        owner = carrier_of_account(account)
        if owner is None:
            raise FaultSpecError(f"no such sandbox account: {account}")
        if carrier is not None and carrier != owner:
            raise FaultSpecError(f"account {account} is a {owner} account, not {carrier}")
        return owner, account

    def clear(self) -> None:
        for fault_set in self.sets.values():
            fault_set.lift()
        self.sets.clear()

    def judge(self, carrier: str, account: str | None) -> Verdict:
        verdict = Verdict()
        now = time.monotonic()
        who = f"{carrier}:{account or '-'}"
        scopes: list[Scope] = [(None, None), (carrier, None)]
        if account is not None:
            scopes.append((carrier, account))
        for scope in scopes:
            fault_set = self.sets.get(scope)
            if fault_set is not None:
                fault_set.judge(verdict, who, now, self.rng)
        return verdict

    def describe(self) -> list[dict[str, Any]]:
        return [fault_set.describe() for fault_set in self.sets.values()]
