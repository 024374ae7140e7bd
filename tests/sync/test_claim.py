"""Claiming a job is exclusive, on SQLite and PostgreSQL alike.

Two threads, each with its own database connection, race ``engine.claim`` at the same
instant (a barrier releases them together). No worker and no carrier: the claim is a
database matter only.
"""

from __future__ import annotations

import pytest

from portal.sync import engine
from portal.sync.models import JobState, SyncJob
from tests.factories import CarrierAccountFactory
from tests.sync.conftest import race

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 20


def queued_job(account, object_id: int) -> SyncJob:
    return SyncJob.objects.create(
        reseller=account.reseller,
        carrier_account=account,
        object_kind="subscriber",
        object_id=object_id,
        object_repr=f"subscriber {object_id}",
    )


def test_two_claims_of_one_job_exactly_one_wins():
    account = CarrierAccountFactory(max_in_flight=ROUNDS)
    for round_ in range(ROUNDS):
        job = queued_job(account, round_)
        first, second = race(lambda: engine.claim(job.pk), lambda: engine.claim(job.pk))
        winners = [claimed for claimed in (first, second) if claimed is not None]
        assert len(winners) == 1, f"round {round_}: {len(winners)} claims won"
        job.refresh_from_db()
        assert job.state == JobState.RUNNING and job.attempts == 1
        assert job.claimed_by == winners[0].claimed_by


def test_the_in_flight_cap_holds_when_two_jobs_of_one_account_are_claimed_at_once():
    account = CarrierAccountFactory(max_in_flight=1)
    for round_ in range(ROUNDS):
        one, other = queued_job(account, 2 * round_), queued_job(account, 2 * round_ + 1)
        results = race(lambda: engine.claim(one.pk), lambda: engine.claim(other.pk))
        assert sum(result is not None for result in results) == 1, f"round {round_}: the cap of 1 was exceeded"
        assert SyncJob.objects.filter(state=JobState.RUNNING).count() == 1
        SyncJob.objects.filter(state=JobState.RUNNING).update(state=JobState.DONE)  # free the slot
        SyncJob.objects.filter(state=JobState.QUEUED).update(state=JobState.SUPERSEDED)


def test_a_job_waits_while_another_job_of_the_same_object_runs():
    account = CarrierAccountFactory(max_in_flight=4)
    first, second = queued_job(account, 7), queued_job(account, 7)
    assert engine.claim(first.pk) is not None
    # Two pushes of one object at once could reach the carrier in the wrong order.
    assert engine.claim(second.pk) is None
    assert engine.claim_next(account.pk) is None
    SyncJob.objects.filter(pk=first.pk).update(state=JobState.DONE)
    assert engine.claim_next(account.pk).pk == second.pk
