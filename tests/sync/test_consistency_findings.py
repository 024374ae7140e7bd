"""Defects the consistency test found beyond the seven races of issue #10, each made to happen
on purpose (jobs run in this process, as in test_races.py). Each failed before its fix."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError

from portal.carriers.base import TransientError
from portal.customers.models import Customer
from portal.customers.services import create_customer, delete_customer, set_customer_status
from portal.customers.sync import customer_spec
from portal.forwards.services import ForwardInput, set_forwards
from portal.numbers.models import Number
from portal.numbers.services import add_number, assign_number, release_number, update_number
from portal.subscribers.services import create_subscriber, disable_subscriber
from portal.sync import engine
from portal.sync.models import JobState, SyncJob, SyncState
from portal.trunks.models import Trunk
from portal.trunks.services import create_trunk, update_trunk
from tests.sync.test_races import ANCHOR, make_due, run_due, sipwise_customer

pytestmark = pytest.mark.django_db


def test_a_locked_sip_account_is_locked_at_sipwise(sandbox_carrier_account, carrier_state):
    account = sandbox_carrier_account("sipwise")
    customer = sipwise_customer(account)
    subscriber, _ = create_subscriber(customer=customer, username="kira")
    run_due(account)
    disable_subscriber(subscriber)
    run_due(account)
    subscriber.refresh_from_db()
    assert subscriber.sync_state == SyncState.SYNCED, subscriber.sync_error
    (held,) = [s for s in carrier_state(account)["subscribers"].values() if s["username"] == "kira"]
    assert held["status"] == "locked"


def test_a_released_number_with_forwards_is_not_bought_back(sandbox_carrier_account, carrier_state, carrier_log):
    account = sandbox_carrier_account("simwood")
    e164 = "+" + next(iter(carrier_state(account)["stock"]))
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    number = add_number(reseller=account.reseller, carrier_account=account, e164=e164, customer=customer)
    run_due(account)
    set_forwards(Number.objects.get(pk=number.pk), [ForwardInput("unconditional", True, [("+447400123456", 20)])])
    release_number(Number.objects.get(pk=number.pk))  # the forwards' job is still queued
    for _ in range(3):
        make_due(account)
        run_due(account)
    state = carrier_state(account)
    assert e164[1:] not in state["numbers"] and e164[1:] in state["released"]
    allocations = [e for e in carrier_log(account) if e["method"] == "PUT" and e["path"].endswith(f"/allocated/{e164[1:]}")]
    assert len(allocations) == 1, "the released number was allocated again"
    assert not SyncJob.objects.open().exists()


def test_a_sipwise_customer_terminated_twice_is_terminated_once(sandbox_carrier_account):
    account = sandbox_carrier_account("sipwise")
    customer = sipwise_customer(account)
    set_customer_status(customer, "terminated")
    run_due(account)
    SyncJob.objects.create(reseller=account.reseller, carrier_account=account, object_kind="customer",
                           object_id=customer.pk, object_repr=str(customer))  # a retried push of it
    run_due(account)
    states = set(SyncJob.objects.filter(object_kind="customer", object_id=customer.pk).values_list("state", flat=True))
    assert states == {JobState.DONE}


def test_a_surevoip_number_cannot_be_moved_to_another_customer(sandbox_carrier_account, carrier_state):
    account = sandbox_carrier_account("surevoip")
    first = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
    second = create_customer(reseller=account.reseller, carrier_account=account, **{**ANCHOR, "name": "Quay Vets"})
    number = add_number(reseller=account.reseller, carrier_account=account, e164="+" + carrier_state(account)["stock"][0],
                        customer=first)
    with pytest.raises(ValidationError) as refused:
        update_number(number, customer=second)
    assert "cannot move it" in refused.value.message_dict["customer"][0]
    assert Number.objects.get(pk=number.pk).customer == first


def test_a_simwood_trunk_cannot_be_renamed(sandbox_carrier_account):
    account = sandbox_carrier_account("simwood")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    trunk = create_trunk(customer=customer, name="PBX1", type="auth")
    with pytest.raises(ValidationError) as refused:
        update_trunk(Trunk.objects.get(pk=trunk.pk), name="PBX2")
    assert "cannot rename" in refused.value.message_dict["name"][0]
    assert Trunk.objects.get(pk=trunk.pk).name == "PBX1"


def test_a_surevoip_number_needs_a_customer_before_it_is_allocated(sandbox_carrier_account, carrier_state):
    account = sandbox_carrier_account("surevoip")
    e164 = "+" + carrier_state(account)["stock"][0]
    with pytest.raises(ValidationError) as refused:  # the page says so; no job the carrier must refuse
        add_number(reseller=account.reseller, carrier_account=account, e164=e164)
    assert "allocates a number to a customer" in refused.value.message_dict["customer"][0]
    assert not Number.objects.filter(e164=e164).exists()
    assert not SyncJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_customer_deleted_while_a_trunk_is_added_for_it(sandbox_carrier_account, monkeypatch):
    """The delete checked that the customer had nothing, then a trunk was committed for it,
    then the delete went on: on PostgreSQL a foreign-key error refused the delete to the
    person (or the cascade took the new trunk with it, its carrier never told)."""
    import threading

    from django.db import connection

    from portal.customers import services as customers

    from portal.customers.models import Customer

    account = sandbox_carrier_account("simotel")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    checked, added = threading.Event(), threading.Event()
    real_check = customers.deletion_refusal

    def check_then_let_the_trunk_in(target):
        refusal = real_check(target)
        checked.set()
        added.wait(timeout=2)  # with the fix the trunk waits for this delete to commit instead
        return refusal

    monkeypatch.setattr(customers, "deletion_refusal", check_then_let_the_trunk_in)
    outcomes: dict[str, object] = {}

    def delete() -> None:
        try:
            customers.delete_customer(customer)
            outcomes["delete"] = "done"
        except Exception as exc:  # noqa: BLE001 — what the person would see
            outcomes["delete"] = exc
        finally:
            connection.close()

    def add_trunk() -> None:
        page_loaded = Customer.objects.get(pk=customer.pk)  # each page loads its own
        checked.wait(timeout=5)
        try:
            create_trunk(customer=page_loaded, name="PBX1", type="ip", host="pbx.example.com", allowed_ips=["192.0.2.10"])
            outcomes["trunk"] = "done"
        except Exception as exc:  # noqa: BLE001
            outcomes["trunk"] = exc
        finally:
            added.set()
            connection.close()

    threads = [threading.Thread(target=delete), threading.Thread(target=add_trunk)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    done = [name for name, outcome in outcomes.items() if outcome == "done"]
    refused = [outcome for outcome in outcomes.values() if outcome != "done"]
    assert len(done) == 1, outcomes  # one of them wins ...
    assert all(isinstance(outcome, ValidationError) for outcome in refused), outcomes  # ... the other is told why
    assert Trunk.objects.filter(name="PBX1").exists() == (done == ["trunk"])
    trunk_jobs = SyncJob.objects.filter(object_kind="trunk")
    assert trunk_jobs.exists() == (done == ["trunk"])  # no trunk queued for the carrier and gone here


def test_a_push_of_a_released_number_run_after_the_release_leaves_it_synced(sandbox_carrier_account, carrier_state):
    """A push whose worker was killed goes back to the queue (the sweeper) and may run after
    the number's release landed: it sends nothing, and the number must not stay 'syncing'."""
    account = sandbox_carrier_account("simwood")
    e164 = "+" + sorted(carrier_state(account)["stock"])[0]
    number = add_number(reseller=account.reseller, carrier_account=account, e164=e164)
    run_due(account)
    release_number(Number.objects.get(pk=number.pk))
    run_due(account)
    SyncJob.objects.create(reseller=account.reseller, carrier_account=account, object_kind="number",
                           object_id=number.pk, object_repr=e164, record=f"number:{number.pk}")  # the requeued push
    run_due(account)
    number.refresh_from_db()
    assert number.sync_state == SyncState.SYNCED
    assert not SyncJob.objects.open().exists()


def test_a_sipwise_sip_account_cannot_be_renamed(sandbox_carrier_account):
    """Sipwise keeps a subscriber's username for good (422 on a change): the rename was
    accepted, its job failed, and the carrier kept the old name (found by the soak)."""
    from portal.subscribers.models import Subscriber
    from portal.subscribers.services import update_subscriber

    account = sandbox_carrier_account("sipwise")
    subscriber, _ = create_subscriber(customer=sipwise_customer(account), username="2002")
    run_due(account)
    with pytest.raises(ValidationError) as refused:
        update_subscriber(Subscriber.objects.get(pk=subscriber.pk), username="2000")
    assert "cannot rename a SIP account" in refused.value.message_dict["username"][0]
    assert Subscriber.objects.get(pk=subscriber.pk).username == "2002"
    update_subscriber(Subscriber.objects.get(pk=subscriber.pk), display_name="Front Desk")  # other changes go on
    run_due(account)
    assert Subscriber.objects.get(pk=subscriber.pk).sync_state == SyncState.SYNCED


@pytest.mark.django_db(transaction=True)
def test_two_people_adding_the_same_number_at_once_are_told_why(sandbox_carrier_account, carrier_state, monkeypatch):
    """Both passed validation, then the second insert hit the unique constraint: a database
    error (a 500) instead of "already in stock" (found by the soak on PostgreSQL; SQLite's
    one write lock never lets the two overlap)."""
    import threading

    from django.db import connection

    account = sandbox_carrier_account("simwood")
    e164 = "+" + sorted(carrier_state(account)["stock"])[0]
    validated, other_done = threading.Event(), threading.Event()
    real_clean = Number.full_clean
    first = threading.Lock()

    def clean_then_let_the_other_in(self, *args, **kwargs):
        real_clean(self, *args, **kwargs)
        if first.acquire(blocking=False):  # only the first person's validation pauses
            validated.set()
            other_done.wait(timeout=2)

    monkeypatch.setattr(Number, "full_clean", clean_then_let_the_other_in)
    outcomes: list[object] = []

    def add(wait: threading.Event | None) -> None:
        if wait is not None:
            wait.wait(timeout=5)
        try:
            add_number(reseller=account.reseller, carrier_account=account, e164=e164)
            outcomes.append("done")
        except Exception as exc:  # noqa: BLE001 — what the person would see
            outcomes.append(exc)
        finally:
            if wait is not None:
                other_done.set()
            connection.close()

    threads = [threading.Thread(target=add, args=(None,)), threading.Thread(target=add, args=(validated,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("done") == 1, outcomes
    (refused,) = [outcome for outcome in outcomes if outcome != "done"]
    assert isinstance(refused, ValidationError), refused
    assert Number.objects.filter(e164=e164).count() == 1


@pytest.mark.django_db(transaction=True)
def test_three_people_setting_one_owners_forwards_at_once_are_never_refused(sandbox_carrier_account):
    """People setting and clearing one subscriber's forwards at the same time worked on the
    forward rows another had just deleted or added: a duplicate-key error or a missing row,
    a 500 (found by the soak on PostgreSQL; SQLite's one write lock never lets them overlap).
    Now the owner's row is taken first and they take turns. Without the fix about half of
    these 90 changes failed on PostgreSQL."""
    import threading

    from django.db import connection

    from portal.subscribers.models import Subscriber

    account = sandbox_carrier_account("simotel")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    subscriber, _ = create_subscriber(customer=customer, username="2001", domain="pbx.example.com")
    errors: list[str] = []

    def person(forwards: list[ForwardInput]) -> None:
        try:
            for turn in range(30):
                try:
                    set_forwards(Subscriber.objects.get(pk=subscriber.pk), forwards if turn % 2 else [])
                except Exception as exc:  # noqa: BLE001 — what the person would see
                    errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    sets = [[ForwardInput("unconditional", True, [("+447400123401", 20)])],
            [ForwardInput("busy", True, [("+447400123402", 20)])],
            [ForwardInput("unconditional", False, [("+447400123403", 20)])]]
    threads = [threading.Thread(target=person, args=(forwards,)) for forwards in sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [], f"{len(errors)} of 90 refused, e.g. {errors[0]}"


def a_refused_delete(account, subscriber, account_faults) -> SyncJob:
    """The carrier refuses the SIP account's delete (for real: the sandbox's next answer is a
    418): the row is gone, its delete job failed, a person's to retry."""
    from portal.subscribers.models import Subscriber
    from portal.subscribers.services import delete_subscriber

    account_faults(account, fail_next={"count": 1, "status": 418})
    delete_subscriber(Subscriber.objects.get(pk=subscriber.pk))
    run_due(account)
    (refused,) = SyncJob.objects.filter(state=JobState.FAILED)
    account_faults(account)
    return refused


def test_a_retried_change_does_not_cancel_the_delete_queued_after_it(sandbox_carrier_account, account_faults,
                                                                      carrier_state):
    """A person retried a failed change of a subscriber that had been deleted meanwhile: the
    retry superseded the queued delete as if it were an older change, and the carrier kept
    the SIP account for good (found by the consistency test, Simotel, seed 532451644)."""
    from portal.subscribers.models import Subscriber
    from portal.subscribers.services import delete_subscriber, update_subscriber
    from portal.sync.operations import retry_job
    from tests.sync.conftest import simotel_subscribers

    account = sandbox_carrier_account("simotel")
    (subscriber,) = simotel_subscribers(account, ["2002"])
    run_due(account)
    update_subscriber(Subscriber.objects.get(pk=subscriber.pk), display_name="Front Desk")
    account_faults(account, fail_next={"count": 1, "status": 418})
    run_due(account)
    (failed,) = SyncJob.objects.filter(state=JobState.FAILED)
    delete_subscriber(Subscriber.objects.get(pk=subscriber.pk))
    retry_job(failed)
    run_due(account)
    assert [user["number"] for user in carrier_state(account)["users"]] == []
    assert not SyncJob.objects.exclude(state=JobState.DONE).exists()


def test_a_retried_delete_leaves_the_namesake_that_adopted_the_carriers_object(sandbox_carrier_account, account_faults,
                                                                                carrier_state):
    """The carrier refused a SIP account's delete; a new one of the same username adopted the
    carrier's object (nothing held the name: the delete had failed); then the delete was
    retried and deleted it from under the new one (found by the soak on Sipwise)."""
    from portal.sync.operations import retry_job
    from tests.sync.conftest import simotel_subscribers

    account = sandbox_carrier_account("simotel")
    (old,) = simotel_subscribers(account, ["2001"])
    run_due(account)
    refused = a_refused_delete(account, old, account_faults)
    new, _ = create_subscriber(customer=old.customer, username="2001", domain=old.domain)
    run_due(account)
    retry_job(refused)
    run_due(account)
    new.refresh_from_db()
    assert [user["number"] for user in carrier_state(account)["users"]] == ["2001"]
    assert new.sync_state == SyncState.SYNCED and new.remote_id
    assert not SyncJob.objects.exclude(state=JobState.DONE).exists()


def contacts_of(state: dict, name: str) -> list[dict]:
    return [c for c in state["customercontacts"].values() if c.get("company") == name]


def an_unanswered_contact_post(account, customer) -> None:
    """What a worker killed (or timed out) after its contact POST reached Sipwise leaves: the
    contact, and no record of it in the portal. The POST is made here, for real."""
    adapter = engine.adapter_for(account)
    adapter._create("customercontacts", adapter._contact_body(customer_spec(customer)))


def test_a_sipwise_contact_whose_answer_never_came_back_is_the_one_the_customer_gets(
    sandbox_carrier_account, carrier_state
):
    account = sandbox_carrier_account("sipwise")
    customer = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
    an_unanswered_contact_post(account, customer)
    run_due(account)
    customer.refresh_from_db()
    assert customer.sync_state == SyncState.SYNCED, customer.sync_error
    state = carrier_state(account)
    (contact,) = contacts_of(state, ANCHOR["name"])  # not a second one beside the orphan
    assert state["customers"][customer.remote_id]["contact_id"] == contact["id"]


def test_a_sipwise_contact_whose_answer_never_came_back_goes_with_a_customer_deleted_before_it_landed(
    sandbox_carrier_account, carrier_state
):
    account = sandbox_carrier_account("sipwise")
    customer = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
    an_unanswered_contact_post(account, customer)
    delete_customer(Customer.objects.get(pk=customer.pk))  # the create is still queued
    run_due(account)
    assert contacts_of(carrier_state(account), ANCHOR["name"]) == [], "the contact was left without a customer"
    assert not SyncJob.objects.open().exists()


def test_a_number_moved_between_sip_accounts_waits_for_its_old_owner_to_give_it_up(
    sandbox_carrier_account, carrier_state
):
    account = sandbox_carrier_account("sipwise")
    customer = sipwise_customer(account)
    e164 = "+441134960777"
    number = add_number(reseller=account.reseller, carrier_account=account, e164=e164, customer=customer)
    first, _ = create_subscriber(customer=customer, username="kira", primary_number=number)
    second, _ = create_subscriber(customer=customer, username="finn")
    run_due(account)
    assign_number(Number.objects.get(pk=number.pk), customer=customer, subscriber=second)
    # The new owner's push runs first: Sipwise still has the number on the old one.
    taking = engine.claim(SyncJob.objects.filter(object_kind="subscriber", object_id=second.pk).latest("pk").pk)
    engine.run_next(account.pk, claimed=taking)
    waiting = SyncJob.objects.get(pk=taking.pk)
    assert waiting.state == JobState.QUEUED, f"refused for good: {waiting.last_error}"
    assert "give up a number" in waiting.last_error
    for _ in range(3):
        make_due(account)
        run_due(account)
    assert not SyncJob.objects.open().exists()
    holders = {s["username"]: s for s in carrier_state(account)["subscribers"].values()}
    held = str(holders["finn"]["primary_number"]) + str(holders["finn"]["alias_numbers"])
    assert "4960777" in held, holders["finn"]


@contextmanager
def answer_lost(monkeypatch, adapter_class, method: str):
    """While the block runs, ``method`` reaches the carrier for real and its answer is lost
    (a worker killed, a read timeout): the one fault here that the sandbox cannot make."""
    real = getattr(adapter_class, method)

    def sent_but_unanswered(adapter, *args, **kwargs):
        real(adapter, *args, **kwargs)
        raise TransientError("the carrier's answer never came back")

    monkeypatch.setattr(adapter_class, method, sent_but_unanswered)
    try:
        yield
    finally:
        monkeypatch.setattr(adapter_class, method, real)


def test_a_customer_renamed_while_its_unanswered_create_waits_is_made_once(
    sandbox_carrier_account, carrier_state, monkeypatch
):
    """A SureVoIP customer's POST landed but its answer never came back (a worker killed, a
    read timeout); a person renamed the customer before the retry. SureVoIP has no reference
    field, so the retry looks the customer up by name and email: by the new name it missed
    the one the first POST made, and made a second (the soak, seed 537486572)."""
    from portal.carriers.surevoip import SureVoIPAdapter
    from portal.customers.services import update_customer

    account = sandbox_carrier_account("surevoip")
    customer = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
    with answer_lost(monkeypatch, SureVoIPAdapter, "create_customer"):
        run_due(account)
    update_customer(Customer.objects.get(pk=customer.pk), name="Anchor Dental")
    make_due(account)
    run_due(account)

    customer.refresh_from_db()
    assert customer.sync_state == SyncState.SYNCED, customer.sync_error
    held = [c for c in carrier_state(account)["customers"].values() if c.get("email") == ANCHOR["email"]]
    assert len(held) == 1, f"the carrier holds {len(held)} customers for one: {held}"
    assert not SyncJob.objects.open().exists()


def test_a_sip_account_renamed_and_deleted_while_its_unanswered_create_waits_is_gone(
    sandbox_carrier_account, carrier_state, monkeypatch
):
    """The same, then deleted before the retry: the delete looks for the extension under its
    new number, and only the name the create was sent under finds what it made."""
    from portal.carriers.simotel import SimotelAdapter
    from portal.subscribers.models import Subscriber
    from portal.subscribers.services import delete_subscriber, update_subscriber

    account = sandbox_carrier_account("simotel")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    subscriber, _ = create_subscriber(customer=customer, username="201", domain="pbx.example.com")
    with answer_lost(monkeypatch, SimotelAdapter, "create_subscriber"):
        run_due(account)
    assert [user["number"] for user in carrier_state(account)["users"]] == ["201"]
    update_subscriber(Subscriber.objects.get(pk=subscriber.pk), username="202")
    delete_subscriber(Subscriber.objects.get(pk=subscriber.pk))
    make_due(account)
    run_due(account)

    assert carrier_state(account)["users"] == [], "the extension the first create made stayed"
    assert not SyncJob.objects.open().exists()


def test_a_sip_account_whose_delete_was_refused_keeps_its_name_from_another_customers(
    sandbox_carrier_account, account_faults, carrier_state
):
    """Sipwise refused a SIP account's delete; a new one of the same username was added for
    another customer and adopted the carrier's object, which Sipwise will not move to another
    customer (422 "customer_id can't be changed"): the new one failed for good and was never
    made (the soak, seed 545576032 with Redis). It now waits for the refused delete, says so,
    and lands once a person has retried it."""
    from portal.sync.operations import retry_job

    account = sandbox_carrier_account("sipwise")
    first = sipwise_customer(account)
    other = create_customer(reseller=account.reseller, carrier_account=account, name="Quay Vets",
                            email="desk@quay.example", phone="+441179460222")
    old, _ = create_subscriber(customer=first, username="2004")
    run_due(account)
    refused = a_refused_delete(account, old, account_faults)

    new, _ = create_subscriber(customer=Customer.objects.get(pk=other.pk), username="2004")
    run_due(account)
    waiting = SyncJob.objects.filter(object_kind="subscriber", object_id=new.pk).latest("pk")
    assert waiting.state == JobState.QUEUED, f"refused for good: {waiting.last_error}"
    assert "retry its refused delete" in waiting.last_error

    retry_job(refused)
    for _ in range(2):
        make_due(account)
        run_due(account)
    new.refresh_from_db()
    assert new.sync_state == SyncState.SYNCED, new.sync_error
    other.refresh_from_db()
    live = [s for s in carrier_state(account)["subscribers"].values()
            if s["username"] == "2004" and s.get("status") != "terminated"]
    assert [str(s["customer_id"]) for s in live] == [other.remote_id]
    assert not SyncJob.objects.exclude(state=JobState.DONE).exists()


@pytest.mark.django_db(transaction=True)
def test_a_number_routed_to_a_sip_account_deleted_at_that_moment_is_refused_in_words_or_cleared(
    sandbox_carrier_account, monkeypatch
):
    """The soak (seed 553886929, PostgreSQL): a person routed a number to a SIP account that
    another person deleted after the route was validated and before it committed; the commit
    failed on the foreign key, a 500. Here the delete is made at that very moment, every time.
    Either the route waits for nothing and the delete finds the number and clears it (telling
    the carrier), or the route comes second and is refused in words; nothing else."""
    import threading

    from django.db import connection

    from portal.subscribers.models import Subscriber
    from portal.subscribers.services import delete_subscriber
    from portal.sync import provisioning

    account = sandbox_carrier_account("sipwise")
    customer = sipwise_customer(account)
    number = add_number(reseller=account.reseller, carrier_account=account, e164="+441134960778", customer=customer)
    subscriber, _ = create_subscriber(customer=customer, username="kira")
    validated, deleted = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}
    real_validate = provisioning.validate

    def validate_then_let_the_delete_in(obj, exclude=None):
        real_validate(obj, exclude)
        if threading.current_thread().name == "route" and not validated.is_set():
            validated.set()
            deleted.wait(2)  # the delete commits now, unless the route's hold makes it wait

    monkeypatch.setattr(provisioning, "validate", validate_then_let_the_delete_in)

    def person(name, change):
        try:
            change()
            outcomes[name] = "done"
        except ValidationError as exc:
            outcomes[name] = "refused: " + " ".join(exc.messages)
        except Exception as exc:  # noqa: BLE001 — what the person would see: a 500
            outcomes[name] = f"error: {type(exc).__name__}: {exc}"
        finally:
            deleted.set() if name == "delete" else None
            connection.close()

    def route():
        update_number(Number.objects.get(pk=number.pk), subscriber=Subscriber.objects.get(pk=subscriber.pk))

    def delete():
        validated.wait(10)
        delete_subscriber(Subscriber.objects.get(pk=subscriber.pk))

    threads = [threading.Thread(target=person, args=("route", route), name="route"),
               threading.Thread(target=person, args=("delete", delete), name="delete")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes["delete"] == "done", outcomes
    assert outcomes["route"] == "done" or "deleted meanwhile" in outcomes["route"], outcomes
    assert Number.objects.get(pk=number.pk).subscriber_id is None and not Subscriber.objects.exists()
    if outcomes["route"] == "done":  # the delete saw the route: the carrier is told the number goes nowhere now
        gone = SyncJob.objects.get(object_kind="subscriber", operation="delete")
        assert SyncJob.objects.filter(object_kind="number", object_id=number.pk, pk__gt=gone.pk).exists()



def test_a_sip_account_renamed_to_the_name_of_one_whose_delete_was_refused_waits_for_its_retry(
    sandbox_carrier_account, account_faults, carrier_state
):
    """The soak (RabbitMQ, after fix 15): Simotel refused extension 2001's delete, and another SIP
    account was renamed 2001. Its push was refused ("This number already exists") and failed
    for good, and so did the next changes to it; the delete's retry then landed, and the
    renamed one was never sent again. Now it waits, says which delete to retry, and lands
    once that delete has."""
    from portal.subscribers.models import Subscriber
    from portal.subscribers.services import update_subscriber
    from portal.sync.operations import retry_job
    from tests.sync.conftest import simotel_subscribers

    account = sandbox_carrier_account("simotel")
    renamed, deleted = simotel_subscribers(account, ["2000", "2001"])
    run_due(account)
    refused = a_refused_delete(account, deleted, account_faults)
    update_subscriber(Subscriber.objects.get(pk=renamed.pk), username="2001")
    run_due(account)
    waiting = SyncJob.objects.filter(object_kind="subscriber", object_id=renamed.pk).latest("pk")
    assert waiting.state == JobState.QUEUED, f"refused for good: {waiting.last_error}"
    assert "retry its refused delete" in waiting.last_error and "already exists" in waiting.last_error
    retry_job(refused)
    for _ in range(3):
        make_due(account)
        run_due(account)
    assert not SyncJob.objects.exclude(state=JobState.DONE).exists()
    assert [user["number"] for user in carrier_state(account)["users"]] == ["2001"]
    assert Subscriber.objects.get(pk=renamed.pk).sync_state == SyncState.SYNCED


def test_a_create_that_needs_more_requests_than_the_budget_holds_lands(sandbox_carrier_account):
    """The soak (RabbitMQ, after fix 16): a Sipwise customer's create takes four requests (the
    lookup, the contacts, the contact, the customer). With the account's budget spent, each
    attempt sent its lookup and was put back for the next unit, and its next attempt's lookup
    took that unit again: for two minutes, until the drain gave up. Here the budget is two
    requests a second, so before the fix no attempt could ever get past its second request."""
    import time

    account = sandbox_carrier_account("sipwise")
    account.rate_limit_requests, account.rate_limit_window = 2, 1
    account.save()
    customer = create_customer(reseller=account.reseller, carrier_account=account, **ANCHOR)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Customer.objects.get(pk=customer.pk).remote_id:
        make_due(account)
        run_due(account)
    customer.refresh_from_db()
    assert customer.remote_id and customer.sync_state == SyncState.SYNCED, customer.sync_error
    (job,) = SyncJob.objects.filter(object_kind="customer", object_id=customer.pk)
    assert job.state == JobState.DONE and len(job.attempt_log) == 1, job.attempt_log  # one attempt, not a restart
