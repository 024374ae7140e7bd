"""Order and coalescing: the newest desired state wins, and a child waits for its parent.

Real worker processes, real HTTP to the sandbox; the request log shows what reached the
carrier, in which order and how often.
"""

from __future__ import annotations

import json
import time

import pytest

from portal.carriers import get_adapter
from portal.customers.services import create_customer
from portal.numbers.models import Number
from portal.numbers.services import add_number
from portal.subscribers.services import update_subscriber
from portal.sync.models import ErrorKind, JobState, SyncJob
from tests.sync.conftest import all_synced, job_of, simotel_subscribers, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.slow
def test_two_quick_edits_of_one_object_reach_the_carrier_as_one_call_with_the_latest_values(
    start_worker, sandbox_carrier_account, account_faults, carrier_log, carrier_state
):
    start_worker(concurrency=1)
    account = sandbox_carrier_account("simotel")
    (subscriber,) = simotel_subscribers(account, ["1001"])
    wait_for(lambda: all_synced([subscriber]))
    # The one worker is busy with another reseller's slow change while the two edits come in.
    elsewhere = sandbox_carrier_account("simotel")
    account_faults(elsewhere, latency={"fixed_ms": 1500})
    (slow,) = simotel_subscribers(elsewhere, ["2001"])
    wait_for(lambda: job_of(slow).state == JobState.RUNNING)

    edited = time.time()
    update_subscriber(subscriber, display_name="Reception")
    first_edit = job_of(subscriber)
    update_subscriber(subscriber, display_name="Front desk")
    second_edit = job_of(subscriber)

    wait_for(lambda: all_synced([subscriber, slow]), message="the edits never landed")
    first_edit.refresh_from_db()
    second_edit.refresh_from_db()
    assert first_edit.state == JobState.SUPERSEDED and first_edit.started_at is None
    assert second_edit.state == JobState.DONE
    updates = [entry for entry in carrier_log(account, since=edited) if entry["path"].endswith("pbx/users/update")]
    assert len(updates) == 1, "the carrier was called once per edit, not once for both"
    assert json.loads(updates[0]["body"])["name"] == "Front desk"
    assert [user["name"] for user in carrier_state(account)["users"]] == ["Front desk"]


@pytest.mark.slow
def test_a_child_waits_for_its_parent_and_goes_as_soon_as_the_parent_lands(
    start_worker, sandbox_carrier_account, account_faults, carrier_log
):
    # Only the parent's landing can release the child within this test: its own re-check
    # would come a minute later.
    start_worker(SYNC_PARENT_WAIT="60")
    account = sandbox_carrier_account("surevoip")
    with get_adapter(account.kind, account.adapter_config()) as adapter:
        e164 = adapter.search_numbers(limit=1)[0].e164
    account_faults(account, latency={"fixed_ms": 1000})  # the customer takes a few seconds to land
    started = time.time()

    customer = create_customer(
        reseller=account.reseller, name="Harbour Dental", email="office@harbour.example",
        phone="+442079460001", carrier_account=account,
    )  # fmt: skip
    number = add_number(reseller=account.reseller, carrier_account=account, e164=e164, customer=customer)
    waiting = wait_for(
        lambda: SyncJob.objects.filter(pk=job_of(number, "number").pk, error_kind=ErrorKind.WAITING).first(),
        message="the number did not wait for its customer",
    )
    assert waiting.parent_kind == "customer" and waiting.parent_id == customer.pk

    wait_for(lambda: all_synced([customer]) and all_synced([number]), timeout=45, message="they never landed")
    customer.refresh_from_db()
    number = Number.objects.get(pk=number.pk)
    assert number.remote_id == f"{customer.remote_id}:{e164.lstrip('+')}"
    log = carrier_log(account, since=started)
    created = next(entry for entry in log if entry["method"] == "POST" and entry["path"].endswith("/customers"))
    landed = created["time"] + created["duration_ms"] / 1000
    for_the_number = [entry for entry in log if "/numbers" in entry["path"]]
    assert for_the_number and for_the_number[0]["time"] >= landed, "the number went before its customer"
    assert for_the_number[0]["time"] - landed < 5, "the number was not released when its customer landed"
    assert job_of(number, "number").state == JobState.DONE
