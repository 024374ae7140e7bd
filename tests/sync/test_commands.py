"""The operator's commands: ``sync_status``, ``sync_retry`` and ``sync_sweep``."""

from __future__ import annotations

import socket
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal.customers.models import Customer
from portal.subscribers.models import Subscriber
from portal.customers.services import create_customer
from portal.subscribers.services import create_subscriber
from portal.sync.models import ErrorKind, JobState, SyncJob, SyncState
from tests.factories import CarrierAccountFactory, CustomerFactory, ResellerFactory, SyncJobFactory
from tests.sync.conftest import unreachable_broker, wait_for


def run(command: str, *args: str) -> str:
    output = StringIO()
    call_command(command, *args, stdout=output)
    return output.getvalue()


def failed_customer_job(account, error: str = "Customer name is too long for the carrier.") -> SyncJob:
    customer = CustomerFactory(
        reseller=account.reseller, carrier_account=account, sync_state=SyncState.ERROR, sync_error=error
    )
    return SyncJobFactory(
        failed=True, carrier_account=account, object_id=customer.pk, object_repr=str(customer), last_error=error,
        finished_at=timezone.now(),
    )  # fmt: skip


# ------------------------------------------------------------------------- sync_status
@pytest.mark.django_db
def test_sync_status_counts_jobs_per_state_and_account_and_lists_the_failed_ones():
    busy = CarrierAccountFactory(name="Busy Simwood", reseller=ResellerFactory(name="Acme Voice", slug="acme"))
    quiet = CarrierAccountFactory(name="Quiet Simwood")
    oldest = SyncJobFactory(carrier_account=busy, object_repr="Harbour Dental")
    SyncJob.objects.filter(pk=oldest.pk).update(created_at=timezone.now() - timedelta(minutes=7))
    SyncJobFactory(carrier_account=busy, state=JobState.RUNNING)
    SyncJobFactory.create_batch(3, carrier_account=busy, state=JobState.DONE)
    failed = failed_customer_job(busy)
    SyncJobFactory(carrier_account=quiet, state=JobState.DONE)

    output = run("sync_status")

    lines = output.splitlines()
    header = lines[0].split()
    assert header[-5:] == ["queued", "running", "failed", "done", "superseded"]
    busy_row = next(line for line in lines if line.startswith("Busy Simwood (Simwood, Acme Voice)"))
    assert busy_row.split()[-5:] == ["1", "1", "1", "3", "0"]
    assert next(line for line in lines if line.startswith("All accounts")).split()[-5:] == ["1", "1", "1", "4", "0"]
    assert f"Oldest queued job: 7\xa0minutes old — job {oldest.pk}" in output
    assert f"job {failed.pk}" in output and "Customer name is too long for the carrier." in output

    only_quiet = run("sync_status", "--account", "Quiet Simwood")
    assert "Busy Simwood" not in only_quiet and "No job is queued." in only_quiet and "No job has failed." in only_quiet
    by_reseller = run("sync_status", "--reseller", "acme")
    assert "Busy Simwood" in by_reseller and "Quiet Simwood" not in by_reseller
    with pytest.raises(CommandError, match="no carrier account"):
        run("sync_status", "--account", "Nobody's")


# -------------------------------------------------------------------------- sync_retry
@pytest.mark.django_db
def test_sync_retry_queues_failed_jobs_again_by_id_by_account_or_all():
    account, other = CarrierAccountFactory(name="Main"), CarrierAccountFactory(name="Other")
    first, second = failed_customer_job(account), failed_customer_job(account)
    elsewhere = failed_customer_job(other)
    done = SyncJobFactory(carrier_account=account, state=JobState.DONE)

    assert f"Queued job {first.pk}" in run("sync_retry", str(first.pk))
    first.refresh_from_db()
    assert (first.state, first.attempts, first.last_error, first.error_kind) == (JobState.QUEUED, 0, "", "")
    customer = Customer.objects.get(pk=first.object_id)
    assert (customer.sync_state, customer.sync_error) == (SyncState.PENDING, "")

    with pytest.raises(CommandError, match=f"job {done.pk}: Only a failed job can be retried"):
        run("sync_retry", str(done.pk))
    with pytest.raises(CommandError, match="Name the jobs"):
        run("sync_retry")

    assert "Queued 1 failed job again." in run("sync_retry", "--account", "Main")
    second.refresh_from_db()
    elsewhere.refresh_from_db()
    assert second.state == JobState.QUEUED and elsewhere.state == JobState.FAILED
    assert "Queued 1 failed job again." in run("sync_retry", "--all")
    assert not SyncJob.objects.filter(state=JobState.FAILED).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_job_retried_by_the_command_lands_once_the_carrier_takes_it(
    worker, sandbox_carrier_account, account_faults
):
    account = sandbox_carrier_account("simotel")
    # One refusal (HTTP 400: the carrier said no), then the carrier takes it.
    account_faults(account, fail_next={"count": 1, "status": 400})
    customer = create_customer(reseller=account.reseller, name="Harbour Dental", carrier_account=account)
    subscriber, _ = create_subscriber(customer=customer, username="1001", domain="pbx.example.com")
    job = SyncJob.objects.get(object_kind="subscriber", object_id=subscriber.pk)
    wait_for(lambda: SyncJob.objects.get(pk=job.pk).state == JobState.FAILED)
    assert SyncJob.objects.get(pk=job.pk).error_kind == ErrorKind.PERMANENT
    assert Subscriber.objects.get(pk=subscriber.pk).sync_state == SyncState.ERROR

    run("sync_retry", str(job.pk))

    wait_for(lambda: Subscriber.objects.get(pk=subscriber.pk).sync_state == SyncState.SYNCED)
    job.refresh_from_db()
    assert job.state == JobState.DONE and job.attempts == 1


# -------------------------------------------------------------------------- sync_sweep
@pytest.mark.django_db(transaction=True)
def test_sync_sweep_sends_undelivered_jobs_but_no_more_than_an_account_has_free_slots():
    account = CarrierAccountFactory(max_in_flight=2)
    undelivered = SyncJobFactory.create_batch(3, carrier_account=account)  # as if the broker had been down
    sent_lately = SyncJobFactory(carrier_account=account, enqueued_at=timezone.now())
    later = SyncJobFactory(carrier_account=account, next_attempt_at=timezone.now() + timedelta(minutes=5))
    try:
        output = run("sync_sweep")
        # The message sent lately takes one of the two slots when it arrives.
        assert "0 recovered from dead workers, 1 sent to workers, 2 left to their busy carrier accounts." in output
        sent = SyncJob.objects.filter(pk__in=[job.pk for job in undelivered], enqueued_at__isnull=False)
        assert sent.count() == 1
        assert SyncJob.objects.get(pk=later.pk).enqueued_at is None  # not due: it waits in the table
        assert SyncJob.objects.get(pk=sent_lately.pk).enqueued_at == sent_lately.enqueued_at

        SyncJob.objects.update(enqueued_at=None)  # as if those messages were lost with the broker
        with unreachable_broker():
            assert "Could not reach the broker" in run("sync_sweep")
    finally:
        from portal.celery import app

        app.control.purge()  # no worker here: the messages must not reach the next test's


@pytest.mark.django_db(transaction=True)
def test_sync_sweep_requeues_the_job_of_a_dead_worker():
    account = CarrierAccountFactory()
    dead = SyncJobFactory(
        carrier_account=account, state=JobState.RUNNING, claimed_by=f"{socket.gethostname()}:999999999",
        started_at=timezone.now(), lease_expires_at=timezone.now() + timedelta(minutes=2),
    )  # fmt: skip
    try:
        assert "1 recovered from dead workers" in run("sync_sweep")
        dead.refresh_from_db()
        assert dead.state == JobState.QUEUED and dead.error_kind == ErrorKind.TRANSIENT
        assert dead.enqueued_at is not None
    finally:
        from portal.celery import app

        app.control.purge()
