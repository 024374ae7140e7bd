"""In a real browser: a badge follows its object's sync state live, and stops polling when final."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect

from portal.subscribers.models import Subscriber
from portal.sync.models import SyncState
from tests.factories import PASSWORD, CustomerFactory, StaffFactory, SubscriberFactory
from tests.web.test_browser import chromium_page


def outside_the_event_loop(work) -> None:
    # Playwright's sync API runs an event loop in this thread, where Django refuses ORM calls.
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


@pytest.mark.browser
def test_a_pending_badge_turns_into_the_carriers_error_without_a_reload(live_server):
    staff = StaffFactory()
    customer = CustomerFactory(reseller=staff.reseller)
    subscriber = SubscriberFactory(customer=customer, sync_state=SyncState.PENDING)

    with chromium_page() as page:
        page.goto(f"{live_server.url}/staff/customers/{customer.pk}/sip-accounts/")
        page.get_by_label("Email").fill(staff.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        row = page.get_by_role("row").filter(has_text=subscriber.username)
        expect(row.get_by_text("Pending")).to_be_visible()

        outside_the_event_loop(
            lambda: Subscriber.objects.filter(pk=subscriber.pk).update(
                sync_state=SyncState.ERROR, sync_error="Username already taken at the carrier."
            )
        )
        expect(row.get_by_text("Username already taken at the carrier.")).to_be_visible(timeout=6_000)
        expect(row.locator("[hx-trigger]")).to_have_count(0)  # final: no more polling
