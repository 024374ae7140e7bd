"""The seven races of the sync correctness issue (#10, D1–D7), each made to happen on purpose.

Each test interleaves a person's change with the engine's steps at the moment it chooses:
the jobs run in this process (``run_due``, ``claim_of``/``finish``, as a worker runs them),
against the real sandbox over HTTP. Where the race needs two things at once (two jobs on
one carrier record, a deadlock), threads with their own database connections do them.
What must hold is the engine's promise: the carrier holds exactly what the portal shows,
once. Every test here failed on the engine before its fix.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection

from portal.customers.models import Customer
from portal.customers.services import create_customer, update_customer
from portal.forwards.services import ForwardInput, set_forwards
from portal.numbers.models import Number
from portal.numbers.services import add_number, release_number, update_number
from portal.subscribers.models import Subscriber
from portal.subscribers.services import create_subscriber, update_subscriber
from portal.sync import engine, outbox
from portal.sync.models import JobState, SyncJob, SyncState
from portal.sync.operations import retry_job
from portal.trunks.models import Trunk
from portal.trunks.services import create_trunk, delete_trunk, update_trunk
from tests.sync.conftest import job_of, race, sandbox_id, wait_for

ANCHOR = {
    "name": "Anchor Clinic", "email": "desk@anchor.example", "phone": "+441179460111", "contact_name": "Kira Lane",
    "address_line1": "1 Quay Street", "city": "Bristol", "postcode": "BS1 4AA", "country": "GB",
}  # fmt: skip


def run_due(account) -> int:
    """Run the account's due jobs here, one after the other, as a worker would; how many ran."""
    ran = 0
    while engine.run_next(account.pk) is not None:
        ran += 1
    return ran


def make_due(account) -> None:
    """Jobs waiting for a retry or a re-check are due now (the test does not wait for them)."""
    SyncJob.objects.filter(carrier_account=account, state=JobState.QUEUED).update(next_attempt_at=engine.timezone.now())


def sipwise_customer(account) -> Customer:
    customer = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
    run_due(account)
    customer.refresh_from_db()
    assert customer.remote_id, customer.sync_error
    return customer


@pytest.fixture
def refuse_after(sandbox_faults):
    """The carrier answers the account's next ``requests`` requests, then 429 until cleared:
    a real "the first requests of a create landed, the next one did not", with no mock."""

    def arm(account, requests: int) -> Callable[[], None]:
        sandbox_faults({"account": sandbox_id(account), "rate_limit": {"requests": requests, "window_seconds": 1}})

        def clear() -> None:
            sandbox_faults({"account": sandbox_id(account)})
            time.sleep(1.1)  # the carrier's Retry-After, which the account's limiter honours

        return clear

    return arm


# ------------------------------------------------------------------------------------ D1
@pytest.mark.django_db
def test_d1_a_save_of_an_object_loaded_before_its_create_landed_keeps_its_remote_id(
    sandbox_carrier_account, carrier_state
):
    account = sandbox_carrier_account("surevoip")
    customer = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
    page_copy = Customer.objects.get(pk=customer.pk)  # a page loaded it while the create was on its way
    assert run_due(account) == 1
    update_customer(page_copy, name="Anchor Dental Clinic")
    assert run_due(account) == 1
    customers = carrier_state(account)["customers"]
    assert [c["company_name"] for c in customers.values()] == ["Anchor Dental Clinic"], "a second customer was made"
    customer.refresh_from_db()
    assert (customer.remote_id, customer.sync_state) == (next(iter(customers)), SyncState.SYNCED)


@pytest.mark.django_db
def test_d1_the_carriers_trunk_password_survives_a_stale_save(sandbox_carrier_account):
    account = sandbox_carrier_account("simwood")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    trunk = create_trunk(customer=customer, name="PBX1", type="auth")
    page_copy = Trunk.objects.get(pk=trunk.pk)
    run_due(account)
    generated = Trunk.objects.get(pk=trunk.pk).password
    assert generated, "Simwood shows a new auth trunk's password once"
    update_trunk(page_copy, channels_out=4)
    assert Trunk.objects.get(pk=trunk.pk).password == generated


# ------------------------------------------------------------------------------------ D2
@pytest.mark.django_db
def test_d2_a_number_released_while_its_allocation_runs_is_released_at_the_carrier(
    sandbox_carrier_account, carrier_state
):
    account = sandbox_carrier_account("simwood")
    e164 = "+" + next(iter(carrier_state(account)["stock"]))
    number = add_number(reseller=account.reseller, carrier_account=account, e164=e164)
    allocation = engine.claim(job_of(number, "number").pk)  # the worker has it...
    release_number(Number.objects.get(pk=number.pk))  # ...when staff release it: no remote id yet
    engine.run_next(account.pk, claimed=allocation)
    run_due(account)
    state = carrier_state(account)
    assert e164[1:] not in state["numbers"], "the number stayed allocated (and kept costing money)"
    # Released at the carrier, or never allocated (the allocation, run after the release was
    # saved, found a released number and sent nothing): either way the account does not hold it.
    assert e164[1:] in state["released"] or e164[1:] in state["stock"]
    number.refresh_from_db()
    assert (number.remote_id, number.sync_state) == ("", SyncState.SYNCED)


# ------------------------------------------------------------------------------------ D3
@pytest.mark.django_db(transaction=True)
def test_d3_a_forward_and_a_route_change_of_one_simwood_number_both_land(
    sandbox_carrier_account, carrier_state, account_faults, _purged_broker
):
    account = sandbox_carrier_account("simwood", max_in_flight=4)
    e164 = "+" + next(iter(carrier_state(account)["stock"]))
    number = add_number(reseller=account.reseller, carrier_account=account, e164=e164)
    run_due(account)
    account_faults(account, latency={"fixed_ms": 150})
    set_forwards(Number.objects.get(pk=number.pk), [ForwardInput("unconditional", True, [("+447400123456", 20)])])
    update_number(Number.objects.get(pk=number.pk), destination="sip:desk@pbx.example.com")
    # Two workers take the account's two due jobs at the same instant.
    race(lambda: engine.run_next(account.pk), lambda: engine.run_next(account.pk))
    run_due(account)
    config = carrier_state(account)["numbers"][e164[1:]]["config"]
    text = str(config)
    assert "447400123456" in text, f"the forward was lost: {config}"
    assert "desk@pbx.example.com" in text, f"the route was lost: {config}"


# ------------------------------------------------------------------------------------ D4
@pytest.mark.django_db(transaction=True)
def test_d4_a_person_and_a_worker_on_one_object_never_deadlock(sandbox_carrier_account, monkeypatch, _purged_broker):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's one write lock serialises writers: no row locks, no deadlock")
    account = sandbox_carrier_account("simotel")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    subscriber, _ = create_subscriber(customer=customer, username="1001", domain="pbx.example.com")
    created = job_of(subscriber)
    # The person's service has saved the row (and holds its lock) when the worker's claim
    # of the create comes in; then the service queues its job.
    saved, claim_started = threading.Event(), threading.Event()
    record_change = outbox.record_change

    def slow_record_change(obj, **kwargs):
        saved.set()
        claim_started.wait(5)
        time.sleep(0.5)  # the claim is under way, blocked on a lock
        return record_change(obj, **kwargs)

    monkeypatch.setattr("portal.sync.provisioning.record_change", slow_record_change)
    errors: list[BaseException] = []

    def person() -> None:
        try:
            update_subscriber(Subscriber.objects.get(pk=subscriber.pk), display_name="Reception")
        except BaseException as exc:  # noqa: BLE001 - the test reports what the person would see
            errors.append(exc)
        finally:
            connection.close()

    def worker() -> None:
        try:
            saved.wait(5)
            claim_started.set()
            engine.claim(created.pk)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=person), threading.Thread(target=worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, f"a writer failed: {errors!r}"
    subscriber.refresh_from_db()
    assert subscriber.display_name == "Reception"
    assert SyncJob.objects.filter(object_kind="subscriber", object_id=subscriber.pk, state=JobState.QUEUED).count() == 1


def test_d4_a_service_refused_by_a_serialization_failure_runs_again(transactional_db, monkeypatch):
    from django.db import OperationalError

    from portal.sync import provisioning
    from tests.factories import ResellerFactory

    class DeadlockDetected(Exception):
        sqlstate = "40P01"

    calls = []
    save = provisioning.save_and_sync

    def once_deadlocked(obj, **kwargs):
        calls.append(obj)
        if len(calls) == 1:
            raise OperationalError("deadlock detected") from DeadlockDetected()
        return save(obj, **kwargs)

    monkeypatch.setattr("portal.customers.services.save_and_sync", once_deadlocked)
    customer = create_customer(reseller=ResellerFactory(), name="Harbour Dental")
    assert len(calls) == 2 and Customer.objects.get(pk=customer.pk).name == "Harbour Dental"


# ------------------------------------------------------------------------------------ D5
@pytest.mark.django_db(transaction=True)
def test_d5_a_delete_while_the_create_runs_deletes_what_the_create_made(
    sandbox_carrier_account, carrier_state, account_faults, _purged_broker
):
    account = sandbox_carrier_account("simotel")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    run_due(account)
    trunk = create_trunk(customer=customer, name="harbour", allowed_ips=["192.0.2.10"], host="pbx.example.com")
    account_faults(account, latency={"fixed_ms": 300})
    worker = threading.Thread(target=lambda: (engine.run_next(account.pk), connection.close()))
    worker.start()
    wait_for(lambda: job_of(trunk, "trunk").state == JobState.RUNNING)
    time.sleep(0.15)  # the worker has loaded the trunk and is talking to the carrier...
    delete_trunk(Trunk.objects.get(pk=trunk.pk))  # ...when staff delete it
    worker.join(timeout=30)
    account_faults(account)
    run_due(account)
    assert carrier_state(account)["trunks"] == [], "the trunk stayed live at the carrier"


@pytest.mark.django_db
def test_d5_a_trunk_whose_create_stopped_half_way_is_deleted_at_the_carrier(
    sandbox_carrier_account, carrier_state, refuse_after
):
    account = sandbox_carrier_account("sipwise")
    customer = sipwise_customer(account)
    trunk = create_trunk(customer=customer, name="Main PBX", type="auth", allowed_ips=["192.0.2.10"])
    clear = refuse_after(account, 2)  # its lookup and the subscriber POST land; its preferences do not
    run_due(account)
    assert job_of(trunk, "trunk").state == JobState.QUEUED, "the create was to wait for a retry"
    assert [s["username"] for s in carrier_state(account)["subscribers"].values()] == [f"trunk-{trunk.pk}"]
    clear()
    delete_trunk(Trunk.objects.get(pk=trunk.pk))  # staff give up on it meanwhile
    run_due(account)
    live = [s["username"] for s in carrier_state(account)["subscribers"].values() if s.get("status") != "terminated"]
    assert live == [], "the trunk stayed live at Sipwise, with working SIP credentials"


# ------------------------------------------------------------------------------------ D6
@pytest.mark.django_db
def test_d6_a_retried_sipwise_customer_makes_one_contact(sandbox_carrier_account, carrier_state, refuse_after):
    account = sandbox_carrier_account("sipwise")
    customer = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
    # Its lookup, the search for a contact an unanswered POST made, and the contact POST land;
    # the customer POST does not.
    clear = refuse_after(account, 3)
    run_due(account)
    assert job_of(customer, "customer").state == JobState.QUEUED
    clear()
    make_due(account)
    run_due(account)
    customer.refresh_from_db()
    assert customer.sync_state == SyncState.SYNCED, customer.sync_error
    contacts = [c for c in carrier_state(account)["customercontacts"].values() if c.get("company") == ANCHOR["name"]]
    assert len(contacts) == 1, f"{len(contacts)} contacts for one customer: the retry left an orphan"


# ------------------------------------------------------------------------------------ D7
@pytest.mark.django_db(transaction=True)
def test_d7_a_refused_parent_is_not_resent_unasked_and_its_child_follows_a_retry(
    sandbox_carrier_account, carrier_log, sandbox_faults, _purged_broker
):
    account = sandbox_carrier_account("sipwise")
    customer = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
    sandbox_faults({"account": sandbox_id(account), "fail_next": {"count": 1, "status": 422}})
    run_due(account)
    refused = job_of(customer, "customer")
    assert refused.state == JobState.FAILED
    subscriber, _ = create_subscriber(customer=customer, username="kira")
    for _ in range(3):  # the child is looked at again and again
        make_due(account)
        run_due(account)
    customer_jobs = SyncJob.objects.filter(object_kind="customer", object_id=customer.pk)
    assert list(customer_jobs.values_list("state", flat=True)) == [JobState.FAILED], "the refused customer was re-sent"
    subscriber.refresh_from_db()
    assert subscriber.sync_state == SyncState.PENDING
    assert "was refused by the carrier" in subscriber.sync_error and refused.last_error in subscriber.sync_error
    retry_job(refused)
    run_due(account)
    subscriber.refresh_from_db()
    assert subscriber.sync_state == SyncState.SYNCED, subscriber.sync_error
