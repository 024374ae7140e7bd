"""Under the Content-Security-Policy, allauth's pages, the portal's and the admin still work in Chromium.

A page breaking the policy (an inline script, an inline style, eval) shows up as a console
error in Chromium; each page must load with none, and the interactive parts (htmx search,
the admin's autocomplete, allauth's TOTP setup) must still do their job.
"""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, CustomerFactory, StaffFactory, SubscriberFactory, SuperuserFactory
from tests.web.test_browser import chromium_page


def outside_the_event_loop(work):
    # Playwright's sync API runs an event loop in this thread, where Django refuses ORM calls.
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", work()))
    thread.start()
    thread.join()
    return result.get("value")


def watch_for_violations(page) -> list[str]:
    violations: list[str] = []

    def on_console(message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            violations.append(f"{page.url}: {text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: violations.append(f"{page.url}: uncaught {error}"))
    return violations


def log_in(page, base: str, email: str, next_path: str = "") -> None:
    page.goto(f"{base}/accounts/login/" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.browser
def test_portal_and_allauth_pages_work_under_the_policy(live_server):
    staff = StaffFactory(manager=True)
    customer = CustomerFactory(reseller=staff.reseller, name="Policy Test Ltd")
    SubscriberFactory(customer=customer)
    CustomerFactory.create_batch(2, reseller=staff.reseller)

    with chromium_page() as page:
        violations = watch_for_violations(page)
        response = page.goto(f"{live_server.url}/accounts/login/")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        log_in(page, live_server.url, staff.user.email)
        expect(page).to_have_url(f"{live_server.url}/staff/")
        assert "no-store" in page.goto(f"{live_server.url}/staff/").headers["cache-control"]

        page.goto(f"{live_server.url}/staff/customers/")
        page.get_by_label("Search", exact=True).fill("Policy")
        expect(page.locator("#results tbody tr")).to_have_count(1)  # htmx works, without eval

        for path in ("/staff/team/", "/accounts/email/", "/accounts/password/change/", "/accounts/2fa/"):
            page.goto(live_server.url + path)
            expect(page.locator("main")).to_be_visible()

        page.goto(f"{live_server.url}/accounts/2fa/totp/activate/")
        qr = page.locator("main img").first
        expect(qr).to_be_visible()
        assert page.evaluate("(img) => img.naturalWidth", qr.element_handle()) > 0  # the QR code (a data: image) shows

        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{live_server.url}/accounts/login/")
        page.goto(f"{live_server.url}/accounts/password/reset/")
        expect(page.locator("main form")).to_be_visible()

    assert violations == []


@pytest.mark.browser
def test_the_admin_works_under_the_policy(live_server):
    admin_user = SuperuserFactory()
    customer = CustomerFactory(name="Admin Policy Ltd")
    subscriber = SubscriberFactory(customer=customer)

    with chromium_page() as page:
        violations = watch_for_violations(page)
        page.goto(f"{live_server.url}/admin/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fadmin%2F$"))
        log_in(page, live_server.url, admin_user.email, next_path="/admin/")
        expect(page).to_have_url(f"{live_server.url}/admin/")

        page.goto(f"{live_server.url}/admin/subscribers/subscriber/")
        expect(page.get_by_role("link", name=subscriber.username)).to_be_visible()
        page.goto(f"{live_server.url}/admin/subscribers/subscriber/{subscriber.pk}/change/")
        # The autocomplete (select2, from the admin's static files) opens and searches.
        page.locator(".field-customer .select2-selection").click()
        page.locator(".select2-search__field").fill("Admin Policy")
        expect(page.locator(".select2-results__option").filter(has_text="Admin Policy Ltd")).to_be_visible()
        page.keyboard.press("Escape")

        for path in (
            "/admin/customers/customer/add/",
            "/admin/carriers/carrieraccount/add/",
            "/admin/accounts/user/add/",
            "/admin/tenancy/reseller/add/",
            "/admin/sync/syncjob/",
            "/admin/auditlog/logentry/",
        ):
            page.goto(live_server.url + path)
            expect(page.locator("#content")).to_be_visible()

    assert violations == []
    assert outside_the_event_loop(lambda: customer.__class__.objects.filter(pk=customer.pk).exists())
