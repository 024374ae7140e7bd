"""Per-carrier-account request limits shared by every worker process.

A sliding-window log: at most ``requests`` calls in any window of ``window`` seconds,
which keeps us inside a carrier's limit however its own window is aligned. The carrier's
own signals win over our count: a 429's ``Retry-After`` and SureVoIP's
``X-SureVoIP-API-RateLimit-Remaining: 0`` block the account until the given time.

When no request may be sent, :meth:`Limiter.acquire` returns the wait instead of
sleeping; the engine stores it in the job's ``next_attempt_at``. Redis holds the log when
``REDIS_URL`` is set; otherwise the database does (SQLite or PostgreSQL).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

# A little slack against clock skew between us and the carrier at window edges.
SAFETY_SECONDS = 0.25


@dataclass(frozen=True)
class Rate:
    requests: int
    window: float  # seconds

    def __str__(self) -> str:
        return f"{self.requests} per {self.window:g} s"


def rate_for(account) -> Rate:
    """The account's own limit, else the default for its carrier kind."""
    if account.rate_limit_requests and account.rate_limit_window:
        return Rate(account.rate_limit_requests, float(account.rate_limit_window))
    requests, window = settings.SYNC_RATE_LIMITS[account.kind]
    return Rate(requests, float(window))


class Limiter:
    in_database = False  # True: acquire() writes in the caller's transaction, if there is one

    def acquire(self, account_id: int, rate: Rate) -> float:
        """Take one request from the budget: 0.0 if taken, else the seconds to wait."""
        raise NotImplementedError

    def block(self, account_id: int, seconds: float) -> None:
        """The carrier told us to wait: no request for this account before then."""
        raise NotImplementedError

    def used(self, account_id: int, rate: Rate) -> int:
        """Requests sent in the current window (read-only: for pages, never for a decision)."""
        raise NotImplementedError


class DatabaseLimiter(Limiter):
    in_database = True
    # Old events are deleted every this many requests a process sends: the count only
    # looks inside the window, so they cost table space, not correctness.
    FORGET_EVERY = 64

    def __init__(self) -> None:
        self._sent = 0

    def acquire(self, account_id: int, rate: Rate) -> float:
        from django.db import connection

        from . import jobsql

        self._sent += 1
        forget = self._sent % self.FORGET_EVERY == 0
        # Plain SQL (jobsql): this runs before every request a worker sends.
        if connection.vendor == "sqlite":
            # One statement, atomic on SQLite, and outside a transaction its write lock is
            # held for it alone: the unit is taken only if the window has room and the
            # carrier has not blocked us.
            for _ in range(3):
                now = time.time()
                window_start = now - rate.window - SAFETY_SECONDS
                if jobsql.take_request_unit(account_id, now, window_start, rate.requests, forget=forget):
                    return 0.0
                wait, _, _ = self._wait(account_id, rate)
                if wait:
                    return wait
                # Room again by the time we looked (a unit left the window): take it.
            return 0.05
        # Inside a caller's transaction (a claim's) no savepoint is needed: nothing here
        # fails half-way that the caller would want to keep.
        with transaction.atomic(savepoint=False):
            # Locking the account's throttle row serialises the count-then-insert across
            # workers on PostgreSQL (and within a transaction on SQLite).
            wait, now, window_start = self._wait(account_id, rate, lock=True)
            if wait:
                return wait
            jobsql.record_request(account_id, now, forget_before=window_start if forget else None)
        return 0.0

    @staticmethod
    def _wait(account_id: int, rate: Rate, lock: bool = False) -> tuple[float, float, float]:
        """How long until the account may send again (0.0: now); the time and the start of
        the window it was judged by, read once the account's row is (``lock``) locked."""
        from . import jobsql
        from .models import CarrierThrottle

        throttle = jobsql.throttle(account_id, lock=lock)
        if throttle is None:
            CarrierThrottle.objects.get_or_create(carrier_account_id=account_id)
            throttle = jobsql.throttle(account_id, lock=lock)
        now = time.time()
        window_start = now - rate.window - SAFETY_SECONDS
        blocked_until = jobsql.as_datetime(throttle[0])
        if blocked_until and blocked_until.timestamp() > now:
            return blocked_until.timestamp() - now, now, window_start
        sent, oldest = jobsql.recent_requests(account_id, window_start)
        wait = max(oldest - window_start, 0.05) if sent >= rate.requests else 0.0
        return wait, now, window_start

    def used(self, account_id: int, rate: Rate) -> int:
        from . import jobsql

        return jobsql.recent_requests(account_id, time.time() - rate.window - SAFETY_SECONDS)[0]

    def block(self, account_id: int, seconds: float) -> None:
        from .models import CarrierThrottle

        until = timezone.now() + timezone.timedelta(seconds=seconds)
        with transaction.atomic():
            throttle, _ = CarrierThrottle.objects.select_for_update().get_or_create(carrier_account_id=account_id)
            if throttle.blocked_until is None or throttle.blocked_until < until:
                throttle.blocked_until = until
                throttle.save(update_fields=["blocked_until"])


# KEYS[1] the log (sorted set), KEYS[2] the block key; ARGV now, window, limit, member.
_ACQUIRE = """
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return tostring(blocked / 1000) end
local now = tonumber(ARGV[1])
local start = now - tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', start)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(math.max(tonumber(oldest[2]) - start, 0.05))
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return '0'
"""


class RedisLimiter(Limiter):
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self._acquire = self.redis.register_script(_ACQUIRE)

    def acquire(self, account_id: int, rate: Rate) -> float:
        import uuid

        now = time.time()
        wait = self._acquire(
            keys=[f"portal:ratelimit:{account_id}", f"portal:ratelimit:{account_id}:blocked"],
            args=[now, rate.window + SAFETY_SECONDS, rate.requests, f"{now}:{uuid.uuid4().hex[:8]}"],
        )
        return float(wait)

    def used(self, account_id: int, rate: Rate) -> int:
        since = time.time() - rate.window - SAFETY_SECONDS
        return int(self.redis.zcount(f"portal:ratelimit:{account_id}", since, "+inf"))

    def block(self, account_id: int, seconds: float) -> None:
        key = f"portal:ratelimit:{account_id}:blocked"
        millis = max(int(seconds * 1000), 1)
        current = self.redis.pttl(key)
        if current is None or current < millis:
            self.redis.set(key, 1, px=millis)


@lru_cache(maxsize=1)
def _limiter_for(redis_url: str) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else DatabaseLimiter()


def get_limiter() -> Limiter:
    return _limiter_for(settings.REDIS_URL)


def budget_used(account) -> tuple[int, Rate]:
    """How many of the account's requests the current window has used, and its rate."""
    rate = rate_for(account)
    return get_limiter().used(account.pk, rate), rate
