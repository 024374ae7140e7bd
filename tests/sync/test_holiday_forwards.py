"""Holiday forwards: dated windows through the services, the engine, reconciliation and the
hourly clean-up, against the sandbox (whose routing probe says when a call is forwarded).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from portal.carriers.kinds import CarrierKind
from portal.customers.services import create_customer
from portal.forwards.models import CallForward, ForwardWindow
from portal.forwards.preview import describe
from portal.forwards.services import ForwardInput, WindowInput, current_forwards, end_past_windows, set_forwards, to_specs
from portal.numbers.models import Number
from portal.numbers.services import add_number
from portal.sync.models import Drift, JobState, SyncJob
from portal.sync.reconcile import reconcile
from tests.factories import CarrierAccountFactory, CustomerFactory, NumberFactory, StaffFactory
from tests.sync.conftest import sandbox_id, wait_for

MOBILE = [("+447911123456", 20)]


def today() -> dt.date:
    return dt.date.today()


def holiday(start: int, end: int, start_time=dt.time(18), end_time=dt.time(8)) -> WindowInput:
    """From ``start`` days from now at ``start_time`` to ``end`` days from now at ``end_time``."""
    return WindowInput([], start_time, end_time, "Europe/London", today() + dt.timedelta(days=start),
                       today() + dt.timedelta(days=end))


@pytest.fixture
def number(db):
    account = CarrierAccountFactory(kind=CarrierKind.SIMWOOD)
    customer = CustomerFactory(reseller=account.reseller, carrier_account=account)
    return NumberFactory(customer=customer, carrier_account=account, e164="+442079460001")


def forward_jobs(owner):
    return SyncJob.objects.filter(object_kind="number_forwards", object_id=owner.pk, state=JobState.QUEUED)


# ---------------------------------------------------------------------------- the services
def test_a_holiday_is_saved_with_its_dates_and_sent_as_one_stretch(number):
    [forward] = set_forwards(number, [ForwardInput("unconditional", True, MOBILE, [holiday(3, 10)])])
    window = forward.windows.get()
    assert (window.weekdays, window.start_date, window.end_date) == ([], today() + dt.timedelta(3), today() + dt.timedelta(10))
    assert forward_jobs(number).count() == 1
    [spec] = to_specs(current_forwards(number))
    assert spec.windows[0].dated and spec.windows[0].start == "18:00" and spec.windows[0].end == "08:00"


@pytest.mark.django_db
def test_a_new_holiday_that_is_over_is_refused_but_a_saved_one_may_stay(number):
    with pytest.raises(ValidationError, match="is over already: choose dates to come"):
        set_forwards(number, [ForwardInput("unconditional", True, MOBILE, [holiday(-9, -2)])])
    assert not CallForward.objects.exists()
    # What the carrier holds is adopted as it is (reconciliation), a holiday that is over included...
    set_forwards(number, [ForwardInput("unconditional", True, MOBILE, [holiday(-9, -2)])], sync=False)
    # ...and a person may change another forward without being asked to remove it first.
    current = current_forwards(number)
    set_forwards(number, current + [ForwardInput("no_answer", True, [("+447911123457", 20)])])
    assert CallForward.objects.filter(number=number).count() == 2


@pytest.mark.django_db
def test_what_a_carrier_cannot_hold_is_refused_with_its_reason(number):
    with pytest.raises(ValidationError, match="must be shorter than a year"):  # Simwood's rules have no year
        set_forwards(number, [ForwardInput("unconditional", True, MOBILE, [holiday(1, 400)])])
    with pytest.raises(ValidationError, match="must end within a year"):
        set_forwards(number, [ForwardInput("unconditional", True, MOBILE, [holiday(300, 380)])])
    with pytest.raises(ValidationError, match="must end after it starts"):
        set_forwards(number, [ForwardInput("unconditional", True, MOBILE, [holiday(5, 5, dt.time(9), dt.time(8))])])
    surevoip = CarrierAccountFactory(reseller=number.reseller, kind=CarrierKind.SUREVOIP)
    other = NumberFactory(customer=number.customer, carrier_account=surevoip, e164="+442079460002")
    with pytest.raises(ValidationError, match="cannot limit a unconditional forward to dates"):
        set_forwards(other, [ForwardInput("unconditional", True, MOBILE, [holiday(1, 2)])])
    assert not CallForward.objects.exists()


def test_the_preview_tells_a_holiday_in_plain_words():
    spec = to_specs([ForwardInput("unconditional", True, MOBILE, [
        WindowInput([], dt.time(18), dt.time(8), "Europe/London", dt.date(2026, 12, 24), dt.date(2027, 1, 2))])])
    [words] = describe(spec, "020 7946 0001", today=dt.date(2026, 12, 6))
    assert words == ("From 24 Dec 18:00 to 2 Jan 2027 08:00 (Europe/London), all calls to 020 7946 0001 ring "
                     "07911 123456 for 20 s; outside those dates this forward does not apply.")
    whole_days = WindowInput([], dt.time(0), dt.time(0), "Europe/London", dt.date(2026, 12, 24), dt.date(2026, 12, 27))
    evenings = WindowInput([0, 1, 2, 3, 4], dt.time(18), dt.time(23, 59), "Europe/London")
    [both] = describe(to_specs([ForwardInput("no_answer", True, MOBILE, [evenings, whole_days])]), "020 7946 0001",
                      today=dt.date(2026, 12, 6))
    assert "only Mon–Fri 18:00–23:59 and from 24 Dec to 26 Dec (Europe/London)" in both
    one_day = WindowInput([], dt.time(0), dt.time(0), "Europe/London", dt.date(2026, 12, 25), dt.date(2026, 12, 26))
    [single] = describe(to_specs([ForwardInput("busy", True, MOBILE, [one_day])]), "SIP account 201",
                        today=dt.date(2026, 12, 6))
    assert single.startswith("On 25 Dec (Europe/London), when SIP account 201 is on a call, calls ring")


# --------------------------------------------------------------------------- the clean-up
@pytest.mark.django_db
def test_holidays_that_are_over_are_cleared_and_a_forward_left_without_any_switched_off(number):
    staff = StaffFactory(reseller=number.reseller).user
    evenings = WindowInput([0, 1, 2, 3, 4], dt.time(18), dt.time(23, 59))
    set_forwards(number, [
        ForwardInput("unconditional", True, MOBILE, [holiday(-9, -2)]),
        ForwardInput("no_answer", True, [("+447911123457", 20)], [evenings, holiday(-5, -1)]),
    ], sync=False)
    other = NumberFactory(customer=number.customer, carrier_account=number.carrier_account, e164="+442079460003")
    set_forwards(other, [ForwardInput("unconditional", True, MOBILE, [holiday(2, 9)])], actor=staff)
    before = SyncJob.objects.count()

    assert end_past_windows() == 1
    forwards = {f.type: f for f in current_forwards(number)}
    assert forwards["unconditional"].enabled is False and forwards["unconditional"].windows == []
    assert forwards["unconditional"].destinations == MOBILE  # kept for the next holiday
    assert forwards["no_answer"].enabled is True and [w.dated for w in forwards["no_answer"].windows] == [False]
    assert forward_jobs(number).count() == 1 and SyncJob.objects.count() == before + 1
    assert ForwardWindow.objects.filter(forward__number=other).count() == 1  # still to come: kept
    assert end_past_windows() == 0


# ----------------------------------------------------------- the carrier side, a real worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["simwood", "sipwise"])
def test_a_holiday_lands_forwards_calls_only_on_its_dates_and_reconciles_clean(
    kind, sandbox_carrier_account, worker, sandbox_control
):
    from tests.fresh_numbers import fresh_e164

    account = sandbox_carrier_account(kind)
    staff = StaffFactory(reseller=account.reseller).user
    customer = create_customer(reseller=account.reseller, name="Harbour Dental", email="office@harbour.example",
                               carrier_account=account, actor=staff)
    if kind == "simwood":
        e164 = "+" + next(iter(sandbox_control.get(f"/_sandbox/accounts/{sandbox_id(account)}/state").json()["stock"]))
        owner = add_number(reseller=account.reseller, carrier_account=account, e164=e164, customer=customer, actor=staff)
        model = Number
    else:
        from portal.subscribers.models import Subscriber
        from portal.subscribers.services import create_subscriber

        owner, _ = create_subscriber(customer=customer, username="reception", domain=account.settings["domain"],
                                     actor=staff)
        number = add_number(reseller=account.reseller, carrier_account=account, e164=fresh_e164(), customer=customer,
                            actor=staff, subscriber=owner)
        del number
        model = Subscriber
    wait_for(lambda: model.objects.get(pk=owner.pk).remote_id, message="the owner never landed")
    window = holiday(10, 19)
    set_forwards(model.objects.get(pk=owner.pk), [ForwardInput("unconditional", True, MOBILE, [window])], actor=staff)
    forward = CallForward.objects.get(**{model.__name__.lower(): owner})
    wait_for(lambda: CallForward.objects.get(pk=forward.pk).sync_state == "synced", message="the holiday never landed")

    remote = model.objects.get(pk=owner.pk).remote_id
    start, end = dt.datetime.combine(window.start_date, window.start), dt.datetime.combine(window.end_date, window.end)

    def forwarded(at: dt.datetime) -> bool:
        answer = sandbox_control.get(f"/_sandbox/accounts/{sandbox_id(account)}/routing/{remote}",
                                     params={"at": at.isoformat(timespec="minutes")}).json()
        return answer["routing"] == "unconditional" if kind == "simwood" else answer["forwards"]["cfu"]["applies"]

    minute = dt.timedelta(minutes=1)
    assert [forwarded(start - minute), forwarded(start), forwarded(end - minute), forwarded(end)] == [
        False, True, True, False]
    reconcile(account)
    drift = Drift.objects.open().filter(carrier_account=account, object_kind__endswith="_forwards")
    assert not drift.exists(), f"the carrier's holiday reads back differently: {list(drift.values('diff'))}"
