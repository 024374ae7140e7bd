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
    return set(re.findall(r"<td>([^<]+)<br>", html))


def test_the_list_is_scoped_and_another_resellers_job_cannot_be_retried(client, staff):
    ours = failed_job_of_a_customer(staff.reseller)
    theirs = failed_job_of_a_customer(CustomerFactory().reseller)

    page = client.get(JOBS).content.decode()
    assert listed(page) == {ours.object_repr}
    assert 'href="/staff/sync/"' in page  # in the staff navigation
    assert client.post(f"/staff/sync/{theirs.pk}/retry/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.state == JobState.FAILED


def test_filters_search_and_empty_state(client, staff):
    failed = failed_job_of_a_customer(staff.reseller, last_error="Number +442079460001 is not on your account.")
    done = SyncJobFactory(carrier_account__reseller=staff.reseller, state=JobState.DONE, object_repr="Harbour Lights")

    assert listed(client.get(JOBS, {"state": "failed"}).content.decode()) == {failed.object_repr}
    assert listed(client.get(JOBS, {"carrier_account": done.carrier_account_id}).content.decode()) == {"Harbour Lights"}
    # Typing in the search box (htmx) re-renders only the table.
    table = client.get(JOBS, {"q": "not on your account"}, **HTMX).content.decode()
    assert table.lstrip().startswith('<div id="sync-jobs"') and listed(table) == {failed.object_repr}
    assert "No sync job matches these filters." in client.get(JOBS, {"state": "running"}).content.decode()
    oldest_first = client.get(JOBS, {"sort": "created"}).content.decode()
    assert oldest_first.index(failed.object_repr) < oldest_first.index("Harbour Lights")


def test_the_retry_button_queues_the_job_again(client, staff):
    job = failed_job_of_a_customer(staff.reseller, last_error="The carrier was down for maintenance.")
    page = client.get(JOBS, {"state": "failed"}).content.decode()
    retry_url = f"/staff/sync/{job.pk}/retry/?state=failed"
    assert f'hx-post="{escape(retry_url)}"' in page

    table = client.post(retry_url, **HTMX).content.decode()

    assert SyncJob.objects.filter(object_id=job.object_id, state=JobState.QUEUED).exists()
    assert f"{job.object_repr}: queued again." in table
    assert listed(table) == set()  # the list still shows failed jobs only, and this one no longer is


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
