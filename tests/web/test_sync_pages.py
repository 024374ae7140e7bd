"""The staff sync job page (scoped, filtered, retry through the service) and live sync status."""

from __future__ import annotations

import re

import pytest
from django.utils.html import escape

from portal.sync.models import JobState, SyncJob, SyncState
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    CustomerUserFactory,
    StaffFactory,
    SubscriberFactory,
    SyncJobFactory,
)

pytestmark = pytest.mark.django_db

JOBS = "/staff/sync/"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def staff(log_in):
    membership = StaffFactory()
    log_in(membership.user)
    return membership


def failed_job_of_a_customer(reseller, **fields) -> SyncJob:
    account = CarrierAccountFactory(reseller=reseller)
    customer = CustomerFactory(reseller=reseller, carrier_account=account)
    return SyncJobFactory(
        failed=True, carrier_account=account, object_id=customer.pk, object_repr=str(customer), **fields
    )


def listed(html: str) -> set[str]:
    """The objects of the jobs a sync activity page lists."""
    return set(re.findall(r'<td data-label="Object"><a href="/staff/sync/\d+/">([^<]+)</a>', html))


def test_the_list_is_scoped_and_another_resellers_job_cannot_be_retried(client, staff):
    ours = failed_job_of_a_customer(staff.reseller)
    theirs = failed_job_of_a_customer(CustomerFactory().reseller)

    page = client.get(JOBS).content.decode()
    assert listed(page) == {ours.object_repr}
    assert 'href="/staff/sync/"' in page  # in the staff navigation
    assert client.post(f"/staff/sync/{theirs.pk}/retry/").status_code == 404
    assert client.post(f"/staff/sync/{theirs.pk}/do/retry/").status_code == 404
    assert client.get(f"/staff/sync/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == JobState.FAILED


def test_filters_search_and_empty_state(client, staff):
    failed = failed_job_of_a_customer(staff.reseller, last_error="Number +442079460001 is not on your account.")
    done = SyncJobFactory(carrier_account__reseller=staff.reseller, state=JobState.DONE, object_repr="Harbour Lights")

    assert listed(client.get(JOBS, {"state": "failed"}).content.decode()) == {failed.object_repr}
    assert listed(client.get(JOBS, {"carrier_account": done.carrier_account_id}).content.decode()) == {"Harbour Lights"}
    assert listed(client.get(JOBS, {"caused_by": "system"}).content.decode()) == {failed.object_repr, "Harbour Lights"}
    assert listed(client.get(JOBS, {"age": "1d"}).content.decode()) == set()
    assert listed(client.get(JOBS, {"age": "last-1h"}).content.decode()) == {failed.object_repr, "Harbour Lights"}
    # Typing in the search box (htmx) re-renders only the results.
    table = client.get(JOBS, {"q": "not on your account"}, **HTMX).content.decode()
    assert table.lstrip().startswith('<div class="results"') and listed(table) == {failed.object_repr}
    assert "No sync jobs match these filters." in client.get(JOBS, {"state": "running"}).content.decode()
    oldest_first = client.get(JOBS, {"sort": "created_at"}).content.decode()
    assert oldest_first.index(failed.object_repr) < oldest_first.index("Harbour Lights")


def test_the_retry_action_queues_the_job_again(client, staff):
    job = failed_job_of_a_customer(staff.reseller, last_error="The carrier was down for maintenance.")
    page = client.get(f"/staff/sync/{job.pk}/").content.decode()
    assert f'href="/staff/sync/{job.pk}/do/retry/"' in page and "The carrier was down for maintenance." in page
    confirm = client.get(f"/staff/sync/{job.pk}/do/retry/").content.decode()
    assert "attempts counted afresh" in confirm

    response = client.post(f"/staff/sync/{job.pk}/do/retry/")

    assert response.status_code == 302
    assert SyncJob.objects.filter(object_id=job.object_id, state=JobState.QUEUED).exists()


def test_the_customer_page_shows_sync_errors_and_polls_only_unfinished_objects(client, staff):
    customer = CustomerFactory(reseller=staff.reseller)
    broken = SubscriberFactory(customer=customer, sync_state=SyncState.ERROR, sync_error="Username ext1 is taken.")
    pending = SubscriberFactory(customer=customer, sync_state=SyncState.PENDING)

    page = client.get(f"/staff/customers/{customer.pk}/sip-accounts/").content.decode()

    assert re.search(r">\s*Username ext1 is taken\.\s*<", page)  # visible text, not only a tooltip
    polling = re.findall(r'hx-get="/sync/status/(\w+)/(\d+)/" hx-trigger="every 2s"', page)
    assert ("subscriber", str(pending.pk)) in polling
    assert ("subscriber", str(broken.pk)) not in polling

    status = client.get(f"/sync/status/subscriber/{pending.pk}/").content.decode()
    assert "every 2s" in status
    type(pending).objects.filter(pk=pending.pk).update(sync_state=SyncState.SYNCED)
    assert "hx-trigger" not in client.get(f"/sync/status/subscriber/{pending.pk}/").content.decode()

    elsewhere = SubscriberFactory()
    assert client.get(f"/sync/status/subscriber/{elsewhere.pk}/").status_code == 404


def test_customer_users_poll_only_their_own_objects(client, log_in):
    login = CustomerUserFactory()
    own = SubscriberFactory(customer=login.customer)
    neighbour = SubscriberFactory(customer__reseller=login.customer.reseller)
    log_in(login.user)

    assert client.get(f"/sync/status/subscriber/{own.pk}/").status_code == 200
    assert client.get(f"/sync/status/subscriber/{neighbour.pk}/").status_code == 404
    assert client.get(JOBS).status_code == 403


def test_a_delete_the_carrier_refused_shows_on_the_customers_page_and_can_be_tried_again(
    client, staff, sandbox_carrier_account, carrier_state
):
    from portal.customers.services import create_customer
    from portal.numbers.services import add_number, release_number
    from portal.sync import engine

    account = sandbox_carrier_account("surevoip", reseller=staff.reseller)
    customer = create_customer(
        reseller=staff.reseller, carrier_account=account, name="Anchor Clinic", email="desk@anchor.example",
        phone="+441179460111", contact_name="Kira Lane", address_line1="1 Quay Street", city="Bristol",
        postcode="BS1 4AA",
    )  # fmt: skip
    e164 = "+" + carrier_state(account)["stock"][0]
    number = add_number(reseller=staff.reseller, carrier_account=account, e164=e164, customer=customer)
    while engine.run_next(account.pk):
        pass
    release_number(number)  # SureVoIP's API cannot release a number: the carrier keeps it
    while engine.run_next(account.pk):
        pass
    (refused,) = SyncJob.objects.refused_deletes()

    page = client.get(f"/staff/customers/{customer.pk}/").content.decode()
    assert "The carrier still has 1 thing deleted here" in page
    assert escape(refused.last_error) in page and refused.object_repr in page
    assert escape(refused.last_error) in client.get(f"/staff/customers/{customer.pk}/sync/").content.decode()
    back = client.post(f"/staff/sync/{refused.pk}/retry/", {"next": f"/staff/customers/{customer.pk}/"})
    assert back["Location"] == f"/staff/customers/{customer.pk}/"
    refused.refresh_from_db()
    assert refused.state == JobState.QUEUED


def test_bulk_cancel_confirms_first_and_cancels_only_queued_jobs(client, staff):
    queued = SyncJobFactory.create_batch(2, carrier_account__reseller=staff.reseller)
    failed = failed_job_of_a_customer(staff.reseller)
    pks = [job.pk for job in queued] + [failed.pk]
    confirm = client.post("/staff/sync/bulk/", {"action": "cancel", "pk": pks}).content.decode()
    assert "Cancel: 2" in confirm and "Does not apply to this one." in confirm
    assert SyncJob.objects.filter(state=JobState.QUEUED).count() == 2
    client.post("/staff/sync/bulk/", {"action": "cancel", "pk": pks, "confirm": "yes"})
    assert SyncJob.objects.filter(pk__in=[job.pk for job in queued], state=JobState.CANCELLED).count() == 2
    failed.refresh_from_db()
    assert failed.state == JobState.FAILED


def test_a_jobs_story_shows_each_attempt_and_its_requests(client, staff):
    job = failed_job_of_a_customer(staff.reseller, attempt_log=[
        {"at": "2026-12-01T10:00:00+00:00", "ms": 120, "outcome": "transient", "error": "timed out",
         "requests": [{"method": "POST", "path": "/v3/customers", "status": None, "ms": None, "error": "ReadTimeout"}]},
        {"at": "2026-12-01T10:00:04+00:00", "ms": 45, "outcome": "permanent", "error": "Name is required",
         "requests": [{"method": "POST", "path": "/v3/customers", "status": 422, "ms": 40, "error": ""}]},
    ])
    page = client.get(f"/staff/sync/{job.pk}/").content.decode()
    assert page.index("Name is required") < page.index("timed out")  # newest first
    assert "POST /v3/customers" in page and "422" in page and "ReadTimeout" in page
    assert "1 Dec 2026" in page
