"""A change made through the API reaches the carrier: a real worker process takes it from the
outbox to the sandbox over HTTP, and the API shows the object's sync state as it goes."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portal.sync.models import JobState, SyncJob
from tests.factories import StaffFactory
from tests.sync.conftest import wait_for

from .conftest import token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_writes_through_the_api_land_at_the_carrier(worker, sandbox_carrier_account, carrier_state):
    account = sandbox_carrier_account("simotel")
    staff = StaffFactory(reseller=account.reseller).user
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {token_for(staff)}")

    customer = api.post("/api/v1/customers/", {"name": "Harbour Dental", "carrier_account": account.pk},
                        format="json")
    assert customer.status_code == 201, customer.json()
    created = api.post("/api/v1/subscribers/", {"customer": customer.json()["id"], "username": "1001",
                                                "domain": "pbx.example.com", "display_name": "Front desk"},
                       format="json")
    assert created.status_code == 201, created.json()
    path = f"/api/v1/subscribers/{created.json()['id']}/"
    forwards = api.put(f"{path}forwards/", {"forwards": [
        {"type": "busy", "destinations": [{"target": "+447911123456"}]}]}, format="json")
    assert forwards.status_code == 200, forwards.json()

    def synced(url: str) -> bool:
        return api.get(url).json()["sync_state"] == "synced"

    wait_for(lambda: synced(path) and synced(f"{path}forwards/"), timeout=60, message="never synced")
    body = api.get(path).json()
    assert body["remote_id"] and body["sync_error"] == ""
    held = str(carrier_state(account))
    assert "1001" in held and "Front desk" in held and "7911123456" in held

    changed = api.patch(path, {"display_name": "Reception"}, format="json", HTTP_IF_MATCH=api.get(path)["ETag"])
    assert changed.status_code == 200 and changed.json()["sync_state"] == "pending"
    wait_for(lambda: synced(path), timeout=60, message="the change never synced")
    assert "Reception" in str(carrier_state(account))

    assert api.delete(path, format="json").status_code == 204
    jobs = SyncJob.objects.filter(object_kind="subscriber", operation="delete")
    wait_for(lambda: jobs.filter(state=JobState.DONE).exists(), timeout=60, message="the delete never landed")
    assert "1001" not in str(carrier_state(account))
    done = api.get("/api/v1/sync-jobs/?object_kind=subscriber&state=done").json()["results"]
    assert {job["operation"] for job in done} == {"push", "delete"}
    assert all(job["caused_by"] == staff.email for job in done)
