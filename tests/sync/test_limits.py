"""Rate and concurrency limits per carrier account: 429 Retry-After, the shared limiter, the in-flight cap.

Real worker processes and real HTTP; the sandbox's ``rate_limit`` fault plays the
carrier's limit, and its request log (arrival times and durations) is the witness.
"""

from __future__ import annotations

import math
import time

import pytest

from portal.sync.models import ErrorKind, JobState, SyncJob
from tests.sync.conftest import USERS_ADD, all_synced, job_of, simotel_subscribers, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.slow
def test_a_429_with_retry_after_is_waited_out_as_told(worker, sandbox_carrier_account, account_faults, carrier_log):
    window = 3
    # Our own limiter lets everything through: the carrier's 429 is what is tested.
    account = sandbox_carrier_account("simotel", rate_limit_requests=1000, rate_limit_window=1)
    account_faults(account, rate_limit={"requests": 2, "window_seconds": window})
    customer_and_first = simotel_subscribers(account, ["1001"])  # a search and an add: the window is spent
    wait_for(lambda: all_synced(customer_and_first))
    (limited,) = simotel_subscribers(account, ["1002"])  # (a customer on Simotel costs no request)

    waiting = wait_for(
        lambda: SyncJob.objects.filter(
            pk=job_of(limited).pk, state=JobState.QUEUED, error_kind=ErrorKind.RATE_LIMITED
        ).first(),
        message="the job was not told to wait",
    )
    wait_for(lambda: all_synced([limited]), message="the limited change never landed")

    log = carrier_log(account)
    (refused,) = [entry for entry in log if entry["status"] == 429]
    # The sandbox's Retry-After: the whole seconds left of its window, which began with
    # the first request.
    retry_after = max(1, math.ceil(log[0]["time"] + window - refused["time"]))
    told = waiting.next_attempt_at.timestamp() - refused["time"]
    assert retry_after - 0.05 <= told <= retry_after + 0.5, f"told {retry_after} s, waited {told:.2f} s"
    after = [entry for entry in log if entry["seq"] > refused["seq"]]
    assert after[0]["time"] >= waiting.next_attempt_at.timestamp() - 0.05, "the carrier was called again too soon"
    assert [entry["status"] for entry in after] == [200, 200]
    job = SyncJob.objects.get(pk=waiting.pk)
    assert job.state == JobState.DONE and job.attempts == 1  # a wait the carrier asked for is no failed attempt


@pytest.mark.slow
def test_with_the_limiter_at_the_carriers_limit_a_burst_from_two_workers_draws_no_429(
    start_worker, sandbox_carrier_account, account_faults, carrier_log
):
    requests, window = 6, 2
    start_worker(), start_worker()
    account = sandbox_carrier_account("simotel", rate_limit_requests=requests, rate_limit_window=window)
    account_faults(account, rate_limit={"requests": requests, "window_seconds": window})
    started = time.time()
    subscribers = simotel_subscribers(account, [str(1001 + n) for n in range(9)])

    wait_for(lambda: all_synced(subscribers), timeout=45, message="the burst did not land")
    log = carrier_log(account, since=started)
    assert [entry for entry in log if entry["status"] == 429] == []
    assert sum(entry["path"].endswith(USERS_ADD) for entry in log) == 9
    # The limit was used, not just kept: 18+ requests at 6 per 2 s take a few windows.
    assert log[-1]["time"] - log[0]["time"] >= 2 * window
    spread = max(entry["time"] for entry in log[:requests]) - log[0]["time"]
    assert spread < window, "the first window's budget was not used in that window"


@pytest.mark.slow
def test_the_in_flight_cap_keeps_one_request_at_a_time_at_the_carrier(
    start_worker, sandbox_carrier_account, account_faults, carrier_log
):
    start_worker(concurrency=3), start_worker(concurrency=3)
    account = sandbox_carrier_account("simotel", max_in_flight=1)
    account_faults(account, latency={"fixed_ms": 150})
    subscribers = simotel_subscribers(account, [str(1001 + n) for n in range(6)])

    wait_for(lambda: all_synced(subscribers), timeout=45, message="the changes did not land")
    log = carrier_log(account)
    assert len(log) >= 12
    for earlier, later in zip(log, log[1:]):
        ended = earlier["time"] + earlier["duration_ms"] / 1000
        assert later["time"] >= ended - 0.005, f"requests {earlier['seq']} and {later['seq']} overlapped"
    assert not SyncJob.objects.filter(state=JobState.RUNNING).exists()
