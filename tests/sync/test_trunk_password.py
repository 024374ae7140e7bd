"""A trunk's password reset travels through the outbox and a real worker, like every write.

The carriers generate trunk passwords. ``reset_trunk_password`` records a job
(``JobOperation.RESET_SECRET``); the engine asks the carrier through the trunk's kind and
keeps the new password as it keeps a create's: unseen, to be shown once. A reset neither
replaces nor is replaced by the trunk's pushes; a newer reset replaces a queued one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError

from portal.customers.services import create_customer
from portal.sync.models import JobOperation, JobState, SyncJob, SyncState
from portal.trunks.models import Trunk
from portal.trunks.services import create_trunk, reset_trunk_password, take_password, update_trunk
from tests.factories import StaffFactory
from tests.sync.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

RESET_PATH = "/password_reset"


def digest(password: str) -> str:
    # How the Simwood sandbox keeps a trunk's password (notes §1.5: shown once, on create and reset).
    return hashlib.sha256(password.encode()).hexdigest()


def resets(log) -> list[dict]:
    return [entry for entry in log if entry["path"].endswith(RESET_PATH)]


def jobs(trunk, operation):
    return SyncJob.objects.filter(object_kind="trunk", object_id=trunk.pk, operation=operation)


def landed(trunk, operation=JobOperation.RESET_SECRET) -> bool:
    return not jobs(trunk, operation).exclude(state__in=(JobState.DONE, JobState.SUPERSEDED)).exists()


@dataclass
class Landed:
    """An auth trunk at Simwood whose create landed, its first password shown once."""

    account: object
    actor: object
    trunk: Trunk
    worker: object


@pytest.fixture
def simwood_trunk(sandbox_carrier_account, worker) -> Landed:
    account = sandbox_carrier_account("simwood")
    actor = StaffFactory(reseller=account.reseller).user
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental", actor=actor)
    trunk = create_trunk(customer=customer, name="PBX1", type="auth", actor=actor)
    # Its password is kept as soon as the carrier shows it, before the create's last requests.
    wait_for(lambda: landed(trunk, JobOperation.PUSH), message="the trunk's create never landed")
    take_password(Trunk.objects.get(pk=trunk.pk), actor=actor)
    return Landed(account, actor, Trunk.objects.get(pk=trunk.pk), worker)


def test_a_reset_lands_a_new_password_to_be_shown_once_and_the_carrier_holds_it(
    simwood_trunk, carrier_state, carrier_log
):
    account, actor, trunk = simwood_trunk.account, simwood_trunk.actor, simwood_trunk.trunk
    first = trunk.password
    assert trunk.password_shown_at is not None

    job = reset_trunk_password(trunk, actor=actor)
    assert (job.operation, job.caused_by, job.record) == (JobOperation.RESET_SECRET, actor, f"trunk:{trunk.pk}")
    assert Trunk.objects.get(pk=trunk.pk).sync_state == SyncState.PENDING  # its badge shows the work
    wait_for(lambda: landed(trunk), message="the reset never landed")

    trunk.refresh_from_db()
    assert trunk.password and trunk.password != first
    assert trunk.password_shown_at is None, "a new password must be showable once"
    assert (trunk.sync_state, trunk.sync_error) == (SyncState.SYNCED, "")
    remote = carrier_state(account)["trunk_passwords"][trunk.remote_id]
    assert remote == digest(trunk.password), "the portal keeps a password the carrier does not hold"
    assert len(resets(carrier_log(account))) == 1
    assert take_password(trunk, actor=actor) == trunk.password
    with pytest.raises(ValidationError):
        take_password(Trunk.objects.get(pk=trunk.pk), actor=actor)


def test_a_reset_and_a_change_of_one_trunk_both_land_and_a_newer_reset_replaces_a_queued_one(
    simwood_trunk, carrier_state, carrier_log, start_worker
):
    account, actor, trunk = simwood_trunk.account, simwood_trunk.actor, simwood_trunk.trunk
    simwood_trunk.worker.stop()  # the requests below wait in the queue together
    since = carrier_log(account)[-1]["time"]
    update_trunk(Trunk.objects.get(pk=trunk.pk), channels_out=4, actor=actor)
    first = reset_trunk_password(Trunk.objects.get(pk=trunk.pk), actor=actor)
    second = reset_trunk_password(Trunk.objects.get(pk=trunk.pk), actor=actor)
    update_trunk(Trunk.objects.get(pk=trunk.pk), channels_out=6, actor=actor)

    first.refresh_from_db()
    assert first.state == JobState.SUPERSEDED, "two resets asked before either ran make one request"
    assert jobs(trunk, JobOperation.RESET_SECRET).get(state=JobState.QUEUED) == second
    assert jobs(trunk, JobOperation.PUSH).filter(state=JobState.QUEUED).count() == 1, "the latest change waits"

    start_worker()
    wait_for(lambda: landed(trunk) and landed(trunk, JobOperation.PUSH), message="not everything landed")
    trunk.refresh_from_db()
    state = carrier_state(account)
    assert state["trunks"][trunk.remote_id]["limit_concurrent_out"] == "6"
    assert state["trunk_passwords"][trunk.remote_id] == digest(trunk.password)
    assert len(resets(carrier_log(account, since=since))) == 1
    assert trunk.password_shown_at is None and trunk.sync_state == SyncState.SYNCED


def test_a_refused_reset_says_why_and_keeps_the_old_password(
    simwood_trunk, carrier_state, account_faults
):
    account, actor, trunk = simwood_trunk.account, simwood_trunk.actor, simwood_trunk.trunk
    before = trunk.password
    account_faults(account, fail_next={"count": 1, "status": 400})
    job = reset_trunk_password(trunk, actor=actor)
    wait_for(lambda: SyncJob.objects.get(pk=job.pk).state == JobState.FAILED, message="the refusal was not recorded")

    job.refresh_from_db()
    trunk.refresh_from_db()
    assert job.last_error.startswith("password reset refused: ")
    assert trunk.sync_state == SyncState.ERROR and trunk.sync_error == job.last_error
    assert trunk.password == before and trunk.password_shown_at is not None
    assert carrier_state(account)["trunk_passwords"][trunk.remote_id] == digest(before)


def test_a_transient_failure_is_retried_until_the_new_password_lands(simwood_trunk, carrier_state, account_faults):
    account, actor, trunk = simwood_trunk.account, simwood_trunk.actor, simwood_trunk.trunk
    account_faults(account, fail_next={"count": 2, "status": 503})
    job = reset_trunk_password(trunk, actor=actor)
    wait_for(lambda: SyncJob.objects.get(pk=job.pk).state == JobState.DONE, message="the reset was not retried")
    trunk.refresh_from_db()
    assert SyncJob.objects.get(pk=job.pk).attempts == 3
    assert carrier_state(account)["trunk_passwords"][trunk.remote_id] == digest(trunk.password)


def test_what_cannot_be_reset_is_refused_before_anything_is_queued(sandbox_carrier_account):
    account = sandbox_carrier_account("simwood")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    ip_trunk = create_trunk(customer=customer, name="PBX2", type="ip", allowed_ips=["192.0.2.10"])
    not_yet = create_trunk(customer=customer, name="PBX3", type="auth")  # no worker: not at the carrier yet
    for trunk, words in ((ip_trunk, "has no password"), (not_yet, "does not hold this trunk yet")):
        with pytest.raises(ValidationError, match=words):
            reset_trunk_password(trunk)
        assert not jobs(trunk, JobOperation.RESET_SECRET).exists()


@pytest.mark.django_db
def test_a_page_loaded_before_a_reset_landed_cannot_hide_the_new_password(sandbox_carrier_account):
    """Like issue #10's D1: a stale save must not write back that the old password was shown."""
    from portal.sync import engine

    account = sandbox_carrier_account("simwood")
    customer = create_customer(reseller=account.reseller, carrier_account=account, name="Harbour Dental")
    trunk = create_trunk(customer=customer, name="PBX1", type="auth")
    while engine.run_next(account.pk) is not None:
        pass
    take_password(Trunk.objects.get(pk=trunk.pk))
    page_copy = Trunk.objects.get(pk=trunk.pk)  # shown once, as the page has it
    reset_trunk_password(page_copy)
    while engine.run_next(account.pk) is not None:
        pass
    new = Trunk.objects.get(pk=trunk.pk)
    assert new.password_shown_at is None
    update_trunk(page_copy, channels_out=4)  # the page is saved after the reset landed
    while engine.run_next(account.pk) is not None:
        pass
    assert Trunk.objects.get(pk=trunk.pk).password_shown_at is None
    assert take_password(Trunk.objects.get(pk=trunk.pk)) == new.password
