"""The operations pages for each kind of visitor: the dashboard, sync activity and a job's
story, drift, the carrier import, carrier accounts, the team, the history, alerts, CSV
import and export.

A manager opens every page; an agent every page but the managers' (403, said in the
layout); staff of another reseller get 404 for every object; a customer's user 403;
anonymous visitors are sent to log in.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from portal.customers.services import create_customer
from portal.operations.models import Alert, Operation, OperationKind, OperationState
from portal.sync.models import Drift, ReconcileRun
from tests.factories import (
    CarrierAccountFactory,
    CustomerUserFactory,
    StaffFactory,
    SyncJobFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops():
    manager = StaffFactory(manager=True)
    reseller = manager.reseller
    agent = StaffFactory(reseller=reseller)
    account = CarrierAccountFactory(reseller=reseller, name="Northwind Simwood")
    customer = create_customer(reseller=reseller, carrier_account=account, name="Anchor Clinic", actor=manager.user)
    job = SyncJobFactory(failed=True, carrier_account=account, object_id=customer.pk, object_repr=str(customer),
                         customer=customer, attempt_log=[{
                             "at": timezone.now().isoformat(), "ms": 41, "outcome": "permanent",
                             "error": "Number not available", "requests": [
                                 {"method": "PUT", "path": "/v3/numbers/930001/allocated/442079460001",
                                  "status": 409, "ms": 38, "error": ""}]}])
    run = ReconcileRun.objects.create(reseller=reseller, carrier_account=account, state="done", remote_objects=3,
                                      finished_at=timezone.now())
    drift = Drift.objects.create(reseller=reseller, carrier_account=account, run=run, kind="differs",
                                 object_kind="customer", object_id=customer.pk, remote_id="77", label="Anchor Clinic",
                                 diff={"name": ["Anchor Clinic", "Anchor Clinic Ltd"]}, theirs={"name": "Anchor Clinic Ltd"})
    alert = Alert.objects.create(reseller=reseller, kind="job_failed", key=f"job:{job.pk}",
                                 subject="Northwind Simwood refused the change to Anchor Clinic")
    operation = Operation.objects.create(reseller=reseller, kind=OperationKind.CSV_IMPORT, state=OperationState.CHECKED,
                                         title="Customers from customers.csv", object_type="customers", total=1,
                                         processed=1, summary={"created": 1},
                                         report=[[2, "created", "Harbour Dental", ""]], options={"phase": "check"})
    return {"manager": manager.user, "agent": agent.user, "account": account, "customer": customer, "job": job,
            "drift": drift, "alert": alert, "operation": operation, "membership": agent,
            "outsider": StaffFactory(manager=True).user, "customer_user": CustomerUserFactory(customer=customer).user}


def staff_pages(w) -> list[str]:
    return [
        "/staff/", "/staff/sync/", "/staff/sync/?state=failed&age=last-1d&caused_by=system",
        f"/staff/sync/{w['job'].pk}/", f"/staff/sync/{w['job'].pk}/do/retry/",
        "/staff/sync/drift/", f"/staff/sync/drift/{w['account'].pk}/", f"/staff/sync/drift/item/{w['drift'].pk}/",
        f"/staff/sync/drift/item/{w['drift'].pk}/do/adopt/", f"/staff/sync/drift/{w['account'].pk}/progress/",
        "/staff/carriers/", f"/staff/carriers/{w['account'].pk}/", f"/staff/carriers/{w['account'].pk}/history/",
        "/staff/history/", "/staff/history/?content_type=&since=2020-01-01", "/staff/alerts/",
        "/staff/import/", "/staff/import/template/numbers.csv", "/staff/export/customers.csv",
        f"/staff/operations/{w['operation'].pk}/", f"/staff/operations/{w['operation'].pk}/progress/",
    ]


def manager_pages(w) -> list[str]:
    return [
        "/staff/carriers/add/", f"/staff/carriers/{w['account'].pk}/edit/",
        f"/staff/carriers/{w['account'].pk}/do/test/", f"/staff/sync/import/{w['account'].pk}/",
        "/staff/team/", f"/staff/team/{w['membership'].pk}/", f"/staff/team/{w['membership'].pk}/do/deactivate/",
    ]


def object_pages(w) -> list[str]:
    return [p for p in staff_pages(w) + manager_pages(w) if any(ch.isdigit() for ch in p.split("?")[0])
            and "/staff/team/" not in p]


def test_a_manager_opens_every_page(client, ops):
    client.force_login(ops["manager"])
    for path in staff_pages(ops) + manager_pages(ops):
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"


def test_an_agent_opens_the_staff_pages_and_is_told_why_not_on_the_managers(client, ops):
    client.force_login(ops["agent"])
    for path in staff_pages(ops):
        assert client.get(path).status_code == 200, path
    for path in manager_pages(ops):
        response = client.get(path)
        if "/do/" in path:  # a confirmation page says why not, before anyone clicks
            assert response.status_code in (200, 403), path
            assert "Only a manager" in response.content.decode(), path
        else:
            assert response.status_code == 403, path
            assert b"Go to your home page" in response.content


def test_another_resellers_staff_get_404_for_every_object(client, ops):
    client.force_login(ops["outsider"])
    for path in object_pages(ops):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/staff/team/{ops['membership'].pk}/").status_code == 404
    for path in ("/staff/", "/staff/sync/", "/staff/history/", "/staff/alerts/", "/staff/carriers/"):
        page = client.get(path).content.decode()
        assert "Anchor Clinic" not in page and "Northwind Simwood" not in page, path
    export = b"".join(client.get("/staff/export/customers.csv").streaming_content).decode()
    assert "Anchor Clinic" not in export


def test_customer_users_are_refused_and_anonymous_visitors_sent_to_log_in(client, ops):
    client.force_login(ops["customer_user"])
    for path in staff_pages(ops) + manager_pages(ops):
        assert client.get(path).status_code == 403, path
    client.logout()
    for path in staff_pages(ops) + manager_pages(ops):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path
