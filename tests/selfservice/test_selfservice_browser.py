"""A customer's evening in a real Chromium, against the sandbox carrier and a real worker.

The customer's admin logs in, sets an "after hours" forward on their phone and watches it
reach the carrier (the sandbox holds the carrier-side call forward and its times), makes
a new SIP password (confirming their own password first; shown once) and turns on MFA
with an authenticator code. Then their reseller's manager views as the customer, changes
a forward, and the customer's history names both. Every page is looked at 1280 and 390
px wide (no page-level horizontal scroll); screenshots go to var/screenshots/selfservice/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from portal.branding.services import set_branding
from portal.customers.models import LoginRole
from portal.customers.services import create_customer
from portal.forwards.models import CallForward
from portal.numbers.services import add_number, assign_number
from portal.subscribers.models import Subscriber
from portal.subscribers.services import create_subscriber
from portal.sync.models import SyncState
from tests.factories import PASSWORD, CustomerUserFactory, StaffFactory
from tests.sync.conftest import wait_for
from tests.web.test_browser import chromium_page
from tests.web.test_sync_browser import outside_the_event_loop

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "selfservice"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_page_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def log_in(page, url: str, email: str) -> None:
    page.goto(url)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


@pytest.mark.browser
@pytest.mark.slow
def test_a_customer_manages_their_phone_and_staff_view_as_them(live_server, worker, sandbox_carrier_account,
                                                                carrier_state):
    account = sandbox_carrier_account("sipwise")  # holds customers, subscribers and their forwards with times
    reseller = account.reseller
    set_branding(reseller, portal_name="Northwind Voice", primary_colour="#0f766e",
                 support_email="help@northwind.example", support_phone="+442079460999")
    customer = create_customer(reseller=reseller, name="Anchor Clinic", email="office@anchor.example",
                               carrier_account=account)
    number = add_number(reseller=reseller, carrier_account=account, e164="+441134960201")
    assign_number(number, customer=customer)
    subscriber, _ = create_subscriber(customer=customer, username="201", domain=account.settings["domain"],
                                      display_name="Kira", primary_number=number)
    admin = CustomerUserFactory(customer=customer, role=LoginRole.ADMIN, user__email="casey@anchor.example",
                                user__first_name="Casey", user__last_name="Lee").user
    manager = StaffFactory(reseller=reseller, manager=True, user__email="dana@northwind.example",
                           user__first_name="Dana", user__last_name="Shaw").user
    wait_for(lambda: Subscriber.objects.filter(pk=subscriber.pk, sync_state=SyncState.SYNCED).exists(),
             message="the SIP account reaches the sandbox")
    seen: dict[str, str] = {}
    found: dict[str, str] = {}

    with chromium_page() as page:
        page.set_default_timeout(15_000)
        page.set_viewport_size(DESKTOP)
        log_in(page, f"{live_server.url}/", admin.email)
        expect(page.get_by_role("heading", level=1)).to_have_text("Anchor Clinic")
        expect(page).to_have_title("Your services · Northwind Voice")
        shot(page, "01-home")
        seen["home"] = page.url

        # An "after hours" forward to a mobile, on the phone, with the preset.
        page.get_by_role("link", name="201 · Kira").click()
        seen["phone"] = page.url
        page.get_by_role("link", name="Change call forwards").click()
        section = page.locator("#forward-unconditional")
        section.get_by_label("Forward to").fill("07911 123456")
        section.get_by_role("button", name="After hours").click()
        expect(page.locator("#forward-unconditional .window-row")).to_have_count(3)
        page.get_by_role("button", name="Update the preview").click()
        expect(page.locator(".preview")).to_contain_text("Sat, Sun 00:00–23:59")
        shot(page, "02-forward-editor")
        seen["forwards"] = page.url
        page.get_by_role("button", name="Save forwards").click()
        expect(page).to_have_url(seen["phone"])
        expect(page.locator(".plain-words")).to_contain_text("07911 123456")
        # The worker sends it; the state turns without a reload.
        expect(page.locator("#forwards-heading + ul + p .badge")).to_have_text("Up to date", timeout=30_000)
        shot(page, "03-forward-synced")

        # A new SIP password: confirm it is you, then see it once.
        page.get_by_role("link", name="Make a new one").click()
        seen["password"] = page.url
        page.get_by_role("button", name="Make a new password").click()
        expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
        shot(page, "04-confirm-it-is-you")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_url(seen["password"])
        page.get_by_role("button", name="Make a new password").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Password for 201@")
        found["password"] = page.get_by_label("Password").input_value()
        shot(page, "05-password-once")
        page.get_by_role("link", name="Done").click()
        assert found["password"] not in page.content()

        # MFA: the authenticator app's code, then recovery codes.
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Account").click()
        seen["account"] = page.url
        shot(page, "06-account")
        page.get_by_role("link", name="Two-factor authentication").click()
        page.get_by_role("link", name="Activate").first.click()
        secret = page.locator("#authenticator_secret").input_value()
        shot(page, "07-mfa-setup")
        page.get_by_label("Authenticator code").fill(totp_code(secret))
        page.get_by_role("button", name="Activate").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Recovery Codes")
        shot(page, "08-recovery-codes")

        page.goto(f"{live_server.url}/my/activity/")
        seen["activity"] = page.url
        shot(page, "09-activity")

        # The same pages on a phone.
        page.set_viewport_size(PHONE)
        for name, url in seen.items():
            page.goto(url)
            assert no_page_scroll(page), f"{name} scrolls sideways at 390 px"
            shot(page, f"phone-{name}")

    def at_the_carrier():
        state = carrier_state(account)
        subscriber.refresh_from_db()
        forward = state["callforwards"][subscriber.remote_id]["cfu"]
        assert [d["destination"] for d in forward["destinations"]] == [f"sip:447911123456@{account.settings['domain']}"]
        assert len(forward["times"]) >= 3  # the after-hours windows, in the carrier's own form
        assert subscriber.sip_password == found["password"]
        wait_for(lambda: Subscriber.objects.filter(pk=subscriber.pk, sync_state=SyncState.SYNCED).exists())
        assert carrier_state(account)["subscribers"][subscriber.remote_id]["password"] == found["password"]
        assert Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists()

    outside_the_event_loop(at_the_carrier)

    with chromium_page() as page:
        page.set_default_timeout(15_000)
        page.set_viewport_size(DESKTOP)
        log_in(page, f"{live_server.url}/staff/customers/", manager.email)
        page.get_by_role("link", name="Anchor Clinic").click()
        page.get_by_role("link", name="Logins").click()
        page.get_by_role("button", name="View as customer").click()
        expect(page.locator(".view-as-banner")).to_contain_text("You are viewing Anchor Clinic")
        shot(page, "10-view-as")
        page.get_by_role("link", name="201 · Kira").click()
        page.get_by_role("link", name="Change call forwards").click()
        busy = page.locator("#forward-busy")
        busy.get_by_label("Forward “when busy” is on").check()
        busy.get_by_label("Forward to").fill("07911 123457")
        page.get_by_role("button", name="Save forwards").click()
        expect(page.locator(".plain-words")).to_contain_text("07911 123457")
        page.set_viewport_size(PHONE)
        assert no_page_scroll(page)
        shot(page, "phone-view-as")
        page.get_by_role("button", name=re.compile("Stop viewing as")).click()
        page.set_viewport_size(DESKTOP)
        page.get_by_role("navigation", name="Customer sections").get_by_role("link", name="History").click()
        expect(page.locator(".history").first).to_contain_text("by Dana Shaw (staff) on behalf of Anchor Clinic")
        shot(page, "11-staff-history")

    def recorded():
        busy = CallForward.objects.get(subscriber=subscriber, type="busy")
        assert busy.destinations.get().target == "+447911123457"

    outside_the_event_loop(recorded)


@pytest.mark.browser
def test_a_phone_user_opens_their_one_time_link_in_a_browser(live_server, world, django_capture_on_commit_callbacks):
    from django.core import mail

    from portal.selfservice.services import send_phone_settings

    subscriber = world["a"]["subscriber"]
    with django_capture_on_commit_callbacks(execute=True):
        send_phone_settings(subscriber, email="kira@anchor.example", actor=world["a"]["user"].user,
                            site_url=live_server.url)
    link = re.search(r"http://\S+/phone-settings/[\w-]+/", mail.outbox[-1].body).group(0)
    subscriber.refresh_from_db()
    with chromium_page() as page:
        page.set_viewport_size(PHONE)
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Your phone settings")
        assert subscriber.sip_password not in page.content()  # opening the mail's link shows no password
        page.get_by_role("button", name="Show my password").click()  # a real POST: CSRF and all
        expect(page.get_by_label("Password")).to_have_value(subscriber.sip_password)
        assert no_page_scroll(page)
        shot(page, "phone-settings-link")
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")
        assert subscriber.sip_password not in page.content()


@pytest.mark.browser
def test_a_customer_sends_a_numbers_calls_elsewhere_on_a_phone(live_server, world):
    number = world["a"]["number"]
    with chromium_page() as page:
        page.set_viewport_size(PHONE)
        log_in(page, f"{live_server.url}/my/numbers/{number.pk}/routing/", world["a"]["user"].user.email)
        # Only the field the choice needs shows (the others come back with their choice).
        expect(page.get_by_label("Phone", exact=True)).to_be_visible()
        expect(page.get_by_label("Number or SIP address")).to_be_hidden()
        page.get_by_label("Another number or a SIP address").check()
        expect(page.get_by_label("Number or SIP address")).to_be_visible()
        expect(page.get_by_label("Phone", exact=True)).to_be_hidden()
        page.get_by_label("Number or SIP address").fill("my office")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".field-destination .errorlist")).to_contain_text("neither a phone number nor a SIP")
        expect(page.get_by_label("Number or SIP address")).to_have_value("my office")
        assert no_page_scroll(page)
        shot(page, "phone-routing-error")
        page.get_by_label("Number or SIP address").fill("07911 123457")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".plain-words")).to_contain_text("go to 07911 123457")
        shot(page, "phone-number")
