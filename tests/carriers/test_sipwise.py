"""The Sipwise C5 adapter against the sandbox emulator, over real HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.carriers import get_adapter
from portal.carriers.base import (
    FORWARD_TYPES,
    AuthenticationError,
    CustomerSpec,
    Destination,
    DuplicateError,
    ForwardSpec,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    SubscriberSpec,
    TimeWindow,
    TransientError,
    TrunkSpec,
    UnsupportedError,
)
from portal.carriers.sipwise import SipwiseAdapter, clock, times_to_windows, window_to_times
from tests.carriers.sandbox_config import config_for
from tests.fresh_numbers import fresh_e164



@pytest.fixture
def sipwise_account(new_sandbox_account) -> dict:
    return new_sandbox_account("sipwise")


@pytest.fixture
def make_adapter(sipwise_account) -> Iterator[Callable[..., SipwiseAdapter]]:
    opened: list[SipwiseAdapter] = []

    def make(account: dict | None = None, page_size: int | None = None, **overrides) -> SipwiseAdapter:
        adapter = SipwiseAdapter(config_for(account or sipwise_account, **overrides), page_size=page_size)
        opened.append(adapter)
        return adapter

    yield make
    for adapter in opened:
        adapter.close()


@pytest.fixture
def adapter(make_adapter) -> SipwiseAdapter:
    return make_adapter()


@pytest.fixture
def carrier_state(sandbox_control, sipwise_account) -> Callable[[], dict]:
    return lambda: sandbox_control.get(f"/_sandbox/accounts/{sipwise_account['id']}/state").json()


def customer_spec(portal_id: str = "cust-1", **fields) -> CustomerSpec:
    defaults = {
        "name": "Acme Ltd",
        "contact_name": "Jane Smith",
        "email": "jane@acme.example",
        "phone": "+441632960001",
        "address": {
            "line1": "1 High Street", "line2": "Floor 2", "city": "Leeds", "postcode": "LS1 1AA", "country": "GB",
        },  # fmt: skip
        "external_ref": "ACME-001",
        "status": "active",
        "portal_id": portal_id,
    }
    return CustomerSpec(**{**defaults, **fields})


def subscriber_spec(customer_id: str, username: str = "alice", **fields) -> SubscriberSpec:
    """A subscriber with numbers of its own: Sipwise numbers are unique across the platform."""
    primary = fields.pop("primary_number") if "primary_number" in fields else fresh_e164()
    defaults = {
        "username": username,
        "password": "Sip-Pass-2026x",
        "display_name": "Alice",
        "primary_number": primary,
        "alias_numbers": [fresh_e164()],
        "customer_remote_id": customer_id,
        "caller_id": primary or "",
        "call_limit": 2,
        "portal_id": f"sub-{username}",
    }
    return SubscriberSpec(**{**defaults, **fields})


def fetched_view(spec: SubscriberSpec, domain: str) -> SubscriberSpec:
    """What a fetch returns for ``spec``: the password is never read back."""
    return dataclasses.replace(spec, password=None, domain=spec.domain or domain)


@pytest.fixture
def customer_id(adapter: SipwiseAdapter) -> str:
    return adapter.create_customer(customer_spec())


# ----------------------------------------------------------------------- the basics
def test_registered_under_its_kind(sipwise_account) -> None:
    adapter = get_adapter("sipwise", config_for(sipwise_account))
    try:
        assert isinstance(adapter, SipwiseAdapter)
        adapter.test_connection()
    finally:
        adapter.close()


def test_wrong_password_is_an_authentication_error_without_the_secret(make_adapter, sipwise_account) -> None:
    wrong = "not-the-" + sipwise_account["settings"]["password"]
    adapter = SipwiseAdapter(dataclasses.replace(config_for(sipwise_account), credentials={"password": wrong}))
    try:
        with pytest.raises(AuthenticationError) as caught:
            adapter.test_connection()
    finally:
        adapter.close()
    assert caught.value.status == 401
    assert wrong not in str(caught.value) and sipwise_account["settings"]["password"] not in str(caught.value)


# ------------------------------------------------------------------------ customers
def test_customer_round_trip(adapter: SipwiseAdapter, carrier_state) -> None:
    spec = customer_spec()
    remote_id = adapter.create_customer(spec)
    assert adapter.fetch_customer(remote_id) == spec
    stored = carrier_state()["customers"][remote_id]
    assert stored["type"] == "sipaccount" and stored["external_id"] == "cust-1"
    assert stored["billing_profile_id"] == adapter.config.settings["billing_profile_id"]
    contact = carrier_state()["customercontacts"][str(stored["contact_id"])]
    assert contact["phonenumber"] == "441632960001" and contact["gpp0"] == "ACME-001"


def test_customer_type_comes_from_settings(make_adapter, carrier_state) -> None:
    remote_id = make_adapter(customer_type="pbxaccount").create_customer(customer_spec())
    assert carrier_state()["customers"][remote_id]["type"] == "pbxaccount"


def test_customer_update_suspend_and_delete(adapter: SipwiseAdapter, carrier_state) -> None:
    remote_id = adapter.create_customer(customer_spec())
    changed = customer_spec(name="Acme Group", email="ops@acme.example", address={"city": "York"}, status="suspended")
    adapter.update_customer(remote_id, changed)
    assert adapter.fetch_customer(remote_id) == changed
    assert carrier_state()["customers"][remote_id]["status"] == "locked"
    subscriber_id = adapter.create_subscriber(subscriber_spec(remote_id))
    adapter.delete_customer(remote_id)
    assert adapter.fetch_customer(remote_id) == dataclasses.replace(changed, status="terminated")
    assert subscriber_id in carrier_state()["terminated_subscribers"]
    assert adapter.find_customer(changed) is None
    adapter.delete_customer(remote_id)  # deleting again is harmless


def test_find_customer_adopts_a_retried_create(adapter: SipwiseAdapter) -> None:
    remote_id = adapter.create_customer(customer_spec("cust-7"))
    assert adapter.find_customer(customer_spec("cust-7")) == remote_id
    assert adapter.find_customer(customer_spec("cust-8")) is None


def test_customer_validation_error_carries_message_and_field(adapter: SipwiseAdapter, carrier_state) -> None:
    with pytest.raises(PermanentError) as caught:
        adapter.create_customer(customer_spec(email=""))
    assert caught.value.field == "email" and caught.value.status == 422
    assert "Validation failed" in caught.value.message
    assert carrier_state()["customers"] == {}


def test_customer_refused_by_platform_leaves_no_contact(make_adapter, carrier_state) -> None:
    with pytest.raises(PermanentError) as caught:
        make_adapter(billing_profile_id=999999).create_customer(customer_spec())
    assert caught.value.field == "billing_profile_id"
    assert caught.value.message == "Invalid 'billing_profile_id' (999999)."
    assert carrier_state()["customercontacts"] == {}


def test_iter_customers_pages(make_adapter) -> None:
    adapter = make_adapter(page_size=2)
    created = {adapter.create_customer(customer_spec(f"c{n}", email=f"c{n}@example.com")) for n in range(5)}
    listed = dict(adapter.iter_customers())
    assert set(listed) == created
    assert {spec.portal_id for spec in listed.values()} == {f"c{n}" for n in range(5)}


# ---------------------------------------------------------------------- subscribers
def test_subscriber_round_trip(adapter: SipwiseAdapter, customer_id: str, carrier_state) -> None:
    spec = subscriber_spec(customer_id)
    remote_id = adapter.create_subscriber(spec)
    assert adapter.fetch_subscriber(remote_id) == fetched_view(spec, adapter.domain)
    stored = carrier_state()["subscribers"][remote_id]
    assert stored["primary_number"]["cc"] == "44" and stored["password"] == "Sip-Pass-2026x"
    assert carrier_state()["subscriberpreferences"][remote_id] == {"cli": spec.caller_id[1:], "concurrent_max": 2}


def test_subscriber_update_and_delete(adapter: SipwiseAdapter, customer_id: str, carrier_state) -> None:
    remote_id = adapter.create_subscriber(subscriber_spec(customer_id))
    adapter.set_forwards("subscriber", remote_id, [ForwardSpec("busy", destinations=[Destination("+441132960099")])])
    changed = subscriber_spec(
        customer_id,
        password=None,
        display_name="Alice B",
        primary_number=fresh_e164(),
        alias_numbers=[],
        status="suspended",
        caller_id="",
        call_limit=None,
    )
    adapter.update_subscriber(remote_id, changed)
    assert adapter.fetch_subscriber(remote_id) == fetched_view(changed, adapter.domain)
    assert carrier_state()["subscribers"][remote_id]["password"] == "Sip-Pass-2026x"  # untouched when not sent
    assert adapter.fetch_forwards("subscriber", remote_id)[0].type == "busy"  # other settings survive
    adapter.delete_subscriber(remote_id)
    with pytest.raises(NotFoundError):
        adapter.fetch_subscriber(remote_id)


def test_duplicate_subscriber_is_adoptable(adapter: SipwiseAdapter, customer_id: str) -> None:
    spec = subscriber_spec(customer_id)
    remote_id = adapter.create_subscriber(spec)
    with pytest.raises(DuplicateError) as caught:
        adapter.create_subscriber(dataclasses.replace(spec, primary_number=fresh_e164(), alias_numbers=[]))
    assert caught.value.message == "Subscriber already exists."
    assert adapter.find_subscriber(spec) == remote_id
    assert adapter.find_subscriber(subscriber_spec(customer_id, username="nobody")) is None


def test_number_held_by_another_subscriber_is_a_duplicate(adapter: SipwiseAdapter, customer_id: str) -> None:
    held = adapter.create_subscriber(subscriber_spec(customer_id))
    number = adapter.fetch_subscriber(held).primary_number
    with pytest.raises(DuplicateError) as caught:
        adapter.create_subscriber(subscriber_spec(customer_id, username="bob", primary_number=number, alias_numbers=[]))
    assert "already exists" in caught.value.message


def test_a_number_another_reseller_holds_is_refused(make_adapter, new_sandbox_account) -> None:
    """notes 5.5: one number table for the whole platform, whoever the reseller."""
    theirs = make_adapter(new_sandbox_account("sipwise"))
    number = fresh_e164()
    theirs.create_subscriber(subscriber_spec(theirs.create_customer(customer_spec()), primary_number=number))
    ours = make_adapter()
    with pytest.raises(DuplicateError):
        ours.create_subscriber(subscriber_spec(ours.create_customer(customer_spec()), primary_number=number))


def test_subscriber_errors_never_show_the_sip_password(adapter: SipwiseAdapter, customer_id: str) -> None:
    with pytest.raises(PermanentError) as caught:
        adapter.create_subscriber(subscriber_spec(customer_id, username="bad name", password="Very-Secret-9"))
    assert caught.value.field == "username" and "Cannot contain spaces." in caught.value.message
    assert "Very-Secret-9" not in str(caught.value)


def test_subscriber_needs_customer_and_password(adapter: SipwiseAdapter, customer_id: str) -> None:
    with pytest.raises(PermanentError) as no_customer:
        adapter.create_subscriber(subscriber_spec("", username="x"))
    assert no_customer.value.field == "customer_remote_id"
    with pytest.raises(PermanentError) as no_password:
        adapter.create_subscriber(subscriber_spec(customer_id, username="y", password=None))
    assert no_password.value.field == "password"


def test_unknown_subscriber_is_not_found(adapter: SipwiseAdapter) -> None:
    with pytest.raises(NotFoundError) as caught:
        adapter.fetch_subscriber("99999999")
    assert caught.value.message == "Entity 'subscriber' not found."


def test_iter_subscribers_pages_and_skips_trunks(make_adapter, customer_id: str) -> None:
    adapter = make_adapter(page_size=2)
    specs = [
        subscriber_spec(customer_id, f"u{n}", alias_numbers=[]) for n in range(5)
    ]
    created = {adapter.create_subscriber(spec) for spec in specs}
    adapter.create_trunk(TrunkSpec(name="PBX", type="auth", customer_ref="cust-1", portal_id="t1"))
    listed = dict(adapter.iter_subscribers())
    assert set(listed) == created
    assert {spec.username for spec in listed.values()} == {f"u{n}" for n in range(5)}


# -------------------------------------------------------------------------- numbers
def test_numbers_are_held_by_subscribers(make_adapter, customer_id: str) -> None:
    adapter = make_adapter(page_size=1)
    alice = subscriber_spec(customer_id)
    rome = "+39061" + fresh_e164()[-7:]  # a number whose area code is not the UK's
    remote_id = adapter.create_subscriber(alice)
    adapter.create_subscriber(subscriber_spec(customer_id, "bob", primary_number=rome, alias_numbers=[]))
    numbers = dict(adapter.iter_numbers())
    assert set(numbers) == {alice.primary_number, *alice.alias_numbers, rome}
    alias = adapter.fetch_number(alice.alias_numbers[0])
    assert alias.destination == f"sip:alice@{adapter.domain}" and alias.customer_remote_id == customer_id
    assert adapter.fetch_number(rome).e164 == rome
    with pytest.raises(NotFoundError):
        adapter.fetch_number(fresh_e164())
    with pytest.raises(UnsupportedError):
        adapter.update_number(alice.primary_number, alias)
    assert adapter.fetch_subscriber(remote_id).alias_numbers == alice.alias_numbers


# --------------------------------------------------------------------------- trunks
def test_trunk_round_trip_update_password_and_delete(adapter: SipwiseAdapter, customer_id: str, carrier_state) -> None:
    spec = TrunkSpec(
        name="Head office PBX",
        type="auth",
        allowed_ips=["192.0.2.10", "198.51.100.0/24"],
        channels_out=4,
        default_cli="+441132960050",
        customer_ref="cust-1",
        customer_remote_id=customer_id,
        numbers=[fresh_e164(), fresh_e164()],
        portal_id="trunk-9",
    )
    created = adapter.create_trunk(spec)
    assert created.password and adapter.fetch_trunk(created.remote_id) == spec
    stored = carrier_state()["subscribers"][created.remote_id]
    assert stored["password"] == created.password
    assert "+" + "".join(stored["primary_number"][part] for part in ("cc", "ac", "sn")) == spec.numbers[0]
    assert adapter.find_trunk(spec) == created.remote_id
    changed = dataclasses.replace(
        spec, allowed_ips=["203.0.113.5"], channels_out=None, enabled=False, numbers=[spec.numbers[1]]
    )
    adapter.update_trunk(created.remote_id, changed)
    assert adapter.fetch_trunk(created.remote_id) == changed
    new_password = adapter.reset_trunk_password(created.remote_id)
    assert new_password != created.password
    assert carrier_state()["subscribers"][created.remote_id]["password"] == new_password
    assert dict(adapter.iter_trunks()) == {created.remote_id: changed}
    adapter.delete_trunk(created.remote_id)
    with pytest.raises(NotFoundError):
        adapter.fetch_trunk(created.remote_id)


def test_a_trunk_without_numbers_keeps_what_the_platform_holds(adapter: SipwiseAdapter, customer_id: str) -> None:
    spec = TrunkSpec(
        name="PBX", type="auth", customer_remote_id=customer_id, customer_ref="cust-1", numbers=[fresh_e164()]
    )
    created = adapter.create_trunk(spec)
    adapter.update_trunk(created.remote_id, dataclasses.replace(spec, name="PBX 2", numbers=None))  # not said
    assert adapter.fetch_trunk(created.remote_id).numbers == spec.numbers
    adapter.update_trunk(created.remote_id, dataclasses.replace(spec, numbers=[]))  # said: none
    assert adapter.fetch_trunk(created.remote_id).numbers == []


def test_on_a_master_platform_subscribers_and_trunks_carry_a_primary_number(
    make_adapter, sipwise_account, sandbox_control, customer_id: str
) -> None:
    """notes 5.5 and the client checklist (8): a primary_number for every sipaccount subscriber,
    trunks included; master refuses one without it, and the carrier's refusal names the field."""
    sandbox_control.patch(f"/_sandbox/accounts/{sipwise_account['id']}", json={"require_primary_number": True})
    adapter = make_adapter()
    assert adapter.create_subscriber(subscriber_spec(customer_id))
    trunk = TrunkSpec(name="PBX", type="auth", customer_remote_id=customer_id, customer_ref="cust-1")
    created = adapter.create_trunk(dataclasses.replace(trunk, numbers=[fresh_e164()]))
    assert adapter.fetch_trunk(created.remote_id).numbers
    with pytest.raises(PermanentError) as caught:
        adapter.create_subscriber(subscriber_spec(customer_id, "nonumber", primary_number=None, alias_numbers=[]))
    assert caught.value.field == "primary_number" and caught.value.status == 422
    with pytest.raises(PermanentError) as caught:
        adapter.create_trunk(dataclasses.replace(trunk, name="Bare", portal_id="t-bare"))
    assert caught.value.field == "numbers" and caught.value.status == 422


def test_trunk_gaps_are_refused(adapter: SipwiseAdapter, customer_id: str) -> None:
    with pytest.raises(UnsupportedError, match="channels_in, codecs"):
        adapter.create_trunk(TrunkSpec(name="x", type="auth", customer_ref="cust-1", channels_in=2, codecs=["PCMA"]))
    with pytest.raises(UnsupportedError, match="type"):
        adapter.create_trunk(TrunkSpec(name="x", type="ip", customer_ref="cust-1"))
    with pytest.raises(PermanentError) as caught:
        adapter.create_trunk(TrunkSpec(name="x", type="auth", customer_ref="no-such-customer"))
    assert caught.value.field == "customer_ref"


def test_a_plain_subscriber_is_not_a_trunk(adapter: SipwiseAdapter, customer_id: str) -> None:
    remote_id = adapter.create_subscriber(subscriber_spec(customer_id))
    with pytest.raises(NotFoundError):
        adapter.fetch_trunk(remote_id)


# -------------------------------------------------------------------- call forwards
def test_forwards_round_trip_and_carrier_form(adapter: SipwiseAdapter, customer_id: str, carrier_state) -> None:
    remote_id = adapter.create_subscriber(subscriber_spec(customer_id))
    office_hours = TimeWindow(weekdays=[0, 1, 2, 3, 4], start="08:30", end="17:15")
    forwards = [
        ForwardSpec("unconditional", destinations=[Destination("sip:desk@example.com", 30)], windows=[office_hours]),
        ForwardSpec("no_answer", destinations=[Destination("+441132960100", 15), Destination("+441132960101", 40)]),
    ]
    adapter.set_forwards("subscriber", remote_id, forwards)
    assert adapter.fetch_forwards("subscriber", remote_id) == forwards
    stored = carrier_state()["callforwards"][remote_id]
    assert set(stored) == {"cfu", "cft"}
    assert [d["destination"] for d in stored["cft"]["destinations"]] == [
        f"sip:441132960100@{adapter.domain}",
        f"sip:441132960101@{adapter.domain}",
    ]
    assert [d["priority"] for d in stored["cft"]["destinations"]] == [1, 2]
    assert carrier_state()["subscriberpreferences"][remote_id]["ringtimeout"] == 20
    assert stored["cfu"]["times"][0] == {
        "year": None, "month": "1-12", "mday": None, "wday": "2-6", "hour": "8", "minute": "30-59",
    }  # fmt: skip
    adapter.set_forwards("subscriber", remote_id, forwards[:1])
    assert adapter.fetch_forwards("subscriber", remote_id) == forwards[:1]
    assert "ringtimeout" not in carrier_state()["subscriberpreferences"][remote_id]


def test_set_forwards_keeps_types_the_portal_does_not_manage(
    adapter: SipwiseAdapter, customer_id: str, sipwise_account, carrier_state
) -> None:
    remote_id = adapter.create_subscriber(subscriber_spec(customer_id))
    settings = sipwise_account["settings"]
    raw = httpx.put(
        f"{sipwise_account['base_url']}callforwards/{remote_id}",
        json={
            "cfs": {"destinations": [{"destination": "voicebox"}]},
            "cft": {"destinations": [{"destination": "1"}], "ringtimeout": 45},
        },
        auth=(settings["username"], settings["password"]),
    )
    assert raw.status_code == 204, raw.text
    busy = ForwardSpec("busy", destinations=[Destination("+441132960100")])
    no_answer = ForwardSpec("no_answer", destinations=[Destination("+441132960101")])
    adapter.set_forwards("subscriber", remote_id, [busy, no_answer])
    stored = carrier_state()["callforwards"][remote_id]
    assert stored["cfs"]["destinations"][0]["destination"] == "voicebox"
    assert carrier_state()["subscriberpreferences"][remote_id]["ringtimeout"] == 45  # kept, not reset to 20
    assert adapter.fetch_forwards("subscriber", remote_id) == [busy, no_answer]


def test_disabled_forward_is_removed_and_unsupported_ones_refused(adapter: SipwiseAdapter, customer_id: str) -> None:
    remote_id = adapter.create_subscriber(subscriber_spec(customer_id))
    ring = [Destination("+441132960100")]
    adapter.set_forwards("subscriber", remote_id, [ForwardSpec("busy", destinations=ring)])
    adapter.set_forwards("subscriber", remote_id, [ForwardSpec("busy", enabled=False, destinations=ring)])
    assert adapter.fetch_forwards("subscriber", remote_id) == []
    overnight = TimeWindow(weekdays=[0], start="22:00", end="06:00")
    with pytest.raises(UnsupportedError, match="same-day"):
        adapter.set_forwards("subscriber", remote_id, [ForwardSpec("busy", destinations=ring, windows=[overnight])])
    elsewhere = TimeWindow(weekdays=[0], start="08:00", end="09:00", timezone="Asia/Tehran")
    with pytest.raises(UnsupportedError, match="Asia/Tehran"):
        adapter.set_forwards("subscriber", remote_id, [ForwardSpec("busy", destinations=ring, windows=[elsewhere])])
    with pytest.raises(UnsupportedError):
        adapter.set_forwards("number", "+441132960001", [])
    too_many = [Destination(f"+44113296{n:04d}") for n in range(SipwiseAdapter.capabilities.max_destinations + 1)]
    with pytest.raises(UnsupportedError, match="at most"):
        adapter.set_forwards("subscriber", remote_id, [ForwardSpec("busy", destinations=too_many)])


def test_a_holiday_is_held_as_dated_times_and_applies_exactly_from_its_start_to_its_end(
    adapter: SipwiseAdapter, customer_id: str, sipwise_account, sandbox_control
) -> None:
    """notes-sipwise.md 5.6: ``year``/``month``/``mday`` time fields; the sandbox says when each applies."""
    remote_id = adapter.create_subscriber(subscriber_spec(customer_id))
    holiday = TimeWindow([], "18:00", "08:00", start_date="2026-12-24", end_date="2027-01-02")
    evenings = TimeWindow([0, 1, 2, 3, 4], "18:00", "24:00")
    forward = ForwardSpec("unconditional", destinations=[Destination("+441132960100", 20)], windows=[evenings, holiday])
    adapter.set_forwards("subscriber", remote_id, [forward])
    assert adapter.fetch_forwards("subscriber", remote_id) == [forward]

    def applies(at: str) -> bool:
        answer = sandbox_control.get(f"/_sandbox/accounts/{sipwise_account['id']}/routing/{remote_id}", params={"at": at})
        return answer.json()["forwards"]["cfu"]["applies"]

    assert not applies("2026-12-24T17:59") and applies("2026-12-24T18:00") and applies("2026-12-26T12:00")
    assert applies("2027-01-02T07:59") and not applies("2027-01-02T08:00")
    assert applies("2027-01-04T18:30") and not applies("2027-01-04T17:30")  # the weekly evenings stay
    with pytest.raises(PermanentError):
        adapter.set_forwards("subscriber", remote_id, [ForwardSpec("unconditional", destinations=forward.destinations,
                             windows=[TimeWindow([], "08:00", "08:00", start_date="2027-01-02", end_date="2027-01-02")])])


def test_adjacent_windows_read_back_as_written() -> None:
    windows = [
        TimeWindow(weekdays=[0], start="08:30", end="09:00"),
        TimeWindow(weekdays=[0], start="09:00", end="09:30"),
        TimeWindow(weekdays=[5, 6, 0], start="00:00", end="24:00"),
    ]
    times = [entry for window in windows for entry in window_to_times(window)]
    assert times_to_windows(times, "Europe/London") == [
        windows[0], windows[1], TimeWindow(weekdays=[0, 5, 6], start="00:00", end="24:00"),
    ]  # fmt: skip


E164 = st.from_regex(r"\+[1-9][0-9]{6,12}", fullmatch=True)
SIP_URI = st.from_regex(r"sip:[a-z][a-z0-9]{0,7}@(example\.com|pbx\.example\.net)", fullmatch=True)
CLOCK = st.integers(min_value=0, max_value=24 * 60)


@st.composite
def windows(draw) -> TimeWindow:
    start, end = sorted(draw(st.lists(CLOCK, min_size=2, max_size=2, unique=True)))
    weekdays = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
    return TimeWindow(weekdays=sorted(weekdays), start=clock(start), end=clock(end))


@st.composite
def dated_windows(draw) -> TimeWindow:
    """A holiday: any stretch from minutes to years, in any year the platform takes."""
    start = dt.datetime(2020, 1, 1) + dt.timedelta(minutes=draw(st.integers(0, 20 * 366 * 24 * 60)))
    end = start + dt.timedelta(minutes=draw(st.integers(1, 800 * 24 * 60)))
    return TimeWindow([], f"{start:%H:%M}", f"{end:%H:%M}", start_date=start.date().isoformat(),
                      end_date=end.date().isoformat())


@st.composite
def forward_sets(draw) -> list[ForwardSpec]:
    capabilities = SipwiseAdapter.capabilities
    types = draw(st.lists(st.sampled_from(sorted(capabilities.forward_types)), unique=True))
    destinations = st.builds(Destination, st.one_of(E164, SIP_URI), st.integers(min_value=1, max_value=600))
    return [
        ForwardSpec(
            type=forward_type,
            destinations=draw(st.lists(destinations, min_size=1, max_size=capabilities.max_destinations)),
            windows=draw(st.lists(windows(), max_size=3)) + draw(st.lists(dated_windows(), max_size=2)),
        )
        for forward_type in sorted(types, key=FORWARD_TYPES.index)
    ]


@pytest.fixture(scope="module")
def forwards_subscriber(sandbox_control) -> Iterator[tuple[SipwiseAdapter, str]]:
    """One sandbox account and subscriber shared by every hypothesis example.

    Through ``sandbox_control``, which carries ``SANDBOX_ADMIN_TOKEN`` when one is set."""
    created = sandbox_control.post("/_sandbox/accounts", json={"carrier": "sipwise"})
    assert created.status_code == 201, created.text
    account = created.json()
    adapter = SipwiseAdapter(config_for(account))
    customer_id = adapter.create_customer(customer_spec())
    remote_id = adapter.create_subscriber(subscriber_spec(customer_id))
    yield adapter, remote_id
    adapter.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(forwards=forward_sets())
def test_any_allowed_forward_set_survives_a_round_trip(forwards_subscriber, forwards: list[ForwardSpec]) -> None:
    adapter, remote_id = forwards_subscriber
    adapter.set_forwards("subscriber", remote_id, forwards)
    assert adapter.fetch_forwards("subscriber", remote_id) == forwards


# ---------------------------------------------------------------------- error paths
def test_server_error_is_transient(adapter: SipwiseAdapter, sipwise_account, sandbox_faults) -> None:
    sandbox_faults({"carrier": "sipwise", "account": sipwise_account["id"], "fail_next": {"count": 1, "status": 503}})
    with pytest.raises(TransientError) as caught:
        adapter.fetch_customer("1")
    assert caught.value.status == 503 and caught.value.message  # the carrier's words, shown as they are


def test_rate_limit_carries_the_wait(adapter: SipwiseAdapter, sipwise_account, sandbox_faults) -> None:
    sandbox_faults(
        {"carrier": "sipwise", "account": sipwise_account["id"], "rate_limit": {"requests": 1, "window_seconds": 30}}
    )
    adapter.test_connection()
    with pytest.raises(RateLimitedError) as caught:
        adapter.test_connection()
    assert 1 <= caught.value.retry_after <= 30 and caught.value.transient


def test_locked_contact_is_transient(adapter: SipwiseAdapter, customer_id: str, carrier_state) -> None:
    contact_id = carrier_state()["customers"][customer_id]["contact_id"]
    with pytest.raises(TransientError) as caught:
        adapter._request("DELETE", f"customercontacts/{contact_id}")
    assert caught.value.status == 423 and caught.value.message == "Contact is still in use."
