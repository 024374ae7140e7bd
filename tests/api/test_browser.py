"""In a real Chromium: a member of staff makes a token, sees it once, uses it in the API docs
(Swagger UI, served by the portal itself, under the Content-Security-Policy the portal sends
with every page: no inline script or style may run, and none is needed), and revokes it. The
token pages also at phone width. Screenshots go to var/screenshots/api/ (not committed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, CarrierAccountFactory, CustomerFactory, StaffFactory
from tests.web.test_browser import chromium_page

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "api"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_make_a_token_use_it_in_the_api_docs_under_csp_and_revoke_it(live_server):
    staff = StaffFactory(manager=True)
    account = CarrierAccountFactory(reseller=staff.reseller)
    CustomerFactory(reseller=staff.reseller, carrier_account=account, name="Anchor Clinic")
    console: list[str] = []

    with chromium_page() as page:
        page.set_default_timeout(15_000)
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        page.goto(f"{live_server.url}/staff/api-tokens/")
        page.get_by_label("Email").fill(staff.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="API tokens")).to_be_visible()
        expect(page.get_by_text("No API tokens yet")).to_be_visible()
        shot(page, "01-no-tokens")

        page.get_by_role("link", name="Make a token").first.click()
        # A token outlives the session: the password is asked for again first (allauth's reauthentication).
        expect(page.get_by_role("heading", name="Confirm Access")).to_be_visible()
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        page.get_by_label("Description").fill("Billing system (nightly)")
        page.get_by_label("May change things").check()
        page.get_by_label("Expires after").select_option("30")
        page.get_by_label("Allowed addresses").fill("127.0.0.1\n::1")
        shot(page, "02-token-form")
        page.get_by_role("button", name="Make the token").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("API token for Billing system")
        token = page.get_by_label("API token").input_value()
        assert re.fullmatch(r"rpt_[a-z0-9]{12}\.[A-Za-z0-9]{40}", token)
        shot(page, "03-token-shown-once")
        page.get_by_role("link", name="Done").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Billing system (nightly)")
        expect(page.get_by_text("Read and write, as its owner")).to_be_visible()
        assert token not in page.content() and token.split(".")[1] not in page.content()
        shot(page, "04-token-detail")
        page.get_by_role("link", name="API tokens").first.click()
        expect(page.get_by_role("link", name="Billing system (nightly)")).to_be_visible()
        assert token.split(".")[1] not in page.content()
        shot(page, "04-token-list")

        page.set_viewport_size({"width": 390, "height": 800})
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        shot(page, "05-token-list-phone")
        page.set_viewport_size({"width": 1280, "height": 900})

        # The docs, under the strict policy: Swagger UI starts from its own script file.
        console.clear()
        docs = page.goto(f"{live_server.url}/api/docs/")
        policy = docs.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Reseller Portal API")
        shot(page, "06-api-docs")
        page.locator("#operations-tag-customers").click()
        expect(page.get_by_text("/api/v1/customers/", exact=True).first).to_be_visible()
        page.locator(".auth-wrapper button.authorize").click()
        dialog = page.locator(".modal-ux")
        bearer = dialog.locator("form", has_text="token (http, Bearer)")
        bearer.locator("input").fill(token)
        bearer.locator("button.authorize").click()
        dialog.locator("button.btn-done").first.click()
        operation = page.locator("#operations-customers-customers_list")
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        operation.get_by_role("button", name="Execute").click()
        expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_contain_text("200")
        expect(operation.locator(".live-responses-table")).to_contain_text("Anchor Clinic")
        shot(page, "07-api-docs-try-it")
        violations = [line for line in console if "Content Security Policy" in line or "pageerror" in line]
        assert violations == [], violations

        # Revoked, the token is refused at once.
        page.goto(f"{live_server.url}/staff/api-tokens/")
        page.get_by_role("link", name="Billing system (nightly)").click()
        page.get_by_role("link", name="Revoke").click()
        page.get_by_role("button", name="Revoke").click()
        expect(page.locator(".badge.token-revoked")).to_be_visible()
        answer = page.request.get(f"{live_server.url}/api/v1/customers/", headers={"Authorization": f"Bearer {token}"})
        assert answer.status == 401
