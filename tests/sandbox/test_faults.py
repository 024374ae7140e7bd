"""The fault injector's arithmetic, in process: what a clock cannot be made to do over HTTP.

The rate-limit answer tells the client how long to wait (``Retry-After``, and SureVoIP's
``X-SureVoIP-API-RateLimit-TimeToResetSecs``: "the time to reset" of the window,
``002_4b662a5ee44388b6.txt``, rate limit section). Whatever the clock reads, that wait can
never be longer than the window itself.
"""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from portal.sandbox.base import whole_seconds_left
from portal.sandbox.faults import FaultSet, Verdict, checked_knobs


def clock_reading_that_rounds_up(window: float) -> float:
    """A monotonic reading just below a power of two, where ``now + window - now > window``."""
    for power in range(10, 40):
        for step in range(1, 4000):
            now = 2.0**power - step * window / 4000
            if (now + window) - now > window:
                return now
    raise AssertionError("no such reading: floating point changed?")


def test_retry_after_never_exceeds_the_window_whatever_the_clock_reads():
    window = 40.0
    now = clock_reading_that_rounds_up(window)
    assert math.ceil((now + window) - now) == 41  # the trap the old arithmetic fell into
    knobs = checked_knobs({"rate_limit": {"requests": 0, "window_seconds": 40}})
    fault_set = FaultSet(scope=("surevoip", "acc"), knobs=knobs)
    verdict = Verdict()
    fault_set.judge(verdict, "surevoip:acc", now, random.Random(1))
    assert (verdict.status, verdict.retry_after) == (429, 40)


@given(
    started=st.floats(min_value=0, max_value=2.0**40, allow_nan=False),
    length=st.floats(min_value=0.001, max_value=86_400, allow_nan=False),
    elapsed=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_seconds_left_stay_within_the_window(started, length, elapsed):
    now = started + elapsed * length
    left = whole_seconds_left(started, length, now)
    assert 0 <= left <= math.ceil(length)
    assert left >= length - (now - started) - 1e-6 * max(1.0, started)  # never sends a client back early
