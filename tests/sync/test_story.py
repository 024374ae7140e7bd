"""A job keeps its story: each attempt, how it ended, and the requests it sent (no secrets)."""

from __future__ import annotations

import pytest

from portal.customers.services import create_customer
from portal.subscribers.services import create_subscriber
from portal.sync import engine
from portal.sync.models import JobState, SyncJob
from tests.sync.conftest import job_of

pytestmark = pytest.mark.django_db


def test_every_attempt_is_kept_with_the_requests_it_sent(sandbox_carrier_account, account_faults):
    account = sandbox_carrier_account("simotel")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    subscriber, password = create_subscriber(customer=customer, username="1001", domain="pbx.example.com")
    engine.run_next(account.pk)  # the customer: Simotel holds none, so nothing is sent
    account_faults(account, fail_next={"count": 1, "status": 503})
    engine.run_next(account.pk)
    SyncJob.objects.filter(pk=job_of(subscriber).pk).update(next_attempt_at=engine.timezone.now())
    engine.run_next(account.pk)

    job = job_of(subscriber)
    assert job.state == JobState.DONE
    first, second = job.attempt_log
    assert first["outcome"] == "transient" and first["error"]
    assert [r["status"] for r in first["requests"]] == [503]
    assert second["outcome"] == "done" and second["error"] == ""
    assert all(r["method"] in ("GET", "POST") and r["path"].startswith("/simotel/") for r in second["requests"])
    assert second["requests"][-1]["status"] == 200 and second["ms"] >= 0
    assert password not in str(job.attempt_log)
    assert SyncJob.objects.get(object_kind="customer", object_id=customer.pk).attempt_log[0]["requests"] == []
