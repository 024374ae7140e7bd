"""The forward pages: the forwards' live sync state, and the holiday (dated) forward in the editor.

Each page for each kind of visitor, as ``test_staff_pages.py`` does: a manager and an
agent of the reseller, staff of another reseller (404), a customer's user (403, or their
own objects' status only), anonymous (login).
"""

from __future__ import annotations

import datetime as dt

import pytest

from portal.forwards.models import CallForward
from portal.forwards.services import ForwardInput, set_forwards
from portal.sync.models import SyncState
from tests.factories import (
    CarrierAccountFactory,
    CustomerFactory,
    CustomerUserFactory,
    NumberFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A customer with a Simwood number that forwards its calls (the job still queued)."""
    manager = StaffFactory(manager=True)
    reseller = manager.reseller
    account = CarrierAccountFactory(reseller=reseller)
    customer = CustomerFactory(reseller=reseller, carrier_account=account, name="Anchor Clinic")
    number = NumberFactory(customer=customer, carrier_account=account, e164="+442079460001")
    [forward] = set_forwards(number, [ForwardInput("unconditional", True, [("+447911123456", 20)])])
    return {"manager": manager.user, "agent": StaffFactory(reseller=reseller).user, "customer": customer,
            "number": number, "forward": forward, "outsider": StaffFactory().user,
            "customer_user": CustomerUserFactory(customer=customer).user,
            "other_customer_user": CustomerUserFactory(customer=CustomerFactory(reseller=reseller)).user}


def status_url(forward) -> str:
    return f"/sync/status/callforward/{forward.pk}/"


@pytest.mark.parametrize("who", ["manager", "agent"])
@pytest.mark.parametrize("tab", ["number", "customer"])
def test_the_forwards_of_a_number_poll_their_state_while_the_carrier_works_on_them(client, world, who, tab):
    client.force_login(world[who])
    forward = world["forward"]
    assert forward.sync_state == SyncState.PENDING
    path = (f"/staff/numbers/{world['number'].pk}/forwards/" if tab == "number"
            else f"/staff/customers/{world['customer'].pk}/forwards/")
    page = client.get(path).content.decode()
    assert f'hx-get="{status_url(forward)}"' in page and 'hx-trigger="every 2s"' in page

    status = client.get(status_url(forward))
    assert status.status_code == 200 and "Pending" in status.content.decode()
    assert 'hx-trigger="every 2s"' in status.content.decode()


def test_a_forward_the_carrier_refused_shows_its_words_and_stops_polling(client, world):
    forward = world["forward"]
    type(forward).objects.filter(pk=forward.pk).update(
        sync_state=SyncState.ERROR, sync_error="Routing block 'default' step 0 endpoint 0 parameter 'number' is invalid.")
    client.force_login(world["agent"])
    for path in (status_url(forward), f"/staff/numbers/{world['number'].pk}/forwards/"):
        page = client.get(path).content.decode()
        assert "parameter &#x27;number&#x27; is invalid." in page
        assert f'hx-get="{status_url(forward)}"' not in page  # final: no more polling


def test_only_those_who_may_see_a_forward_may_poll_it(client, world):
    url = status_url(world["forward"])
    client.force_login(world["outsider"])
    assert client.get(url).status_code == 404
    client.force_login(world["other_customer_user"])
    assert client.get(url).status_code == 404
    client.force_login(world["customer_user"])  # the customer's own forward (self-service pages)
    assert client.get(url).status_code == 200
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(world["manager"])
    assert client.get("/sync/status/no-such-kind/1/").status_code == 404


# ------------------------------------------------------------------------ the holiday forward
def editor_url(world) -> str:
    return f"/staff/numbers/{world['number'].pk}/forwards/edit/"


def holiday_post(**rows) -> dict:
    """The editor's form with an always-on forward to a mobile and the given holiday rows."""
    data = {"op": "save", "unconditional-enabled": "on", "unconditional-target": "07911 123456",
            "unconditional-timeout": "20", "unconditional-windows": "0", "unconditional-timezone": "Europe/London",
            "unconditional-holidays": str(len(rows))}
    for i, row in enumerate(rows.values()):
        data.update({f"unconditional-h{i}-{name}": value for name, value in row.items()})
    return data


def day(offset: int) -> dt.date:
    return dt.date.today() + dt.timedelta(days=offset)


def test_the_holiday_preset_offers_dates_and_changes_nothing(client, world):
    client.force_login(world["agent"])
    page = client.post(editor_url(world), {**holiday_post(), "op": "holiday:unconditional"})
    html = page.content.decode()
    assert page.status_code == 200
    assert f'name="unconditional-h0-start_date" value="{day(1).isoformat()}"' in html
    assert f'name="unconditional-h0-end_date" value="{day(7).isoformat()}"' in html
    assert 'name="unconditional-h0-start_time" value=""' in html
    assert "Simwood&#x27;s rules have days and months but no year" in html
    assert CallForward.objects.get(pk=world["forward"].pk).windows.count() == 0  # nothing saved


@pytest.mark.parametrize("who", ["manager", "agent"])
def test_a_holiday_with_times_is_saved_and_told_in_plain_words(client, world, who):
    client.force_login(world[who])
    start, end = day(10), day(19)
    data = holiday_post(h={"start_date": start.isoformat(), "start_time": "18:00",
                           "end_date": end.isoformat(), "end_time": "08:00"})
    response = client.post(editor_url(world), {**data, "op": "preview"})
    words = preview_words(start, end)
    assert f"From {words[0]} 18:00 to {words[1]} 08:00 (Europe/London), all calls to 020 7946 0001 ring " \
           "07911 123456 for 20 s; outside those dates this forward does not apply." in response.content.decode()
    assert client.post(editor_url(world), data).status_code == 302
    window = CallForward.objects.get(number=world["number"], type="unconditional").windows.get()
    assert (window.start_date, window.start, window.end_date, window.end) == (start, dt.time(18), end, dt.time(8))
    assert window.weekdays == []
    summary = client.get(f"/staff/numbers/{world['number'].pk}/forwards/").content.decode()
    assert f"From {words[0]} 18:00 to {words[1]} 08:00" in summary


def preview_words(*days: dt.date) -> list[str]:
    return [f"{d.day} {d:%b}" + (f" {d.year}" if d.year != dt.date.today().year else "") for d in days]


def test_a_holiday_without_times_runs_whole_days_and_reads_back_as_typed(client, world):
    client.force_login(world["agent"])
    start, end = day(3), day(5)
    response = client.post(editor_url(world), holiday_post(h={"start_date": start.isoformat(), "start_time": "",
                                                               "end_date": end.isoformat(), "end_time": ""}))
    assert response.status_code == 302
    window = CallForward.objects.get(number=world["number"]).windows.get()
    assert (window.start_date, window.start, window.end_date, window.end) == (start, dt.time(0), day(6), dt.time(0))
    page = client.get(editor_url(world)).content.decode()
    assert f'name="unconditional-h0-end_date" value="{end.isoformat()}"' in page  # the last day, as typed
    words = preview_words(start, end)
    assert f"From {words[0]} to {words[1]} (Europe/London)" in page


def test_bad_holidays_show_every_error_next_to_its_field_and_nothing_is_saved(client, world):
    client.force_login(world["agent"])
    data = holiday_post(
        backwards={"start_date": day(9).isoformat(), "start_time": "", "end_date": day(8).isoformat(), "end_time": ""},
        past={"start_date": day(-9).isoformat(), "start_time": "", "end_date": day(-2).isoformat(), "end_time": ""},
        too_long={"start_date": day(2).isoformat(), "start_time": "", "end_date": day(402).isoformat(), "end_time": ""},
        no_date={"start_date": "", "start_time": "25:00", "end_date": day(2).isoformat(), "end_time": ""},
        last_minute={"start_date": day(3).isoformat(), "start_time": "23:59", "end_date": day(5).isoformat(),
                     "end_time": "23:59"},
    )
    response = client.post(editor_url(world), {**data, "no_answer-target": "", "no_answer-timeout": "20"})
    assert response.status_code == 200
    section = response.context["editor"].sections[0]
    backwards, past, too_long, no_date, last_minute = section.dated_forms
    assert backwards.errors["end_date"] == ["Must be after the start."]
    assert past.errors["end_date"] == ["This is over already: choose dates to come."]
    assert too_long.errors["end_date"] == [
        "Simwood: this carrier's dates have no year, so a dated window must be shorter than a year."]
    assert "start_date" in no_date.errors and "start_time" in no_date.errors
    assert "start at 23:58 or at 00:00 the next day" in last_minute.errors["start_time"][0]
    assert last_minute.errors["end_time"] == ["Simwood: its last time of day, 23:59, runs to midnight: end at 00:00 "
                                              "the next day, or leave the time empty."]
    switched_off = response.context["editor"].sections[1]  # "when not answered", left empty and off
    assert [form.errors for form in switched_off.destination_forms] == [{}]
    html = response.content.decode()
    assert html.count('aria-invalid="true"') >= 5
    assert f'name="unconditional-h1-start_date" value="{day(-9).isoformat()}"' in html  # input kept
    assert CallForward.objects.get(pk=world["forward"].pk).windows.count() == 0


def test_carriers_without_dates_say_why_no_holiday_is_offered(client, world):
    from tests.factories import CarrierAccountFactory, NumberFactory

    surevoip = CarrierAccountFactory(reseller=world["customer"].reseller, kind="surevoip")
    number = NumberFactory(customer=world["customer"], carrier_account=surevoip, e164="+442079460002")
    client.force_login(world["agent"])
    page = client.get(f"/staff/numbers/{number.pk}/forwards/edit/").content.decode()
    assert "Time windows (office hours, holidays) are not offered: SureVoIP cannot limit a forward to times or dates." in page
    assert "holiday:" not in page
    refused = client.post(f"/staff/numbers/{number.pk}/forwards/edit/", {
        **holiday_post(h={"start_date": day(2).isoformat(), "start_time": "", "end_date": day(3).isoformat(),
                          "end_time": ""})})
    assert refused.status_code == 200 and not CallForward.objects.filter(number=number).exists()


def test_others_cannot_use_the_editor(client, world):
    data = {**holiday_post(), "op": "holiday:unconditional"}
    client.force_login(world["outsider"])
    assert client.post(editor_url(world), data).status_code == 404
    client.force_login(world["customer_user"])
    assert client.post(editor_url(world), data).status_code == 403
    client.logout()
    assert client.post(editor_url(world), data).status_code == 302
