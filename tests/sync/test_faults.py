"""The sync engine against failures: carrier errors, an outage, a killed worker, a stopped broker.

Real worker processes, real HTTP to the sandbox, faults injected through its control API;
the sandbox's request log is the witness of what reached the carrier, and how often.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from portal.numbers.services import add_number
from portal.subscribers.models import Subscriber
from portal.sync import engine
from portal.sync.models import ErrorKind, JobState, SyncJob, SyncState
from tests.factories import StaffFactory
from tests.sync.conftest import (
    USERS_ADD,
    all_synced,
    job_of,
    simotel_subscribers,
    unreachable_broker,
    wait_for,
    worker_env,
)

pytestmark = pytest.mark.django_db(transaction=True)

def added_numbers(log: list[dict]) -> Counter:
    """Extension numbers that Simotel created, one count per successful add."""
    return Counter(
        json.loads(entry["body"])["number"]
        for entry in log
        if entry["path"].endswith(USERS_ADD) and entry["status"] == 200
    )


# ------------------------------------------------------------------------- backoff
def test_backoff_is_exponential_with_full_jitter_and_capped(settings):
    settings.SYNC_BACKOFF_BASE, settings.SYNC_BACKOFF_MAX = 2.0, 30.0
    for attempts, ceiling in ((1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0), (12, 30.0)):
        waits = [engine.backoff_seconds(attempts) for _ in range(400)]
        assert all(0 <= wait <= ceiling for wait in waits)
        # Full jitter: spread over the whole range, not bunched at the ceiling.
        assert min(waits) < ceiling * 0.1 and max(waits) > ceiling * 0.9


# ---------------------------------------------------------------------- carrier errors
def test_a_transient_error_is_retried_and_lands_on_the_third_attempt(
    worker, sandbox_carrier_account, account_faults, carrier_log
):
    account = sandbox_carrier_account("simotel")
    account_faults(account, fail_next={"count": 2, "status": 503})
    (subscriber,) = simotel_subscribers(account, ["1001"])

    wait_for(lambda: all_synced([subscriber]), message="the subscriber never landed")
    job = job_of(subscriber)
    assert job.state == JobState.DONE and job.attempts == 3
    assert job.last_error == "" and job.error_kind == ""
    statuses = [entry["status"] for entry in carrier_log(account)]
    assert statuses[:2] == [503, 503] and set(statuses[2:]) == {200}
    assert sum(entry["path"].endswith(USERS_ADD) for entry in carrier_log(account)) == 1


def test_a_permanent_error_stops_at_once_with_the_carriers_message_on_object_and_job(
    worker, sandbox_carrier_account, carrier_log
):
    account = sandbox_carrier_account("simwood")
    actor = StaffFactory(reseller=account.reseller).user
    # Ofcom's drama range: never in the sandbox account's stock, so Simwood refuses it.
    number = add_number(reseller=account.reseller, carrier_account=account, e164="+442079460999", actor=actor)

    wait_for(lambda: job_of(number, "number").state == JobState.FAILED, message="the job never failed")
    job = job_of(number, "number")
    number.refresh_from_db()
    assert job.attempts == 1 and job.error_kind == ErrorKind.PERMANENT
    assert job.last_error == "Number not available"  # Simwood's words, as its API sent them
    assert number.sync_state == SyncState.ERROR and number.sync_error == job.last_error
    assert job.caused_by == actor
    # No retry: the one refused request is all the carrier ever sees (a retry would come
    # within the test workers' first backoff, at most SYNC_BACKOFF_BASE).
    time.sleep(5 * float(worker_env()["SYNC_BACKOFF_BASE"]))
    log = carrier_log(account)
    assert [(entry["method"], entry["status"]) for entry in log] == [("PUT", 404)]


# ------------------------------------------------------------------------------ outage
@pytest.mark.slow
def test_after_a_30_s_outage_in_the_middle_of_200_changes_each_landed_exactly_once(
    start_worker, sandbox_carrier_account, account_faults, carrier_log, carrier_state
):
    start_worker(), start_worker()
    # Our own limiter out of the way: this is about the outage (test_limits.py is about limits).
    account = sandbox_carrier_account("simotel", rate_limit_requests=1000, rate_limit_window=1)
    started = time.time()
    first = simotel_subscribers(account, [str(2000 + n) for n in range(100)])
    wait_for(lambda: Subscriber.objects.filter(pk__in=[s.pk for s in first], sync_state="synced").count() >= 10)
    account_faults(account, outage={"seconds": 30, "mode": "503"})
    outage_began = time.time()
    second = simotel_subscribers(account, [str(2100 + n) for n in range(100)])

    wait_for(lambda: all_synced(first + second), timeout=75, interval=0.5, message="changes still missing")
    assert time.time() - outage_began >= 30  # the outage really held them back
    assert not SyncJob.objects.open().exists(), "a job was left behind"
    assert set(SyncJob.objects.filter(object_kind="subscriber").values_list("state", flat=True)) == {JobState.DONE}
    log = carrier_log(account, since=started)
    assert any(entry["status"] == 503 for entry in log)
    created = added_numbers(log)
    assert set(created) == {str(2000 + n) for n in range(200)}
    assert set(created.values()) == {1}, "a subscriber was created twice"
    assert len(carrier_state(account)["users"]) == 200


# --------------------------------------------------------------------- a killed worker
@pytest.mark.slow
def test_a_worker_killed_mid_call_runs_the_job_again_and_the_carrier_holds_one_object(
    worker, sandbox_carrier_account, account_faults, carrier_log, carrier_state
):
    latency = 1.0
    account = sandbox_carrier_account("simotel")
    account_faults(account, latency={"fixed_ms": latency * 1000})
    (subscriber,) = simotel_subscribers(account, ["1001"])

    job = wait_for(lambda: SyncJob.objects.filter(pk=job_of(subscriber).pk, state=JobState.RUNNING).first())
    pid = int(job.claimed_by.rpartition(":")[2])
    assert pid in worker.children()
    # A create is a search then an add, each held `latency` s: kill it while the add is held.
    time.sleep(max(0.0, job.started_at.timestamp() + 1.5 * latency - time.time()))
    os.kill(pid, signal.SIGKILL)

    wait_for(lambda: all_synced([subscriber]), timeout=45, message="the job never ran again")
    job.refresh_from_db()
    subscriber.refresh_from_db()
    assert job.state == JobState.DONE and job.attempts == 2
    adds = [entry for entry in carrier_log(account) if entry["path"].endswith(USERS_ADD)]
    assert len(adds) == 1, "the retried create must find the first one, not add a second"
    users = carrier_state(account)["users"]
    assert [user["number"] for user in users] == ["1001"]
    assert subscriber.remote_id == users[0]["_id"]


# ---------------------------------------------------------------------- a stopped broker
@pytest.mark.slow
def test_changes_committed_while_the_broker_is_down_are_delivered_by_the_sweeper(
    worker, sandbox_carrier_account, carrier_state
):
    account = sandbox_carrier_account("simotel")
    with unreachable_broker():
        subscribers = simotel_subscribers(account, ["1001", "1002"])
        jobs = SyncJob.objects.filter(object_kind="subscriber", object_id__in=[s.pk for s in subscribers])
        assert set(jobs.values_list("state", "enqueued_at")) == {(JobState.QUEUED, None)}
        output = StringIO()
        call_command("sync_sweep", stdout=output)  # the broker is still down: nothing is lost either
        assert "Could not reach the broker" in output.getvalue()
    time.sleep(1)  # the worker polls the real broker all the while: nothing reached it
    assert set(jobs.values_list("state", "enqueued_at")) == {(JobState.QUEUED, None)}
    assert carrier_state(account)["users"] == []

    output = StringIO()
    call_command("sync_sweep", stdout=output)
    assert f"{SyncJob.objects.count()} sent to workers" in output.getvalue()  # the customer's job too
    wait_for(lambda: all_synced(subscribers), message="the sweeper's messages were not delivered")
    assert sorted(user["number"] for user in carrier_state(account)["users"]) == ["1001", "1002"]
    assert set(jobs.values_list("state", flat=True)) == {JobState.DONE}
