"""The trunk page's password reset: a confirmation that says what happens at the carrier, a
request through the services (a sync job, never a call from the view), and a live panel
that says when the new password is ready to be shown once.
"""

from __future__ import annotations

import pytest

from portal.sync.models import JobOperation, JobState, SyncJob
from portal.trunks.models import Trunk, TrunkType
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    CustomerUserFactory,
    StaffFactory,
    TrunkFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    manager = StaffFactory(manager=True)
    reseller = manager.reseller
    account = CarrierAccountFactory(reseller=reseller, name="Northwind Simwood")
    customer = CustomerFactory(reseller=reseller, carrier_account=account)
    trunk = TrunkFactory(customer=customer, carrier_account=account, type=TrunkType.AUTH, allowed_ips=[],
                         remote_id="930001-07CRM0001PBX1", sync_state="synced")
    Trunk.objects.filter(pk=trunk.pk).update(password="first-Secret-1", password_shown_at="2026-11-30T10:00:00Z")
    return {"manager": manager.user, "agent": StaffFactory(reseller=reseller).user, "trunk": trunk,
            "outsider": StaffFactory().user, "customer_user": CustomerUserFactory(customer=customer).user}


def resets(trunk):
    return SyncJob.objects.filter(object_kind="trunk", object_id=trunk.pk, operation=JobOperation.RESET_SECRET)


@pytest.mark.parametrize("who", ["manager", "agent"])
def test_staff_confirm_a_reset_that_says_what_happens_at_the_carrier_and_it_is_queued(client, world, who):
    client.force_login(world[who])
    trunk = world["trunk"]
    page = client.get(f"/staff/trunks/{trunk.pk}/").content.decode()
    assert f'href="/staff/trunks/{trunk.pk}/do/reset-password/"' in page
    confirm = client.get(f"/staff/trunks/{trunk.pk}/do/reset-password/")
    text = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Northwind Simwood (Simwood) makes a new password for this trunk, and the old one stops working" in text
    assert not resets(trunk).exists(), "a GET changes nothing"

    response = client.post(f"/staff/trunks/{trunk.pk}/do/reset-password/")
    assert response.status_code == 302 and response["Location"] == f"/staff/trunks/{trunk.pk}/"
    job = resets(trunk).get()
    assert (job.state, job.caused_by) == (JobState.QUEUED, world[who])
    assert Trunk.objects.get(pk=trunk.pk).password == "first-Secret-1", "the view never talks to the carrier"

    panel = client.get(f"/staff/trunks/{trunk.pk}/").content.decode()
    assert "is making a new password" in panel
    assert "A new password is on its way from the carrier" in panel  # no second click meanwhile
    assert f'hx-get="/staff/trunks/{trunk.pk}/password/"' in panel and 'hx-trigger="every 2s"' in panel


def test_the_panel_says_when_the_new_password_is_ready_and_stops_polling(client, world):
    client.force_login(world["agent"])
    trunk = world["trunk"]
    client.post(f"/staff/trunks/{trunk.pk}/do/reset-password/")
    # The engine lands the job as it lands a create: the new password, unseen.
    resets(trunk).update(state=JobState.DONE)
    Trunk.objects.filter(pk=trunk.pk).update(password="second-Secret-2", password_shown_at=None, sync_state="synced")
    panel = client.get(f"/staff/trunks/{trunk.pk}/password/").content.decode()
    assert "The new password is ready:" in panel
    assert f'href="/staff/trunks/{trunk.pk}/do/show-password/"' in panel and "hx-get" not in panel
    shown = client.post(f"/staff/trunks/{trunk.pk}/do/show-password/")
    assert client.get(shown["Location"]).content.decode().count("second-Secret-2") == 1
    after = client.get(f"/staff/trunks/{trunk.pk}/password/").content.decode()
    assert "second-Secret-2" not in after and "Shown once" in after


def test_a_refused_reset_shows_the_carriers_words(client, world):
    client.force_login(world["agent"])
    trunk = world["trunk"]
    client.post(f"/staff/trunks/{trunk.pk}/do/reset-password/")
    resets(trunk).update(state=JobState.FAILED, last_error="password reset refused: Trunk is locked")
    panel = client.get(f"/staff/trunks/{trunk.pk}/password/").content.decode()
    assert "password reset refused: Trunk is locked" in panel and "The old password still works" in panel


def test_a_trunk_not_at_the_carrier_yet_says_why_before_anyone_clicks(client, world):
    client.force_login(world["agent"])
    trunk = world["trunk"]
    Trunk.objects.filter(pk=trunk.pk).update(remote_id="")
    page = client.get(f"/staff/trunks/{trunk.pk}/").content.decode()
    assert "Simwood does not hold this trunk yet: it makes the password when the trunk is first created." in page
    assert client.post(f"/staff/trunks/{trunk.pk}/do/reset-password/").status_code == 302
    assert not resets(trunk).exists()


def test_an_ip_trunk_offers_no_reset(client, world):
    client.force_login(world["agent"])
    trunk = world["trunk"]
    Trunk.objects.filter(pk=trunk.pk).update(type=TrunkType.IP, allowed_ips=["192.0.2.10"])
    assert "reset-password" not in client.get(f"/staff/trunks/{trunk.pk}/").content.decode()
    assert client.get(f"/staff/trunks/{trunk.pk}/do/reset-password/").status_code == 404
    assert client.post(f"/staff/trunks/{trunk.pk}/do/reset-password/").status_code == 404


def test_others_cannot_reset_or_watch(client, world):
    trunk = world["trunk"]
    paths = [f"/staff/trunks/{trunk.pk}/do/reset-password/", f"/staff/trunks/{trunk.pk}/password/"]
    client.force_login(world["outsider"])
    for path in paths:
        assert client.get(path).status_code == 404, path
    assert client.post(paths[0]).status_code == 404
    client.force_login(world["customer_user"])
    for path in paths:
        assert client.get(path).status_code == 403, path
    assert client.post(paths[0]).status_code == 403
    client.logout()
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), path
    assert not resets(trunk).exists()
