"""The operations pages in a real Chromium, with a real worker and the sandbox carrier.

1. A CSV import: the check shows a row's error and saves nothing; applying it fills a
   progress bar, and the customers reach the sandbox. Then a change the carrier refuses
   makes one digest e-mail and an alert on the dashboard.
2. Reconcile now (with its progress), then one drift item adopted and another pushed.

Each page is also looked at 390 px wide (no page-level horizontal scroll); screenshots go
to var/screenshots/ops/ (not committed).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from portal.customers.models import Customer
from portal.sync.models import SyncJob
from tests.factories import PASSWORD, StaffFactory
from tests.sync.conftest import account_faults, wait_for  # noqa: F401 (a fixture)
from tests.web.test_browser import chromium_page
from tests.web.test_staff_browser import no_page_scroll
from tests.web.test_sync_browser import outside_the_event_loop

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "ops"

CSV = (
    "name,external_ref,contact_name,email,phone,address_line1,city,postcode,country\n"
    "Harbour Dental,HD-1,Kira Lane,desk@harbour.example,020 7946 0123,1 Quay Street,Bristol,BS1 4AA,GB\n"
    "Anchor Clinic,AC-1,Sam Reed,not-an-email,020 7946 0124,2 Quay Street,Bristol,BS1 4AB,GB\n"
    "Quay Vets,QV-1,Ana Cruz,vets@quay.example,020 7946 0125,3 Quay Street,Bristol,BS1 4AC,GB\n"
)


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, url: str, user) -> None:
    page.goto(f"{url}/staff/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Home")).to_be_visible()


def named(account, name: str):
    type(account).objects.filter(pk=account.pk).update(name=name)
    account.name = name
    return account


def in_thread(work):
    result = {}
    outside_the_event_loop(lambda: result.update(value=work()))
    return result.get("value")


@pytest.mark.browser
@pytest.mark.slow
def test_a_csv_import_is_checked_then_applied_and_a_refused_change_alerts_the_managers(
    live_server, worker, sandbox_carrier_account, carrier_state, account_faults, tmp_path, settings
):
    settings.ALERT_CHECK_CONNECTIONS = False
    account = named(sandbox_carrier_account("surevoip"), "Northwind SureVoIP")
    manager = StaffFactory(reseller=account.reseller, manager=True)
    upload = tmp_path / "customers.csv"
    upload.write_text(CSV)

    with chromium_page() as page:
        page.set_default_timeout(20_000)
        log_in(page, live_server.url, manager.user)
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Import")).to_be_hidden()  # the weekly pages wait under "More"
        nav.get_by_text("More").click()
        page.keyboard.press("Escape")  # closes it, as a menu does
        expect(nav.get_by_role("link", name="Import")).to_be_hidden()
        nav.get_by_text("More").click()
        nav.get_by_role("link", name="Import").click()
        page.get_by_label("Customers").check()
        page.locator("input[type=file]").set_input_files(str(upload))
        shot(page, "01-import")
        page.get_by_role("button", name="Check the file").click()
        # The worker checks the rows; the page reloads itself when the check is done.
        expect(page.get_by_text("Enter a valid email address.")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Apply: 2 rows")).to_be_visible()
        shot(page, "02-dry-run")
        assert in_thread(lambda: Customer.objects.count()) == 0  # the check saved nothing

        page.get_by_role("button", name="Apply: 2 rows").click()
        expect(page.locator("#operation-progress progress")).to_be_attached()  # the bar while it works
        shot(page, "03-applying")
        expect(page.get_by_role("heading", name="What was done")).to_be_visible()
        shot(page, "04-applied")

        def at_the_carrier():
            names = json.dumps(carrier_state(account))
            return "Harbour Dental" in names and "Quay Vets" in names and "Anchor Clinic" not in names

        in_thread(lambda: wait_for(at_the_carrier, timeout=30, message="the imported customers at the sandbox"))

        # The carrier refuses the next change: the job fails for good.
        account_faults(account, fail_next={"count": 5, "status": 400})

        def refused_change():
            from portal.customers.services import update_customer
            from portal.operations import alerts

            customer = Customer.objects.get(external_ref="HD-1")
            update_customer(customer, contact_name="Kira Lane-Smith", actor=manager.user)
            wait_for(lambda: SyncJob.objects.filter(object_id=customer.pk, state="failed").exists(), timeout=30,
                     message="the refused job")
            alerts.detect()
            return alerts.send_digests(live_server.url)

        assert in_thread(refused_change) == 1
        failed_job_id = in_thread(lambda: SyncJob.objects.filter(state="failed").values_list("pk", flat=True).first())
        assert len(mail.outbox) == 1 and mail.outbox[0].to == [manager.user.email]
        assert "refused the change to Harbour Dental" in mail.outbox[0].body
        page.goto(f"{live_server.url}/staff/")
        alert = page.locator(".alerts")
        expect(alert).to_contain_text("Northwind SureVoIP refused the change to Harbour Dental")
        expect(page.locator("#errors-heading + .feed")).to_contain_text("Harbour Dental")
        shot(page, "05-dashboard-alert")
        alert.get_by_role("button", name=re.compile("Acknowledge")).first.click()
        expect(page.locator(".alerts")).to_have_count(0)

        tour = [("home", "/staff/"), ("import", "/staff/import/"), ("sync", "/staff/sync/"),
                ("history", "/staff/history/"), ("carriers", "/staff/carriers/"),
                ("carrier", f"/staff/carriers/{account.pk}/"), ("team", "/staff/team/"),
                ("alerts", "/staff/alerts/?state=all"), ("job", f"/staff/sync/{failed_job_id}/"),
                ("carrier-edit", f"/staff/carriers/{account.pk}/edit/")]
        for name, path in tour:
            page.goto(f"{live_server.url}{path}")
            shot(page, f"desk-{name}")
        page.set_viewport_size({"width": 390, "height": 844})
        for name, path in tour:
            page.goto(f"{live_server.url}{path}")
            assert no_page_scroll(page), f"{name} scrolls sideways at 390 px"
            shot(page, f"phone-{name}")


@pytest.mark.browser
@pytest.mark.slow
def test_reconcile_now_then_adopt_one_drift_item_and_push_another(
    live_server, worker, sandbox_carrier_account, carrier_state
):
    from portal.customers.services import create_customer
    from portal.sync.models import SyncState

    account = named(sandbox_carrier_account("surevoip"), "Harbour SureVoIP")
    manager = StaffFactory(reseller=account.reseller, manager=True)
    address = {"email": "desk@example.com", "phone": "+441179460111", "contact_name": "Kira Lane",
               "address_line1": "1 Quay Street", "city": "Bristol", "postcode": "BS1 4AA"}
    adopted = create_customer(reseller=account.reseller, carrier_account=account, name="Adopt Me Ltd", **address)
    pushed = create_customer(reseller=account.reseller, carrier_account=account, name="Push Me Ltd", **address)
    wait_for(lambda: Customer.objects.filter(sync_state=SyncState.SYNCED).count() == 2, timeout=30)
    # Someone changes both in the portal's database behind the services' back: the carrier still has the old names.
    Customer.objects.filter(pk=adopted.pk).update(name="Adopt Me (portal)")
    Customer.objects.filter(pk=pushed.pk).update(name="Push Me (portal)")

    with chromium_page() as page:
        page.set_default_timeout(20_000)
        log_in(page, live_server.url, manager.user)
        page.goto(f"{live_server.url}/staff/sync/drift/{account.pk}/")
        page.get_by_role("button", name="Reconcile now").first.click()
        expect(page.locator("#reconcile-progress")).to_be_visible()
        shot(page, "10-reconciling")
        expect(page.get_by_role("link", name="Adopt Me (portal)")).to_be_visible()
        shot(page, "11-drift-list")

        page.get_by_role("link", name="Adopt Me (portal)").click()
        expect(page.locator(".side-by-side")).to_contain_text("Adopt Me Ltd")
        shot(page, "12-side-by-side")
        page.get_by_role("link", name="Adopt theirs").click()
        expect(page.get_by_text("written into the portal")).to_be_visible()
        page.get_by_role("button", name="Adopt theirs").click()
        expect(page.get_by_text("the carrier's side adopted")).to_be_visible()

        page.goto(f"{live_server.url}/staff/sync/drift/{account.pk}/")
        page.get_by_role("link", name="Push Me (portal)").click()
        page.get_by_role("link", name="Push ours").click()
        page.get_by_role("button", name="Push ours").click()
        expect(page.get_by_text("the portal's side is on its way")).to_be_visible()

        page.set_viewport_size({"width": 390, "height": 844})
        for name, path in [("drift", f"/staff/sync/drift/{account.pk}/"), ("drift-accounts", "/staff/sync/drift/"),
                           ("import", f"/staff/sync/import/{account.pk}/")]:
            page.goto(f"{live_server.url}{path}")
            assert no_page_scroll(page), f"{name} scrolls sideways at 390 px"
            shot(page, f"phone-{name}")

    def settled():
        names = json.dumps(carrier_state(account))
        return "Push Me (portal)" in names and "Adopt Me Ltd" in names

    wait_for(settled, timeout=30, message="the pushed name at the carrier")
    assert Customer.objects.get(pk=adopted.pk).name == "Adopt Me Ltd"
