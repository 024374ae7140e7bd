"""The httpx transport every sync adapter sends through: the shared limiter at the door.

Each request the adapter makes takes one unit of the account's budget first; when none
is free it raises RateLimitedError with the wait, so the job is rescheduled instead of a
worker sleeping. Answers that speak of limits (429 ``Retry-After``, SureVoIP's budget
headers) block the account for every worker.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx
from django.conf import settings

from portal.carriers.base import RateLimitedError

from .limiter import SAFETY_SECONDS, Limiter, Rate

SUREVOIP_REMAINING = "X-SureVoIP-API-RateLimit-Remaining"
SUREVOIP_RESET = "X-SureVoIP-API-RateLimit-TimeToResetSecs"
MAX_RESENDS = 5  # a carrier that answers 429 on and on gets its 429 back to the adapter


def _seconds(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def budget_exhausted(rate: Rate, wait: float) -> RateLimitedError:
    return RateLimitedError(f"waiting for this carrier account's request budget ({rate})", retry_after=wait, status=None)


_requests: ContextVar[list[dict] | None] = ContextVar("sync_requests", default=None)
REQUESTS_KEPT = 40  # per attempt; a longer story is cut, not grown without end


@contextmanager
def recording() -> Iterator[list[dict]]:
    """Collect the requests this thread sends through any account's transport meanwhile.

    For a job's story (``SyncJob.attempt_log``): method, path, status or error, and the
    time to the answer's headers. Never a body, a query string or a header: they can
    carry credentials.
    """
    sent: list[dict] = []
    token = _requests.set(sent)
    try:
        yield sent
    finally:
        _requests.reset(token)


def _record(request: httpx.Request, started: float, *, status: int | None = None, error: str = "") -> None:
    sent = _requests.get()
    if sent is None or len(sent) >= REQUESTS_KEPT:
        return
    took = round((time.monotonic() - started) * 1000, 1)
    sent.append({"method": request.method, "path": request.url.path, "status": status, "ms": took, "error": error})


# Seconds a job half-way through an attempt sleeps for the next unit of its budget.
MID_ATTEMPT_MAX_WAIT = 1 + SAFETY_SECONDS


class LimitedTransport(httpx.BaseTransport):
    """``max_wait``: waits up to this long are slept through (and a 429 within it is sent
    again) instead of raised; for long reads such as reconciliation, which cannot resume
    a paged listing that failed half-way. Sync jobs keep 0: they are rescheduled instead,
    unless the attempt has sent requests already: then a short wait (``MID_ATTEMPT_MAX_WAIT``,
    a per-second budget's window) is slept through. A job rescheduled half-way starts again
    from its first request, which takes the unit it was waiting for, so with the budget
    spent a create of several requests would never get past its first (the soak: a Sipwise
    customer, for two minutes). Longer waits (an hourly budget spent) still reschedule: a
    worker is not held for them.
    """

    def __init__(
        self,
        account_id: int,
        rate: Rate,
        limiter: Limiter,
        inner: httpx.BaseTransport | None = None,
        max_wait: float = 0.0,
    ):
        self.account_id = account_id
        self.rate = rate
        self.limiter = limiter
        self.inner = inner or httpx.HTTPTransport()
        self.max_wait = max_wait
        # A unit of the budget taken already for the next request (the engine takes one
        # with each job's claim, in the same transaction): that request does not ask again.
        self.prepaid = False
        self.unanswered_in_a_row = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resends = 0
        while True:
            wait, self.prepaid = (0.0 if self.prepaid else self.limiter.acquire(self.account_id, self.rate)), False
            if wait > self.max_wait and not (_requests.get() and wait <= MID_ATTEMPT_MAX_WAIT):
                raise budget_exhausted(self.rate, wait)
            if wait > 0:
                time.sleep(wait)
                continue
            started = time.monotonic()
            try:
                response = self.inner.handle_request(request)
            except (httpx.TimeoutException, httpx.ConnectError) as exc:
                _record(request, started, error=type(exc).__name__)
                self.unanswered()
                raise
            except httpx.HTTPError as exc:
                _record(request, started, error=type(exc).__name__)
                raise
            _record(request, started, status=response.status_code)
            self.observe(response)
            if response.status_code == 429 and self.max_wait and resends < MAX_RESENDS:
                response.close()  # observe() blocked the account: the next acquire waits or raises
                resends += 1
                continue
            return response

    def unanswered(self) -> None:
        """The carrier did not answer (a timeout, a refused connection): the account rests.

        A carrier that accepts connections and never answers holds a worker for the whole
        read timeout per request; the account's other jobs would each do the same and
        starve every other account. So no request of the account goes out for a while,
        twice as long after each unanswered request in a row (this process's count), up
        to ``SYNC_UNANSWERED_REST_MAX``; its jobs are rescheduled meanwhile, holding no
        worker. The first answer ends it.
        """
        self.unanswered_in_a_row += 1
        rest = settings.SYNC_UNANSWERED_REST * 2 ** (self.unanswered_in_a_row - 1)
        self.limiter.block(self.account_id, min(rest, settings.SYNC_UNANSWERED_REST_MAX))

    def observe(self, response: httpx.Response) -> None:
        self.unanswered_in_a_row = 0
        if response.status_code == 429:
            self.limiter.block(self.account_id, _seconds(response.headers.get("Retry-After")) or 1.0)
        elif response.headers.get(SUREVOIP_REMAINING) == "0":
            reset = _seconds(response.headers.get(SUREVOIP_RESET))
            if reset:
                self.limiter.block(self.account_id, reset)

    def close(self) -> None:
        self.inner.close()
