"""Injected faults: latency, random errors, outages, the next N failing, rate limits.

Faults are set through the control API for a scope: everything, one carrier, or one
account of a carrier. A request is subject to every scope that matches it, the widest
first. Each knob is optional; ``PUT /_sandbox/faults`` replaces the set of its scope.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

Scope = tuple[str | None, str | None]  # (carrier, account)

KNOWN_KEYS = {"carrier", "account", "latency", "errors", "outage", "fail_next", "rate_limit"}


class FaultSpecError(ValueError):
    pass


@dataclass
class Verdict:
    """What the injector decided for one request."""

    delay: float = 0.0  # seconds to wait before anything else
    status: int | None = None  # answer with this error status instead of the route
    hang_for: float = 0.0  # keep the connection open this long, then fail
    retry_after: int | None = None  # set on rate limiting (status 429)


@dataclass
class FaultSet:
    scope: Scope
    spec: dict[str, Any]
    set_at: float = field(default_factory=time.monotonic)
    fail_next_left: int = 0
    window_start: dict[str, float] = field(default_factory=dict)
    window_count: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.fail_next_left = int(self.spec.get("fail_next", {}).get("count", 0))

    def judge(self, verdict: Verdict, who: str, now: float, rng: random.Random) -> None:
        spec = self.spec
        if latency := spec.get("latency"):
            jitter = float(latency.get("jitter_ms", 0))
            verdict.delay += (float(latency.get("fixed_ms", 0)) + rng.uniform(-jitter, jitter)) / 1000
            verdict.delay = max(verdict.delay, 0.0)
        if verdict.status is not None:
            return
        if outage := spec.get("outage"):
            remaining = self.set_at + float(outage.get("seconds", 0)) - now
            if remaining > 0:
                if outage.get("mode", "503") == "hang":
                    verdict.hang_for = remaining
                verdict.status = 503
                return
        if self.fail_next_left > 0:
            self.fail_next_left -= 1
            verdict.status = int(spec["fail_next"].get("status", 503))
            return
        if limit := spec.get("rate_limit"):
            window = float(limit.get("window_seconds", 60))
            start = self.window_start.get(who)
            if start is None or now - start >= window:
                self.window_start[who], self.window_count[who] = now, 0
                start = now
            if self.window_count[who] >= int(limit.get("requests", 0)):
                verdict.status = 429
                verdict.retry_after = max(1, math.ceil(start + window - now))
                return
            self.window_count[who] += 1
        if errors := spec.get("errors"):
            if rng.random() < float(errors.get("rate", 0)):
                verdict.status = int(rng.choice(errors.get("statuses") or [500]))

    def describe(self) -> dict[str, Any]:
        doc = dict(self.spec)
        doc["carrier"], doc["account"] = self.scope
        if "fail_next" in doc:
            doc["fail_next"] = {**doc["fail_next"], "remaining": self.fail_next_left}
        return doc


class FaultInjector:
    def __init__(self, seed: int | None = None) -> None:
        self.sets: dict[Scope, FaultSet] = {}
        self.rng = random.Random(seed)

    @property
    def active(self) -> bool:
        return bool(self.sets)

    def put(self, spec: dict[str, Any], carriers: set[str]) -> FaultSet:
        unknown = set(spec) - KNOWN_KEYS
        if unknown:
            raise FaultSpecError(f"unknown keys: {', '.join(sorted(unknown))}")
        carrier, account = spec.get("carrier"), spec.get("account")
        if carrier is not None and carrier not in carriers:
            raise FaultSpecError(f"unknown carrier: {carrier}")
        if account is not None and carrier is None:
            raise FaultSpecError("an account fault needs its carrier")
        mode = spec.get("outage", {}).get("mode", "503")
        if mode not in ("503", "hang"):
            raise FaultSpecError("outage.mode must be '503' or 'hang'")
        knobs = {k: v for k, v in spec.items() if k not in ("carrier", "account")}
        for key, value in knobs.items():
            if not isinstance(value, dict):
                raise FaultSpecError(f"{key} must be an object")
        fault_set = FaultSet(scope=(carrier, account), spec=knobs)
        self.sets[fault_set.scope] = fault_set
        return fault_set

    def clear(self) -> None:
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
        return [fs.describe() for fs in self.sets.values()]
