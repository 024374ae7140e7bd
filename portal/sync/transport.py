"""The httpx transport every sync adapter sends through: the shared limiter at the door.

Each request the adapter makes takes one unit of the account's budget first; when none
is free it raises RateLimitedError with the wait, so the job is rescheduled instead of a
worker sleeping. Answers that speak of limits (429 ``Retry-After``, SureVoIP's budget
headers) block the account for every worker.
"""

from __future__ import annotations

import httpx

from portal.carriers.base import RateLimitedError

from .limiter import Limiter, Rate

SUREVOIP_REMAINING = "X-SureVoIP-API-RateLimit-Remaining"
SUREVOIP_RESET = "X-SureVoIP-API-RateLimit-TimeToResetSecs"


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


class LimitedTransport(httpx.BaseTransport):
    def __init__(self, account_id: int, rate: Rate, limiter: Limiter, inner: httpx.BaseTransport | None = None):
        self.account_id = account_id
        self.rate = rate
        self.limiter = limiter
        self.inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        wait = self.limiter.acquire(self.account_id, self.rate)
        if wait > 0:
            raise RateLimitedError(
                f"waiting for this carrier account's request budget ({self.rate})", retry_after=wait, status=None
            )
        response = self.inner.handle_request(request)
        self.observe(response)
        return response

    def observe(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self.limiter.block(self.account_id, _seconds(response.headers.get("Retry-After")) or 1.0)
        elif response.headers.get(SUREVOIP_REMAINING) == "0":
            reset = _seconds(response.headers.get(SUREVOIP_RESET))
            if reset:
                self.limiter.block(self.account_id, reset)

    def close(self) -> None:
        self.inner.close()
