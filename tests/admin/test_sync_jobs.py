"""Sync jobs in the admin: read-only, scoped to the user's reseller, failed ones retried by an action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.sync.models import JobState, SyncJob
from portal.tenancy.models import Role
from tests.factories import CarrierAccountFactory, CustomerFactory, StaffFactory, SuperuserFactory, SyncJobFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:sync_syncjob_changelist")


def failed_job_of_a_customer(reseller=None, **fields) -> SyncJob:
    account = CarrierAccountFactory(**({"reseller": reseller} if reseller else {}))
    customer = CustomerFactory(reseller=account.reseller, carrier_account=account)
    return SyncJobFactory(
        failed=True, carrier_account=account, object_id=customer.pk, object_repr=str(customer), **fields
    )


def test_staff_see_only_their_resellers_jobs_and_retry_a_failed_one(client):
    manager = StaffFactory(role=Role.MANAGER)
    manager.user.is_staff = True
    manager.user.save()
    ours = failed_job_of_a_customer(manager.reseller, last_error="Customer name is too long for the carrier.")
    theirs = failed_job_of_a_customer(last_error="Their secret trouble.")
    client.force_login(manager.user)

    page = client.get(CHANGELIST).content.decode()
    assert ours.object_repr in page and "Customer name is too long for the carrier." in page
    assert theirs.object_repr not in page and "Their secret trouble." not in page
    assert client.get(reverse("admin:sync_syncjob_change", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:sync_syncjob_add")).status_code == 403

    # Naming the other reseller's job in the POST does not reach it.
    client.post(CHANGELIST, {"action": "retry", "_selected_action": [ours.pk, theirs.pk]})
    assert SyncJob.objects.filter(object_id=ours.object_id, state=JobState.QUEUED).exists()
    assert not SyncJob.objects.filter(object_id=theirs.object_id, state=JobState.QUEUED).exists()
    theirs.refresh_from_db()
    assert theirs.state == JobState.FAILED


def test_platform_admins_filter_and_search_jobs(client):
    client.force_login(SuperuserFactory())
    failed = failed_job_of_a_customer(last_error="Number +442079460001 is not on your account.")
    done = SyncJobFactory(state=JobState.DONE, object_repr="Harbour Lights Ltd")

    by_state = client.get(CHANGELIST, {"state__exact": JobState.FAILED}).content.decode()
    assert failed.object_repr in by_state and done.object_repr not in by_state
    by_error = client.get(CHANGELIST, {"q": "not on your account"}).content.decode()
    assert failed.object_repr in by_error and done.object_repr not in by_error
    by_reseller = client.get(CHANGELIST, {"reseller": done.reseller_id}).content.decode()
    assert done.object_repr in by_reseller and failed.object_repr not in by_reseller
