"""One walk through the real pages in a real browser: log in, find a customer, log out."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.factories import PASSWORD, CustomerFactory, StaffFactory, SubscriberFactory

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium_page():
    # Started only after the test data exists: Playwright's sync API runs an event loop,
    # inside which Django refuses ORM calls.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()


@pytest.mark.browser
def test_staff_log_in_open_a_customer_and_log_out(live_server):
    staff = StaffFactory()
    CustomerFactory.create_batch(3, reseller=staff.reseller)
    customer = CustomerFactory(reseller=staff.reseller, name="Harbour Lights Ltd", external_ref="HL-7")
    subscriber = SubscriberFactory(customer=customer)

    with chromium_page() as page:
        page.goto(f"{live_server.url}/staff/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/staff/$"))
        page.get_by_label("Email").fill(staff.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{live_server.url}/staff/")
        expect(page.get_by_role("heading", name="Home")).to_be_visible()

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
        # The search box filters through htmx as one types.
        page.get_by_label("Search").fill("HL-7")
        expect(page.locator("#results tbody tr")).to_have_count(1)
        expect(page).to_have_url(re.compile(r"/staff/customers/\?q=HL-7"))  # the URL keeps the search
        page.get_by_role("link", name="Harbour Lights Ltd").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Harbour Lights Ltd")
        page.get_by_role("link", name="SIP accounts", exact=True).last.click()
        expect(page.get_by_role("link", name=subscriber.username)).to_be_visible()
        assert subscriber.sip_password not in page.content()

        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{live_server.url}/accounts/login/")
        page.goto(f"{live_server.url}/staff/customers/{customer.pk}/")
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
