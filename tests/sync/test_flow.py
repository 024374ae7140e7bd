"""A change made through the service layer reaches the sandbox through a real worker."""

from __future__ import annotations

import httpx
import pytest

from portal.customers.services import create_customer
from portal.subscribers.models import Subscriber
from portal.subscribers.services import create_subscriber, update_subscriber
from portal.sync.models import JobState, SyncJob
from tests.factories import StaffFactory
from tests.sync.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def sandbox_state(sandbox_control: httpx.Client, account) -> dict:
    return sandbox_control.get(f"/_sandbox/accounts/{account.settings['sandbox_account']}/state").json()


def test_change_lands_and_state_goes_pending_syncing_synced(worker, sandbox_carrier_account, sandbox_control):
    account = sandbox_carrier_account("simotel")
    actor = StaffFactory(reseller=account.reseller).user
    customer = create_customer(reseller=account.reseller, name="Harbour Dental", carrier_account=account, actor=actor)
    subscriber, password = create_subscriber(customer=customer, username="1001", domain="pbx.example.com", actor=actor)
    assert subscriber.sync_state == "pending"
    seen = set()

    def synced():
        state = Subscriber.objects.get(pk=subscriber.pk).sync_state
        seen.add(state)
        return state == "synced"

    wait_for(synced, interval=0.01, message="subscriber never synced")
    subscriber.refresh_from_db()
    assert subscriber.remote_id and subscriber.synced_at and not subscriber.sync_error
    users = sandbox_state(sandbox_control, account)
    assert "1001" in str(users)
    job = SyncJob.objects.get(object_kind="subscriber", object_id=subscriber.pk)
    assert job.state == JobState.DONE and job.caused_by == actor and job.attempts == 1
    assert "pending" in seen or "syncing" in seen

    update_subscriber(subscriber, display_name="Front desk", actor=actor)
    wait_for(lambda: Subscriber.objects.get(pk=subscriber.pk).sync_state == "synced")
    assert "Front desk" in str(sandbox_state(sandbox_control, account))


def test_the_demo_world_lands_on_all_four_carriers(worker, sandbox_url):
    """seed_demo writes through the services; a real worker provisions it all, no failures."""
    from portal.core.demo import seed

    seed(sandbox_url=sandbox_url, customers=8)
    open_jobs = SyncJob.objects.filter(state__in=(JobState.QUEUED, JobState.RUNNING))
    try:
        wait_for(lambda: not open_jobs.exists(), timeout=120, interval=0.5)
    except AssertionError:
        summary = list(open_jobs.values_list("object_kind", "state", "error_kind", "last_error", "attempts", "next_attempt_at", "enqueued_at"))
        raise AssertionError(f"{len(summary)} jobs still open: {summary[:15]}") from None
    failed = list(SyncJob.objects.filter(state=JobState.FAILED).values_list("object_repr", "last_error"))
    assert failed == []
    kinds = set(SyncJob.objects.filter(state=JobState.DONE).values_list("carrier_account__kind", "object_kind"))
    assert {("sipwise", "subscriber"), ("simotel", "subscriber"), ("simwood", "number"), ("surevoip", "customer")} <= kinds
    assert {("sipwise", "subscriber_forwards"), ("simwood", "number_forwards"), ("simwood", "trunk")} <= kinds
    for model in (Subscriber,):
        assert not model.objects.exclude(sync_state="synced").filter(carrier_account__kind__in=["sipwise", "simotel"]).exists()
