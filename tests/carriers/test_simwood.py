"""The Simwood adapter against the sandbox, over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.carriers import get_adapter
from portal.carriers.base import (
    FORWARD_TYPES,
    AccountConfig,
    AuthenticationError,
    Destination,
    DuplicateError,
    EmergencyAddress,
    ForwardSpec,
    NotFoundError,
    NumberSpec,
    PermanentError,
    RateLimitedError,
    TimeWindow,
    TransientError,
    TrunkSpec,
    UnsupportedError,
    check_date_window,
)
from portal.carriers.simwood import SimwoodAdapter

ADDRESS = EmergencyAddress(name="Acme Widgets", premises="104", thoroughfare="King Street",
                           locality="Leeds", postcode="LS11 5DF")


def account_config(doc: dict, **overrides: str) -> AccountConfig:
    settings = doc["settings"]
    values = {**settings, **overrides}
    return AccountConfig(
        base_url=doc["base_url"],
        credentials={"api_key": values["api_key"]},
        settings={"account": values["account"], "api_user": values["api_user"]},
    )


@pytest.fixture
def simwood_account(new_sandbox_account) -> dict:
    return new_sandbox_account("simwood")


@pytest.fixture
def open_adapter() -> Iterator[Callable[..., SimwoodAdapter]]:
    opened: list[SimwoodAdapter] = []

    def open_one(doc: dict, **overrides: str) -> SimwoodAdapter:
        adapter = get_adapter("simwood", account_config(doc, **overrides))
        opened.append(adapter)
        return adapter

    yield open_one
    for adapter in opened:
        adapter.close()


@pytest.fixture
def adapter(open_adapter, simwood_account) -> SimwoodAdapter:
    return open_adapter(simwood_account)


@pytest.fixture
def carrier_request_count(sandbox_control, simwood_account) -> Callable[[], int]:
    """How many requests the sandbox has logged for the account so far."""

    def count() -> int:
        response = sandbox_control.get("/_sandbox/requests", params={"account": simwood_account["id"]})
        return len(response.json()["requests"])

    return count


def allocate(adapter: SimwoodAdapter, tier: str = "standard") -> str:
    offer = next(n for n in adapter.search_numbers(limit=100) if n.tier == tier)
    return adapter.allocate_number(offer.e164)


# ------------------------------------------------------------------ connection, errors
def test_connection_works_with_the_accounts_credentials(adapter):
    assert isinstance(adapter, SimwoodAdapter)
    adapter.test_connection()


def test_wrong_key_is_an_authentication_error_without_the_key(open_adapter, simwood_account):
    adapter = open_adapter(simwood_account, api_key="wrong-key-123")
    with pytest.raises(AuthenticationError) as caught:
        adapter.test_connection()
    assert caught.value.status == 401
    assert "wrong-key-123" not in str(caught.value)
    assert simwood_account["settings"]["api_key"] not in str(caught.value)


def test_another_account_number_is_an_authentication_error(
    open_adapter, simwood_account, new_sandbox_account
):
    other = new_sandbox_account("simwood")["settings"]["account"]
    with pytest.raises(AuthenticationError) as caught:
        open_adapter(simwood_account, account=other).test_connection()
    assert caught.value.status == 403


def test_server_error_is_transient(adapter, simwood_account, sandbox_faults):
    sandbox_faults({"carrier": "simwood", "account": simwood_account["id"],
                    "fail_next": {"count": 1, "status": 503}})
    with pytest.raises(TransientError) as caught:
        adapter.test_connection()
    assert caught.value.status == 503 and caught.value.message  # the carrier's words, shown as they are
    adapter.test_connection()


def test_rate_limit_carries_the_wait(adapter, simwood_account, sandbox_faults):
    sandbox_faults({"carrier": "simwood", "account": simwood_account["id"],
                    "rate_limit": {"requests": 1, "window_seconds": 40}})
    adapter.test_connection()
    with pytest.raises(RateLimitedError) as caught:
        adapter.test_connection()
    assert 30 <= caught.value.retry_after <= 40


# ------------------------------------------------------------------ number inventory
def test_search_lists_available_numbers_cheapest_first(adapter):
    found = adapter.search_numbers(limit=100)
    assert len(found) == 100 and all(n.e164.startswith("+4420") for n in found)
    prices = [float(n.price) for n in found]
    assert prices == sorted(prices)
    assert {n.tier for n in found} == {"gold", "standard"}
    assert all((n.tier == "gold") == (float(n.price) > 0) for n in found)
    assert len(adapter.search_numbers(limit=3)) == 3


def test_search_pattern(adapter):
    gold = next(n for n in adapter.search_numbers(limit=100) if n.tier == "gold")
    assert [n.e164 for n in adapter.search_numbers(pattern=gold.e164)] == [gold.e164]
    assert gold.e164 in [n.e164 for n in adapter.search_numbers(pattern=gold.e164[-4:])]


def test_a_consecutive_block_is_one_run_of_available_numbers(adapter):
    """notes-simwood-surevoip.md §1.6: ``available/consecutive/[10..100 step 10]``, a report."""
    block = adapter.search_numbers(block=10)
    digits = [int(n.e164[1:]) for n in block]
    assert len(block) == 10 and digits == list(range(digits[0], digits[0] + 10))
    assert all(n.tier in ("gold", "standard") and n.price for n in block)
    adapter.allocate_number(block[4].e164)  # a taken number breaks the run
    after = [int(n.e164[1:]) for n in adapter.search_numbers(block=10)]
    assert len(after) == 10 and int(block[4].e164[1:]) not in after
    assert after == list(range(after[0], after[0] + 10))
    assert adapter.search_numbers(block=100) == []  # 99 of the 100 left: no run of 100
    area = block[0].e164[:6]  # +44203…
    assert all(n.e164.startswith(area) for n in adapter.search_numbers(area, block=20))


def test_a_block_size_is_one_the_carrier_documents(adapter):
    with pytest.raises(UnsupportedError) as caught:
        adapter.search_numbers(block=15)
    assert caught.value.field == "block"
    assert adapter.search_numbers("+1202", block=10) == []  # the report covers UK numbers only
    assert SimwoodAdapter.capabilities.number_blocks == (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)


def test_numbers_taken_since_a_search_are_no_longer_available(adapter, carrier_request_count):
    block = [n.e164 for n in adapter.search_numbers(block=30)]
    adapter.allocate_number(block[3])
    before = carrier_request_count()
    assert adapter.still_available(block + ["+441632960999"]) == set(block) - {block[3]}
    assert carrier_request_count() - before <= 3  # one search per hundred the numbers fall in


def test_allocate_is_retry_safe_and_release_removes(adapter):
    offer = adapter.search_numbers(limit=1)[0]
    remote_id = adapter.allocate_number(offer.e164)
    assert remote_id == offer.e164[1:]
    assert adapter.allocate_number(offer.e164) == remote_id  # a retried allocate adopts it
    assert offer.e164 not in [n.e164 for n in adapter.search_numbers(limit=100)]
    fresh = adapter.fetch_number(remote_id)
    assert fresh == NumberSpec(e164=offer.e164, destination=None, activated=True, forwards=[],
                               customer_remote_id=None, emergency_address=None, portal_id="")
    adapter.release_number(remote_id)
    with pytest.raises(NotFoundError):
        adapter.fetch_number(remote_id)
    with pytest.raises(NotFoundError):
        adapter.release_number(remote_id)


def test_allocating_a_number_that_is_not_available_is_not_found(adapter):
    with pytest.raises(NotFoundError):
        adapter.allocate_number("+441632960000")


# ------------------------------------------------------------------ number config
def test_number_round_trip_and_update(adapter):
    remote_id = allocate(adapter)
    spec = NumberSpec(e164=f"+{remote_id}", destination="sip:%e164@pbx.example.com", activated=True,
                      customer_remote_id="CUST42", emergency_address=ADDRESS, portal_id="num-7")
    adapter.update_number(remote_id, spec)
    assert adapter.fetch_number(remote_id) == spec
    changed = NumberSpec(e164=f"+{remote_id}", destination="+447700900123", activated=False,
                         customer_remote_id="CUST43", emergency_address=ADDRESS, portal_id="num-7")
    adapter.update_number(remote_id, changed)
    assert adapter.fetch_number(remote_id) == changed


def test_update_number_and_set_forwards_do_not_clobber_each_other(adapter):
    remote_id = allocate(adapter)
    first = NumberSpec(e164=f"+{remote_id}", destination="+447700900123", portal_id="n1")
    adapter.update_number(remote_id, first)
    forwards = [ForwardSpec("no_answer", destinations=[Destination("+447700900456", 25)])]
    adapter.set_forwards("number", remote_id, forwards)
    adapter.update_number(remote_id, NumberSpec(e164=f"+{remote_id}", destination="sip:desk@pbx.example.com",
                                                 portal_id="n1"))
    fetched = adapter.fetch_number(remote_id)
    assert fetched.destination == "sip:desk@pbx.example.com" and fetched.forwards == forwards
    adapter.set_forwards("number", remote_id, [])
    assert adapter.fetch_number(remote_id).destination == "sip:desk@pbx.example.com"
    assert adapter.fetch_forwards("number", remote_id) == []


def test_forwards_become_simwood_routing(adapter, sandbox_control, simwood_account):
    remote_id = allocate(adapter)
    adapter.update_number(remote_id, NumberSpec(e164=f"+{remote_id}", destination="+447700900123",
                                                customer_remote_id="CUST1", portal_id="n9"))
    office = TimeWindow(weekdays=[0, 1, 2, 3, 4], start="09:00", end="17:30")
    adapter.set_forwards("number", remote_id, [
        ForwardSpec("unconditional", destinations=[Destination("sip:night@pbx.example.com", 30)],
                    windows=[office]),
        ForwardSpec("no_answer",
                    destinations=[Destination("+447700900456", 15), Destination("+447700900789", 20)]),
    ])
    state = sandbox_control.get(f"/_sandbox/accounts/{simwood_account['id']}/state").json()
    config = state["numbers"][remote_id]["config"]
    assert config["rules"] == {"unconditional": [{"dow": [1, 2, 3, 4, 5], "time": [900, 1730]}]}
    assert config["routing"]["unconditional"] == [
        [{"type": "sip", "endpoint": "night@pbx.example.com", "timeout": 30}]
    ]
    assert config["routing"]["default"] == [
        [{"type": "pstn", "number": "447700900123", "timeout": 20}],
        [{"type": "pstn", "number": "447700900456", "timeout": 15}],
        [{"type": "pstn", "number": "447700900789", "timeout": 20}],
    ]
    assert config["meta"] == {"key": "CUST1", "portal_id": "n9"}


def test_forwards_the_carrier_cannot_hold_are_refused(adapter):
    remote_id = allocate(adapter)
    with pytest.raises(UnsupportedError):
        busy = ForwardSpec("busy", destinations=[Destination("+447700900123")])
        adapter.set_forwards("number", remote_id, [busy])
    with pytest.raises(UnsupportedError):
        adapter.set_forwards("subscriber", "alice", [])
    paris = TimeWindow(weekdays=[0], start="09:00", end="10:00", timezone="Europe/Paris")
    with pytest.raises(UnsupportedError):
        adapter.set_forwards("number", remote_id, [ForwardSpec("unconditional", windows=[paris])])


def test_validation_error_carries_simwoods_message_and_field(adapter):
    remote_id = allocate(adapter)
    with pytest.raises(PermanentError) as caught:
        bad_number = ForwardSpec("unconditional", destinations=[Destination("+12")])
        adapter.set_forwards("number", remote_id, [bad_number])
    assert caught.value.field == "number" and caught.value.status == 400 and "'number'" in caught.value.message


def test_validation_error_in_a_200_answer_is_still_an_error(adapter, sandbox_control, simwood_account):
    sandbox_control.patch(f"/_sandbox/accounts/{simwood_account['id']}", json={"config_error_status": 200})
    remote_id = allocate(adapter)
    with pytest.raises(PermanentError) as caught:
        adapter.update_number(remote_id, NumberSpec(e164=f"+{remote_id}", destination="sip:bad address@x"))
    assert caught.value.field == "endpoint" and caught.value.status == 200


def test_iter_numbers_reads_the_allocated_report(adapter):
    numbers = sorted(allocate(adapter) for _ in range(3))
    adapter.update_number(numbers[0], NumberSpec(e164=f"+{numbers[0]}", destination="+447700900123"))
    listed = dict(adapter.iter_numbers())
    assert sorted(listed) == numbers
    assert listed[numbers[0]].destination == "+447700900123" and listed[numbers[1]].destination is None


# ------------------------------------------------------------------ 999
def test_emergency_address_round_trip_and_validation(adapter):
    remote_id = allocate(adapter)
    assert adapter.fetch_emergency_address(remote_id) is None
    adapter.set_emergency_address(remote_id, ADDRESS)
    assert adapter.fetch_emergency_address(remote_id) == ADDRESS
    with pytest.raises(PermanentError) as caught:
        too_long = EmergencyAddress(name="Acme", premises="1", thoroughfare="High St",
                                    locality="L" * 31, postcode="LS11 5DF")
        adapter.set_emergency_address(remote_id, too_long)
    assert caught.value.field == "locality" and caught.value.status == 400


# ------------------------------------------------------------------ trunks
def test_auth_trunk_round_trip_password_and_reset(adapter):
    spec = TrunkSpec(name="PBX", type="auth", channels_in=4, channels_out=6, default_cli="+441632960123",
                     force_cli=True, max_cost_per_minute="0.05", max_cost_per_call="2.5", enabled=True,
                     customer_ref="ACME")
    created = adapter.create_trunk(spec)
    assert created.remote_id == f"{adapter.account}-04ACMEPBX"
    assert created.password and len(created.password) == 24
    assert adapter.fetch_trunk(created.remote_id) == spec
    new_password = adapter.reset_trunk_password(created.remote_id)
    assert new_password and new_password != created.password


def test_ip_trunk_with_acl_update_and_delete(adapter):
    spec = TrunkSpec(name="SITE1", type="ip", allowed_ips=["192.0.2.10", "192.0.2.11"])
    created = adapter.create_trunk(spec)
    assert created.password is None
    assert adapter.fetch_trunk(created.remote_id) == spec
    changed = TrunkSpec(name="SITE1", type="ip", allowed_ips=["192.0.2.11", "198.51.100.7"], channels_out=2,
                        enabled=False, max_cost_per_minute="0.10")
    adapter.update_trunk(created.remote_id, changed)
    assert adapter.fetch_trunk(created.remote_id) == changed
    adapter.delete_trunk(created.remote_id)
    with pytest.raises(NotFoundError):
        adapter.fetch_trunk(created.remote_id)


def test_retried_trunk_create_finds_the_existing_trunk(adapter):
    spec = TrunkSpec(name="PBX", type="auth", customer_ref="C7")
    assert adapter.find_trunk(spec) is None
    remote_id = adapter.create_trunk(spec).remote_id
    assert adapter.find_trunk(spec) == remote_id
    with pytest.raises(DuplicateError) as caught:
        adapter.create_trunk(spec)
    assert caught.value.remote_id == remote_id


def test_trunks_cannot_be_renamed_or_hold_odd_names(adapter):
    remote_id = adapter.create_trunk(TrunkSpec(name="PBX", type="ip")).remote_id
    with pytest.raises(UnsupportedError):
        adapter.update_trunk(remote_id, TrunkSpec(name="OTHER", type="ip"))
    with pytest.raises(UnsupportedError):
        adapter.update_trunk(remote_id, TrunkSpec(name="PBX", type="auth"))
    with pytest.raises(PermanentError):
        adapter.create_trunk(TrunkSpec(name="Main PBX", type="ip"))
    with pytest.raises(UnsupportedError):
        adapter.create_trunk(TrunkSpec(name="REG", type="auth", allowed_ips=["192.0.2.1"]))


def test_invalid_trunk_option_dropped_by_simwood_is_reported(adapter):
    remote_id = adapter.create_trunk(TrunkSpec(name="PBX", type="ip")).remote_id
    with pytest.raises(PermanentError) as caught:
        adapter.update_trunk(remote_id, TrunkSpec(name="PBX", type="ip", max_cost_per_minute="cheap"))
    assert caught.value.field == "max_cpm"


def test_iter_trunks_lists_every_trunk(adapter):
    made = {adapter.create_trunk(TrunkSpec(name=f"T{i}", type="ip")).remote_id for i in range(3)}
    listed = dict(adapter.iter_trunks())
    assert set(listed) == made | {f"{adapter.account}-L001"}
    assert listed[f"{adapter.account}-L001"].name == "L001"
    assert all(listed[remote_id].type == "ip" for remote_id in made)


# ------------------------------------------------------------------ property: forwards round trip
def sip_targets() -> st.SearchStrategy[str]:
    label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
    return st.builds(lambda user, host: f"sip:{user}@{host}.example.com", label, label)


def pstn_targets() -> st.SearchStrategy[str]:
    return st.integers(0, 999).map(lambda n: f"+447700900{n:03d}")


@st.composite
def windows(draw) -> TimeWindow:
    start, end = sorted(draw(st.lists(st.integers(0, 23 * 60 + 59), min_size=2, max_size=2, unique=True)))
    days = sorted(draw(st.sets(st.integers(0, 6), min_size=1)))
    return TimeWindow(weekdays=days, start=f"{start // 60:02d}:{start % 60:02d}",
                      end=f"{end // 60:02d}:{end % 60:02d}")


@st.composite
def any_dated_windows(draw) -> TimeWindow:
    today = dt.datetime.combine(dt.date.today(), dt.time())
    start = today + dt.timedelta(minutes=draw(st.integers(0, 200 * 24 * 60)))
    end = start + dt.timedelta(minutes=draw(st.integers(1, 150 * 24 * 60)))
    return TimeWindow([], f"{start:%H:%M}", f"{end:%H:%M}", start_date=start.date().isoformat(),
                      end_date=end.date().isoformat())


def dated_windows() -> st.SearchStrategy[TimeWindow]:
    """A holiday Simwood can hold, by its capabilities: rules have no year, so it ends within a
    year from today, and neither edge falls on 23:59 (which Simwood runs to midnight)."""
    return any_dated_windows().filter(lambda window: not check_date_window(SimwoodAdapter.capabilities, window))


def forward_sets(registration_target: str) -> st.SearchStrategy[list[ForwardSpec]]:
    targets = st.one_of(pstn_targets(), sip_targets(), st.just(registration_target))
    destinations = st.builds(Destination, targets, st.integers(5, 120))
    caps = SimwoodAdapter.capabilities

    def forward(kind: str) -> st.SearchStrategy[ForwardSpec]:
        weekly_then_dated = st.tuples(st.lists(windows(), max_size=2), st.lists(dated_windows(), max_size=1))
        return st.builds(ForwardSpec, st.just(kind), st.booleans(),
                         st.lists(destinations, max_size=caps.max_destinations),
                         weekly_then_dated.map(lambda pair: pair[0] + pair[1]))

    kinds = [k for k in FORWARD_TYPES if k in caps.forward_types]
    return st.sets(st.sampled_from(kinds)).flatmap(
        lambda chosen: st.tuples(*(forward(k) for k in kinds if k in chosen)).map(list)
    )


@pytest.fixture
def property_number(adapter) -> tuple[SimwoodAdapter, str, str]:
    registration_user = adapter.create_trunk(TrunkSpec(name="DESK", type="auth")).remote_id
    return adapter, allocate(adapter), f"sip:{registration_user}@reg"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_allowed_forwards_survive_the_round_trip(property_number, data):
    adapter, remote_id, registration_target = property_number
    destination = data.draw(st.one_of(st.none(), pstn_targets(), sip_targets()))
    forwards = data.draw(forward_sets(registration_target))
    adapter.update_number(remote_id, NumberSpec(e164=f"+{remote_id}", destination=destination,
                                                customer_remote_id="CUST12345", portal_id="number-123456"))
    adapter.set_forwards("number", remote_id, forwards)
    assert adapter.fetch_forwards("number", remote_id) == forwards
    assert adapter.fetch_number(remote_id).destination == destination


def test_a_holiday_is_held_as_month_and_day_rules_and_routes_calls_only_then(adapter, simwood_account, sandbox_control):
    """notes-simwood-surevoip.md §1.7: rule periods of ``month``/``day``/``time`` (no year)."""
    number = allocate(adapter)
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=10), dt.time(18, 0))
    end = dt.datetime.combine(start.date() + dt.timedelta(days=9), dt.time(8, 0))
    holiday = TimeWindow([], "18:00", "08:00", start_date=start.date().isoformat(), end_date=end.date().isoformat())
    forward = ForwardSpec("unconditional", destinations=[Destination("+447700900123", 20)], windows=[holiday])
    adapter.set_forwards("number", number, [forward])
    assert adapter.fetch_forwards("number", number) == [forward]
    rules = adapter._read_config(number)["rules"]["unconditional"]
    assert rules[0]["time"] == [1800, 2359] and all("year" not in period for period in rules)

    def routed(at: dt.datetime) -> str:
        answer = sandbox_control.get(f"/_sandbox/accounts/{simwood_account['id']}/routing/{number}",
                                     params={"at": at.isoformat(timespec="minutes")})
        return answer.json()["routing"]

    minute = dt.timedelta(minutes=1)
    assert routed(start - minute) == "default" and routed(start) == "unconditional"
    assert routed(start + dt.timedelta(hours=6) - minute) == "unconditional"  # 23:59 on the first day
    assert routed(start + dt.timedelta(days=4)) == "unconditional"
    assert routed(end - minute) == "unconditional" and routed(end) == "default"
    too_long = TimeWindow([], "00:00", "00:00", start_date=start.date().isoformat(),
                          end_date=(start.date() + dt.timedelta(days=400)).isoformat())
    with pytest.raises(UnsupportedError, match="shorter than a year"):
        adapter.set_forwards("number", number, [ForwardSpec("unconditional", destinations=forward.destinations,
                                                            windows=[too_long])])


@pytest.mark.parametrize(("start", "end", "edge"), [
    ("23:59", "00:00", "nothing can start then"),  # the last minute of a day alone: [2359, 2359]
    ("09:00", "23:59", "end at 00:00 the next day"),  # 2359 would read back as midnight, a minute later
])
def test_a_holiday_edge_at_23_59_is_refused_with_the_reason_and_nothing_is_written(adapter, start, end, edge):
    """§1.7: ``time`` is HHMM and 2359 is its last value, which runs to midnight: found by the
    round-trip property above (a holiday to 31 December at 23:59 came back as 1 January 00:00)."""
    number = allocate(adapter)
    first = dt.date.today() + dt.timedelta(days=20)
    last = first + dt.timedelta(days=1 if end == "00:00" else 0)
    window = TimeWindow([], start, end, start_date=first.isoformat(), end_date=last.isoformat())
    before = adapter._read_config(number)
    with pytest.raises(UnsupportedError, match=edge):
        adapter.set_forwards("number", number, [ForwardSpec("unconditional", destinations=[
            Destination("+447700900123", 20)], windows=[window])])
    assert adapter._read_config(number) == before
    to_midnight = TimeWindow([], start if start != "23:59" else "23:58", "00:00", start_date=first.isoformat(),
                             end_date=(last + dt.timedelta(days=1 if end == "23:59" else 0)).isoformat())
    held = ForwardSpec("unconditional", destinations=[Destination("+447700900123", 20)], windows=[to_midnight])
    adapter.set_forwards("number", number, [held])  # what the reason suggests is held, and reads back the same
    assert adapter.fetch_forwards("number", number) == [held]


def test_transport_errors_are_transient(simwood_account):
    config = account_config(simwood_account)
    config.base_url = "http://127.0.0.1:9/simwood/v3/"
    with SimwoodAdapter(config) as unreachable, pytest.raises(TransientError) as caught:
        unreachable.test_connection()
    assert simwood_account["settings"]["api_key"] not in str(caught.value)


def test_adapter_sends_user_agent_and_reuses_one_client(adapter):
    assert isinstance(adapter.client.http, httpx.Client)
    assert adapter.client.http.headers["user-agent"].startswith("voip-reseller-portal/")
