"""In Chromium, against the Simwood sandbox with a real worker: a block of ten numbers in a
row is found and taken in one go (each number's badge turns synced on the result), then a
holiday forward is set on one of them with the "Holiday" preset and date inputs; a wrong
holiday shows its error next to the field. Desk and phone width, screenshots in
var/screenshots/staff/ (not committed).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from portal.customers.services import create_customer
from portal.forwards.models import CallForward
from portal.numbers.models import Number
from tests.factories import PASSWORD, StaffFactory
from tests.web.test_browser import chromium_page
from tests.web.test_staff_browser import no_page_scroll, shot
from tests.web.test_sync_browser import outside_the_event_loop


def words(day: dt.date) -> str:
    return f"{day.day} {day:%b}" + (f" {day.year}" if day.year != dt.date.today().year else "")


@pytest.mark.browser
@pytest.mark.slow
def test_a_block_of_numbers_and_a_holiday_forward_in_the_browser(live_server, worker, sandbox_carrier_account):
    account = sandbox_carrier_account("simwood")
    staff = StaffFactory(reseller=account.reseller)
    customer = create_customer(reseller=account.reseller, name="Anchor Clinic", carrier_account=account)
    start, end = dt.date.today() + dt.timedelta(days=12), dt.date.today() + dt.timedelta(days=21)

    with chromium_page() as page:
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/staff/numbers/get/?customer={customer.pk}")
        page.get_by_label("Email").fill(staff.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()

        # A block of ten numbers in a row, taken whole.
        page.get_by_label("Area code").fill("020")
        page.get_by_label("Numbers in a row").select_option(label="A block of 10")
        page.get_by_role("button", name="Search").click()
        expect(page.locator(".block-offer")).to_contain_text("10 numbers in a row:")
        page.locator(".block-offer summary").click()
        expect(page.locator(".block-numbers li")).to_have_count(10)
        page.locator("#id_customer").select_option(str(customer.pk))
        shot(page, "20-number-block")
        page.get_by_role("button", name="Take all 10 numbers").click()
        expect(page.get_by_role("heading", name="What happened to each number")).to_be_visible()
        expect(page.locator(".take-list li")).to_have_count(10)
        # Each number's badge follows its allocation at the carrier, live.
        expect(page.locator(".take-list .badge", has_text="Synced")).to_have_count(10, timeout=45_000)
        shot(page, "21-number-block-taken")
        page.set_viewport_size({"width": 390, "height": 844})
        assert no_page_scroll(page), "the block's result scrolls sideways at 390 px"
        shot(page, "phone-number-block-taken")
        page.set_viewport_size({"width": 1280, "height": 900})

        # A holiday forward on the first of them.
        page.locator(".take-list a").first.click()
        page.get_by_role("link", name="Call forwards", exact=True).click()
        page.get_by_role("link", name="Edit call forwards").click()
        section = page.locator("#forward-unconditional")
        section.get_by_label("Forward to").fill("07911 123456")
        section.get_by_role("button", name="Holiday (from a date to a date)").click()
        section = page.locator("#forward-unconditional")
        expect(section.get_by_label("From", exact=True)).to_have_value((dt.date.today() + dt.timedelta(days=1)).isoformat())

        # The wrong way round first: the error is next to the field, the input kept.
        section.get_by_label("From", exact=True).fill(end.isoformat())
        section.get_by_label("Until", exact=True).fill(start.isoformat())
        page.get_by_role("button", name="Save forwards").click()
        section = page.locator("#forward-unconditional")
        expect(section.locator(".dated-row .field.date").nth(1).locator(".errorlist")).to_have_text(
            "Must be after the start.")
        expect(section.get_by_label("From", exact=True)).to_have_value(end.isoformat())
        shot(page, "22-holiday-error")

        section.get_by_label("From", exact=True).fill(start.isoformat())
        section.locator("input[name=unconditional-h0-start_time]").fill("18:00")
        section.get_by_label("Until", exact=True).fill(end.isoformat())
        section.locator("input[name=unconditional-h0-end_time]").fill("08:00")
        page.get_by_role("button", name="Update the preview").click()
        expect(page.locator(".preview")).to_contain_text(
            f"From {words(start)} 18:00 to {words(end)} 08:00 (Europe/London), all calls to")
        shot(page, "23-holiday-editor")
        page.set_viewport_size({"width": 390, "height": 844})
        assert no_page_scroll(page), "the forward editor scrolls sideways at 390 px"
        shot(page, "phone-holiday-editor")
        page.set_viewport_size({"width": 1280, "height": 900})

        page.get_by_role("button", name="Save forwards").click()
        expect(page).to_have_url(re.compile(r"/staff/numbers/\d+/forwards/$"))
        expect(page.locator(".forward-summary")).to_contain_text(f"From {words(start)} 18:00 to {words(end)} 08:00")
        expect(page.locator(".forward-sync .badge")).to_have_text("Synced", timeout=30_000)  # live, no reload
        shot(page, "24-holiday-synced")

    def check():
        assert Number.objects.filter(customer=customer).count() == 10
        window = CallForward.objects.get(number__customer=customer).windows.get()
        assert (window.start_date, window.start, window.end_date, window.end) == (start, dt.time(18), end, dt.time(8))

    outside_the_event_loop(check)
