"""Cancelling a queued sync job: the lock order of a claim, and the object left telling the truth."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from portal.customers.models import Customer
from portal.customers.services import create_customer, update_customer
from portal.sync import engine
from portal.sync.limiter import DatabaseLimiter, Rate
from portal.sync.models import JobState, SyncJob, SyncState
from portal.sync.operations import cancel_job, cancel_queued
from tests.factories import CarrierAccountFactory, StaffFactory
from tests.sync.conftest import race


def queued_customer(name="Anchor Clinic"):
    staff = StaffFactory(manager=True)
    account = CarrierAccountFactory(reseller=staff.reseller)
    customer = create_customer(reseller=staff.reseller, carrier_account=account, name=name, actor=staff.user)
    return staff.user, customer, SyncJob.objects.get(object_kind="customer", object_id=customer.pk)


@pytest.mark.django_db
def test_a_cancelled_job_is_final_and_its_object_says_it_was_not_sent():
    actor, customer, job = queued_customer()
    cancel_job(job, actor)
    job.refresh_from_db()
    customer.refresh_from_db()
    assert job.state == JobState.CANCELLED and job.finished_at is not None
    assert job.attempt_log[-1]["outcome"] == "cancelled" and str(actor) in job.attempt_log[-1]["error"]
    assert customer.sync_state == SyncState.ERROR
    assert "Not sent to the carrier" in customer.sync_error and "Sync now" in customer.sync_error
    assert not SyncJob.objects.open().filter(object_id=customer.pk).exists()
    with pytest.raises(ValidationError, match="Only a queued job"):
        cancel_job(job, actor)


@pytest.mark.django_db
def test_an_object_with_another_open_job_stays_pending():
    actor, customer, first = queued_customer()
    SyncJob.objects.filter(pk=first.pk).update(state=JobState.RUNNING)  # a worker has the first change
    update_customer(customer, name="Anchor Clinic Ltd", actor=actor)
    second = SyncJob.objects.get(object_id=customer.pk, state=JobState.QUEUED)
    cancel_job(second, actor)
    customer.refresh_from_db()
    assert customer.sync_state == SyncState.PENDING and customer.sync_error == ""


@pytest.mark.django_db
def test_bulk_cancel_leaves_running_and_failed_jobs_alone():
    actor, customer, job = queued_customer()
    _, other, running = queued_customer("Harbour Dental")
    SyncJob.objects.filter(pk=running.pk).update(state=JobState.RUNNING)
    assert cancel_queued(SyncJob.objects.all(), actor) == 1
    assert SyncJob.objects.get(pk=running.pk).state == JobState.RUNNING


@pytest.fixture
def fresh_fair_share():
    """The engine remembers for a second which accounts wait (``fair_share``): this test's
    accounts, each with queued jobs, must not cap the next test's claims."""
    engine._wanting = (0.0, [])
    yield
    engine._wanting = (0.0, [])


@pytest.mark.django_db(transaction=True)
def test_a_claim_and_a_cancel_racing_for_one_job_never_both_win(fresh_fair_share):
    for _ in range(5):
        actor, customer, job = queued_customer(f"Race {SyncJob.objects.count()}")

        def cancel():
            try:
                return cancel_job(SyncJob.objects.get(pk=job.pk), actor)
            except ValidationError:
                return None

        claimed, cancelled = race(lambda: engine.claim(job.pk), cancel)
        job.refresh_from_db()
        state = Customer.objects.get(pk=customer.pk).sync_state
        assert (claimed is None) != (cancelled is None), (claimed, cancelled)
        if cancelled is not None:
            assert job.state == JobState.CANCELLED and state == SyncState.ERROR
        else:
            assert job.state == JobState.RUNNING and state == SyncState.SYNCING


@pytest.mark.django_db
def test_the_database_limiter_says_how_much_of_the_window_is_used():
    account = CarrierAccountFactory()
    limiter, rate = DatabaseLimiter(), Rate(5, 60)
    assert limiter.used(account.pk, rate) == 0
    for _ in range(3):
        assert limiter.acquire(account.pk, rate) == 0.0
    assert limiter.used(account.pk, rate) == 3
