"""Drift in the admin: each item resolved either way by an action, scoped and audited."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from portal.customers.models import Customer
from portal.sync.models import Drift, JobState, SyncJob
from portal.tenancy.models import Role
from tests.factories import CarrierAccountFactory, CustomerFactory, StaffFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:sync_drift_changelist")


def name_drift(customer, theirs: str) -> Drift:
    return Drift.objects.create(
        reseller=customer.reseller,
        carrier_account=customer.carrier_account,
        kind="differs",
        object_kind="customer",
        object_id=customer.pk,
        remote_id="77",
        label=str(customer),
        diff={"name": [customer.name, theirs]},
        theirs={"name": theirs},
    )


@pytest.fixture
def manager(client):
    membership = StaffFactory(role=Role.MANAGER)
    membership.user.is_staff = True
    membership.user.save()
    client.force_login(membership.user)
    return membership


def customer_of(reseller, name: str) -> Customer:
    account = CarrierAccountFactory(reseller=reseller, kind="surevoip")
    return CustomerFactory(reseller=reseller, carrier_account=account, name=name, remote_id="77", phone="+442079460000")


def test_push_ours_queues_a_sync_job_and_closes_the_item(client, manager):
    customer = customer_of(manager.reseller, "Ours Ltd")
    drift = name_drift(customer, "Theirs Ltd")
    page = client.get(CHANGELIST).content.decode()
    assert "&#x27;Ours Ltd&#x27; → &#x27;Theirs Ltd&#x27;" in page
    client.post(CHANGELIST, {"action": "push_ours", "_selected_action": [drift.pk]})
    drift.refresh_from_db()
    assert drift.resolution == "pushed" and drift.resolved_by == manager.user
    assert SyncJob.objects.filter(object_kind="customer", object_id=customer.pk, state=JobState.QUEUED).exists()


def test_adopt_theirs_writes_the_carriers_value_audited(client, manager):
    customer = customer_of(manager.reseller, "Ours Ltd")
    drift = name_drift(customer, "Theirs Ltd")
    client.post(CHANGELIST, {"action": "adopt_theirs", "_selected_action": [drift.pk]})
    customer.refresh_from_db()
    assert customer.name == "Theirs Ltd"
    entry = LogEntry.objects.get_for_object(customer).latest("timestamp")
    assert entry.actor == manager.user and entry.changes_dict["name"] == ["Ours Ltd", "Theirs Ltd"]


def test_another_resellers_drift_is_out_of_reach(client, manager):
    theirs = name_drift(customer_of(CarrierAccountFactory().reseller, "Elsewhere Ltd"), "Other Ltd")
    assert "Elsewhere Ltd" not in client.get(CHANGELIST).content.decode()
    client.post(CHANGELIST, {"action": "adopt_theirs", "_selected_action": [theirs.pk]})
    theirs.refresh_from_db()
    assert theirs.resolved_at is None


def test_reconcile_now_hands_the_account_to_a_worker(client, manager):
    account = CarrierAccountFactory(reseller=manager.reseller)
    response = client.post(
        reverse("admin:carriers_carrieraccount_changelist"),
        {"action": "reconcile_now", "_selected_action": [account.pk]},
        follow=True,
    )
    assert "Reconciling 1 carrier account in the background" in response.content.decode()
