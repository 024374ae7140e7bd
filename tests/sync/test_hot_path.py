"""What the engine does once per job, in plain SQL (``jobsql.py``), on SQLite and PostgreSQL.

The drain benchmark measures how fast it is; these check that it is right: the object
loader reads what the ORM reads, the database limiter never hands out more than the rate
even to racing threads, a claim takes the job's first request unit in its own
transaction, and a bulk change hands its account as many messages as it has free slots.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test import override_settings

from portal.customers.services import update_customer
from portal.forwards.models import CallForward
from portal.sync import engine, jobsql
from portal.sync.limiter import DatabaseLimiter, Rate, _limiter_for
from portal.sync.models import ErrorKind, JobState, RateLimitEvent, SyncJob
from portal.sync.objects import KINDS
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    NumberFactory,
    SubscriberFactory,
    SyncJobFactory,
    TrunkFactory,
)
from tests.sync.conftest import race

pytestmark = pytest.mark.django_db(transaction=True)


# ------------------------------------------------------------------- the loader
def same_fields(loaded, expected) -> None:
    assert type(loaded) is type(expected)
    for field in expected._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name


@pytest.mark.parametrize("kind_name", sorted(KINDS))
def test_the_object_loader_reads_every_kind_as_the_orm_does(kind_name):
    kind = KINDS[kind_name]
    customer = CustomerFactory(remote_id="cust-7")
    subscriber = SubscriberFactory(customer=customer, sip_password="Secret-Only-Decrypted-9")
    number = NumberFactory(customer=customer, subscriber=subscriber, destination="")
    subscriber.primary_number = number
    subscriber.save()
    trunk = TrunkFactory(customer=customer, password="trunk-secret-1", max_cost_per_minute=Decimal("0.0125"))
    stock = NumberFactory(customer=None, reseller=customer.reseller)  # its relations are empty
    CallForward.objects.create(subscriber=subscriber, type="unconditional")
    objects = {
        "customer": [customer],
        "subscriber": [subscriber],
        "subscriber_forwards": [subscriber],
        "number": [number, stock],
        "number_forwards": [number, stock],
        "trunk": [trunk],
    }[kind_name]

    for obj in objects:
        loaded = kind.load(obj.pk)
        expected = kind.model.objects.select_related(*kind.select_related).get(pk=obj.pk)
        same_fields(loaded, expected)
        for name in kind.select_related:
            related, related_expected = getattr(loaded, name), getattr(expected, name)
            assert (related is None) == (related_expected is None), name
            if related is not None:
                same_fields(related, related_expected)
    assert kind.load(10**9) is None


def test_the_loaded_secrets_and_dates_are_python_values(django_assert_num_queries):
    subscriber = SubscriberFactory(sip_password="Secret-Only-Decrypted-9", synced_at="2026-11-29T10:00:00Z")
    loaded = KINDS["subscriber"].load(subscriber.pk)
    assert loaded.sip_password == "Secret-Only-Decrypted-9"  # decrypted, as the ORM does
    assert loaded.synced_at.utcoffset() is not None and loaded.synced_at.hour == 10
    with django_assert_num_queries(0):  # the relation came with it
        assert loaded.customer.name == subscriber.customer.name


# ------------------------------------------------------------------ the limiter
@pytest.mark.parametrize("in_a_transaction", [False, True], ids=["alone", "in-a-claim-transaction"])
def test_the_database_limiter_hands_racing_threads_no_more_than_the_rate(in_a_transaction):
    account = CarrierAccountFactory()
    limiter, rate = DatabaseLimiter(), Rate(5, 60)

    def acquire() -> float:
        if not in_a_transaction:
            return limiter.acquire(account.pk, rate)
        with transaction.atomic():
            return limiter.acquire(account.pk, rate)

    waits = race(*[acquire] * 8)
    assert sorted(wait == 0.0 for wait in waits) == [False] * 3 + [True] * 5
    assert all(55 < wait <= 60.25 for wait in waits if wait)  # until the oldest unit leaves the window
    assert RateLimitEvent.objects.filter(carrier_account=account).count() == 5


def test_a_blocked_account_gets_no_unit_until_the_carrier_said():
    account = CarrierAccountFactory()
    limiter = DatabaseLimiter()
    limiter.block(account.pk, 30)
    wait = limiter.acquire(account.pk, Rate(100, 1))
    assert 29 < wait <= 30
    assert not RateLimitEvent.objects.filter(carrier_account=account).exists()


@override_settings(REDIS_URL="")  # the database limiter, whatever this run's Redis
def test_a_claim_takes_the_first_request_unit_of_a_job_that_will_send_one():
    _limiter_for.cache_clear()
    account = CarrierAccountFactory(kind="simotel", rate_limit_requests=2, rate_limit_window=60, max_in_flight=9)
    units = RateLimitEvent.objects.filter(carrier_account=account)
    held = [SyncJobFactory(carrier_account=account, object_kind="subscriber") for _ in range(3)]
    not_held = SyncJobFactory(carrier_account=account, object_kind="customer")  # Simotel keeps no customers

    first = engine.claim(held[0].pk)
    assert (first.prepaid, first.budget_wait, units.count()) == (True, 0.0, 1)
    customer_job = engine.claim(not_held.pk)
    assert (customer_job.prepaid, customer_job.budget_wait, units.count()) == (False, 0.0, 1)
    engine.claim(held[1].pk)
    third = engine.claim(held[2].pk)
    assert units.count() == 2 and 55 < third.budget_wait <= 60.25

    # Run as it is claimed, the third job is put back to wait for the budget, uncounted.
    result = engine._run(third)
    job = SyncJob.objects.get(pk=third.pk)
    assert result.state == JobState.QUEUED
    assert (job.state, job.error_kind, job.attempts) == (JobState.QUEUED, ErrorKind.RATE_LIMITED, 0)
    assert "request budget (2 per 60 s)" in job.last_error
    assert units.count() == 2


def test_a_claim_marks_its_object_syncing_and_only_that_object():
    from portal.celery import app

    account = CarrierAccountFactory(max_in_flight=2)
    claimed, other = CustomerFactory.create_batch(2, reseller=account.reseller, carrier_account=account)
    subscriber = SubscriberFactory(customer=claimed, carrier_account=account)
    try:
        for obj in (claimed, other):
            update_customer(obj, name=f"{obj.name} (renamed)")
        job = SyncJob.objects.get(object_kind="customer", object_id=claimed.pk)
        assert engine.claim(job.pk) is not None
        states = dict(type(claimed).objects.filter(pk__in=[claimed.pk, other.pk]).values_list("pk", "sync_state"))
        assert states == {claimed.pk: "syncing", other.pk: "pending"}
        subscriber.refresh_from_db()
        assert subscriber.sync_state == "pending"  # the claimed customer's subscriber is not its object
    finally:
        app.control.purge()


# ----------------------------------------------------------------------- offers
def test_a_bulk_change_hands_its_account_one_message_per_free_slot():
    from portal.celery import app

    account = CarrierAccountFactory(max_in_flight=3)
    customers = CustomerFactory.create_batch(10, reseller=account.reseller, carrier_account=account)
    try:
        with transaction.atomic():
            for customer in customers:
                update_customer(customer, name=f"{customer.name} (renamed)")
            assert len(connection.run_on_commit) == 1  # one hand-off for the account, not ten
        jobs = SyncJob.objects.filter(carrier_account=account, state=JobState.QUEUED)
        assert jobs.count() == 10
        assert jobs.filter(enqueued_at__isnull=False).count() == 3  # the rest: the slots' next jobs
    finally:
        app.control.purge()  # no worker here: the messages must not reach the next test's


def test_changes_made_one_by_one_send_no_more_messages_than_the_account_has_slots():
    """A CRM creating customers one request at a time: each commit hands over, but a message
    already on its way takes a slot, so the eleventh change sends nothing (the jobs running
    there take the rest, one by one)."""
    from portal.celery import app

    account = CarrierAccountFactory(max_in_flight=3)
    customers = CustomerFactory.create_batch(10, reseller=account.reseller, carrier_account=account)
    try:
        for customer in customers:
            update_customer(customer, name=f"{customer.name} (renamed)")
        jobs = SyncJob.objects.filter(carrier_account=account, state=JobState.QUEUED)
        assert jobs.filter(enqueued_at__isnull=False).count() == 3
        # A message that was never picked up is resent by then: its slot is free again.
        from datetime import timedelta

        from django.utils import timezone

        long_ago = timezone.now() - timedelta(seconds=engine.settings.SYNC_REDELIVER_AFTER + 1)
        jobs.filter(enqueued_at__isnull=False).update(enqueued_at=long_ago)
        update_customer(customers[0], name="Renamed again")
        assert jobs.filter(enqueued_at__gt=long_ago).count() == 3
    finally:
        app.control.purge()


def test_hand_over_sends_the_accounts_job_due_longest_whose_object_is_not_running():
    from datetime import timedelta

    from django.utils import timezone

    from portal.celery import app

    account = CarrierAccountFactory(max_in_flight=4)
    long_ago = timezone.now() - timedelta(minutes=5)
    SyncJobFactory(carrier_account=account, object_id=1, state=JobState.RUNNING)
    blocked = SyncJobFactory(carrier_account=account, object_id=1, next_attempt_at=long_ago)  # its object runs
    due = SyncJobFactory(carrier_account=account, object_id=2, next_attempt_at=long_ago + timedelta(seconds=1))
    later = SyncJobFactory(carrier_account=account, object_id=3)
    try:
        engine.hand_over(account.pk)
        sent = set(SyncJob.objects.filter(enqueued_at__isnull=False).values_list("pk", flat=True))
        assert sent == {due.pk}, f"blocked {blocked.pk}, later {later.pk}"
    finally:
        app.control.purge()


def test_a_change_rolled_back_with_its_savepoint_leaves_the_next_change_its_hand_off():
    from portal.celery import app

    account = CarrierAccountFactory(max_in_flight=3)
    first, second = CustomerFactory.create_batch(2, reseller=account.reseller, carrier_account=account)
    try:
        with transaction.atomic():
            with pytest.raises(RuntimeError), transaction.atomic():
                update_customer(first, name="Rolled back")
                raise RuntimeError("the form was invalid after all")
            update_customer(second, name="Kept")
        job = SyncJob.objects.get(object_kind="customer", object_id=second.pk)
        assert job.enqueued_at is not None
        assert not SyncJob.objects.filter(object_kind="customer", object_id=first.pk).exists()
    finally:
        app.control.purge()


# ---------------------------------------------------------------- durability
def test_on_postgresql_only_the_engines_bookkeeping_commits_without_waiting_for_the_disk():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite in WAL mode with synchronous=NORMAL never waits for the disk at commit")
    account = CarrierAccountFactory()

    def setting_inside(**lock) -> str:
        with transaction.atomic(), connection.cursor() as cursor:
            jobsql.lock_account(account.pk, **lock)
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    assert setting_inside(relax=True) == "off"
    assert setting_inside(relax=False) == "on"
    with connection.cursor() as cursor:  # and nothing of it outlives the transaction
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
