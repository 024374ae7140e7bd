"""A new staff user's day in a real Chromium, against the sandbox carrier and a real worker.

Creates a customer and a SIP account, takes a number from the carrier, routes it, sets an
office-hours forward with the weekday picker, and watches the badge turn to synced. Then
an invalid form, and the same pages 390 px wide with no page-level horizontal scroll.
Screenshots of each page go to var/screenshots/staff/ (not committed).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portal.numbers.models import Number
from portal.subscribers.models import Subscriber
from tests.factories import PASSWORD, StaffFactory
from tests.web.test_browser import chromium_page
from tests.web.test_sync_browser import outside_the_event_loop

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "staff"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_page_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


@pytest.mark.browser
@pytest.mark.slow
def test_a_staff_user_provisions_a_customer_end_to_end(live_server, worker, sandbox_carrier_account):
    account = sandbox_carrier_account("simwood")
    staff = StaffFactory(reseller=account.reseller, manager=True)
    pages: dict[str, str] = {}

    with chromium_page() as page:
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/staff/")
        page.get_by_label("Email").fill(staff.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Home")).to_be_visible()
        shot(page, "01-home")
        pages["home"] = page.url

        # An invalid form keeps the input and shows each error next to its field.
        page.get_by_role("link", name="Add a customer").click()
        page.get_by_label("Phone").fill("12")
        page.get_by_role("button", name="Create customer").click()
        expect(page.locator(".field-name .errorlist")).to_contain_text("This field is required")
        expect(page.locator(".field-phone .errorlist")).to_contain_text("is not a")
        expect(page.get_by_label("Phone")).to_have_value("12")
        shot(page, "02-customer-form-errors")
        pages["customer_add"] = page.url

        page.get_by_label("Name", exact=True).fill("Anchor Clinic")
        page.get_by_label("Phone").fill("020 7946 0123")
        page.get_by_role("button", name="Create customer").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Anchor Clinic")
        customer_url = page.url
        pages["customer"] = customer_url
        shot(page, "03-customer")

        # A SIP account: its password is shown once, with a copy button.
        page.get_by_role("link", name="Add SIP account").click()
        page.get_by_label("SIP username").fill("201")
        page.get_by_label("Display name").fill("Kira")
        page.get_by_label("SIP domain").fill("sip.anchor.example")
        shot(page, "04-sip-account-form")
        page.get_by_role("button", name="Create SIP account").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Password for 201")
        secret = page.get_by_label("Password").input_value()
        assert len(secret) >= 16
        shot(page, "05-password-once")
        page.get_by_role("link", name="Done").click()
        pages["subscriber"] = page.url
        assert secret not in page.content()

        # Take a number from the carrier's available numbers, straight to the customer.
        page.goto(customer_url)
        page.get_by_role("link", name="Give a number").click()
        page.get_by_label("Area code").fill("020")
        page.get_by_role("button", name="Search").click()
        first = page.locator("input[name=picked]").first
        expect(first).to_be_visible()
        first.check()
        shot(page, "06-get-numbers")
        pages["get_numbers"] = page.url
        page.get_by_role("button", name="Take these numbers").click()
        expect(page.locator("h1")).to_contain_text("0")
        number_url = page.url
        pages["number"] = number_url

        # Route it to the SIP account, picked by what it is called.
        page.get_by_role("link", name="Assign and route").click()
        picker = page.locator("#id_subscriber")
        page.locator(".field-subscriber .picker-search").fill("Kir")  # search as you type
        expect(picker.locator("option", has_text="201 · Kira")).to_have_count(1)
        picker.select_option(picker.locator("option", has_text="201 · Kira").get_attribute("value"))
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("SIP account 201")).to_be_visible()

        # An office-hours forward, Friday taken off with the weekday picker.
        page.get_by_role("link", name="Call forwards", exact=True).click()
        page.get_by_role("link", name="Edit call forwards").click()
        section = page.locator("#forward-unconditional")
        section.get_by_label("Forward to").fill("07911 123456")
        section.get_by_role("button", name=re.compile("Office hours")).click()
        section = page.locator("#forward-unconditional")
        section.locator(".weekday-picker label", has_text="Fri").click()
        page.get_by_role("button", name="Update the preview").click()
        expect(page.locator(".preview")).to_contain_text("Mon–Thu 09:00–17:30")
        shot(page, "07-forward-editor")
        pages["forwards"] = page.url
        page.get_by_role("button", name="Save forwards").click()
        expect(page).to_have_url(re.compile(r"/staff/numbers/\d+/forwards/$"))
        expect(page.locator(".forward-summary")).to_contain_text("07911 123456")

        # The worker pushes it to the sandbox; the badge follows without a reload.
        page.goto(number_url)
        expect(page.locator(".page-head .badge")).to_have_text("Synced", timeout=30_000)
        shot(page, "08-number-synced")

        for name in ("customer", "subscriber"):
            page.goto(pages[name])
            shot(page, f"09-{name}")
        for listing in ("customers", "sip-accounts", "numbers", "trunks"):
            page.goto(f"{live_server.url}/staff/{listing}/")
            pages[listing] = page.url
            shot(page, f"10-list-{listing}")

        # The same pages on a phone: no page-level horizontal scroll.
        page.set_viewport_size({"width": 390, "height": 844})
        for name, url in pages.items():
            page.goto(url)
            assert no_page_scroll(page), f"{name} scrolls sideways at 390 px"
            shot(page, f"phone-{name}")

    def check():
        number = Number.objects.get(customer__name="Anchor Clinic")
        assert number.subscriber == Subscriber.objects.get(username="201")
        assert number.forwards.get().windows.get().weekdays == [0, 1, 2, 3]

    outside_the_event_loop(check)
