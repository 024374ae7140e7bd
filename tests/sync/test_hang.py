"""A carrier that accepts connections and never answers must not starve the other accounts.

Two defences: the account rests after an unanswered request (its jobs are rescheduled
without holding a worker), and no account runs more than its fair share of jobs while
other accounts wait for a worker. The sandbox's ``outage`` in ``hang`` mode is the
carrier that never answers.
"""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from portal.customers.services import create_customer
from portal.subscribers.services import create_subscriber
from portal.sync import engine
from portal.sync.models import ErrorKind, JobState, SyncJob
from tests.factories import CarrierAccountFactory
from tests.sync.conftest import job_of


@pytest.mark.django_db
def test_an_account_whose_carrier_hangs_rests_and_its_next_job_holds_no_worker(
    sandbox_carrier_account, account_faults, carrier_log
):
    account = sandbox_carrier_account("simotel", read_timeout=0.5)
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    engine.run_next(account.pk)  # the customer (Simotel holds none: no request)
    first, _ = create_subscriber(customer=customer, username="1001", domain="pbx.example.com")
    second, _ = create_subscriber(customer=customer, username="1002", domain="pbx.example.com")
    account_faults(account, outage={"seconds": 30, "mode": "hang"})

    engine.run_next(account.pk)
    assert job_of(first).error_kind == ErrorKind.TRANSIENT
    assert "timed out" in job_of(first).last_error
    started = timezone.now()
    engine.run_next(account.pk)
    waiting = job_of(second)
    assert (waiting.state, waiting.error_kind) == (JobState.QUEUED, ErrorKind.RATE_LIMITED)
    assert (waiting.next_attempt_at - started).total_seconds() > 3, "the account did not rest"
    account_faults(account)  # the outage ends: the request still hanging is answered, and logged
    deadline = time.monotonic() + 5  # the sandbox logs the released request as it finishes it, a moment later
    while not carrier_log(account) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(carrier_log(account)) == 1, "the second job talked to a carrier that does not answer"


def queued(account, n: int, state: str = JobState.QUEUED) -> None:
    for i in range(n):
        SyncJob.objects.create(
            reseller=account.reseller,
            carrier_account=account,
            object_kind="subscriber",
            object_id=account.pk * 1000 + i + (500 if state == JobState.RUNNING else 0),
            object_repr="x",
            state=state,
        )


@pytest.mark.django_db
def test_an_account_runs_at_most_one_job_more_than_the_others_that_wait():
    hanging, busy, idle = (CarrierAccountFactory(max_in_flight=4) for _ in range(3))
    queued(hanging, 3, JobState.RUNNING)
    queued(hanging, 10)
    queued(busy, 1, JobState.RUNNING)
    queued(busy, 10)
    queued(idle, 2, JobState.RUNNING)  # runs jobs, but waits for none
    engine._wanting = (0.0, [])
    now = timezone.now()
    assert engine.fair_share(hanging.pk, 4, now) == 2
    assert engine.fair_share(busy.pk, 4, now) == 4
    assert engine.fair_share(idle.pk, 4, now) == 2
    SyncJob.objects.filter(carrier_account=busy, state=JobState.QUEUED).delete()  # busy is done
    engine._wanting = (0.0, [])
    assert engine.fair_share(hanging.pk, 4, now) == 4, "alone, an account has its whole cap"
