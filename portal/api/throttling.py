"""Per-token request budget (per user for sessions), kept in the shared cache."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from portal.apitokens.models import ApiToken

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"1200/min"`` → (1200, 60): requests, seconds."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()[:1]]


class TokenRateThrottle(BaseThrottle):
    """``API_THROTTLE_RATE`` requests per token (``1200/min``): more answers 429 with ``Retry-After``.

    Each token has its own budget, so one busy integration cannot use up a colleague's.
    The count is one integer per token and window in the default cache (Redis in
    production, shared by every web process), raised with the cache's atomic ``incr``:
    two cache calls a request however busy the token, and no request lost to a race
    between processes (DRF's own throttle keeps a list of every request's time and
    rewrites it whole). A fixed window: at its edge a token can send up to twice the
    rate in a short moment, never more.
    """

    def ident(self, request) -> str:
        if isinstance(request.auth, ApiToken):
            return f"token:{request.auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        allowed, period = parse_rate(settings.API_THROTTLE_RATE)
        now = time.time()
        key = f"api-throttle:{self.ident(request)}:{int(now // period)}"
        cache.add(key, 0, timeout=period + 1)
        try:
            used = cache.incr(key)
        except ValueError:  # the window's key expired between the two calls
            cache.set(key, 1, timeout=period + 1)
            used = 1
        self.retry_after = period - (now % period)
        return used <= allowed

    def wait(self) -> float:
        return max(self.retry_after, 1.0)
