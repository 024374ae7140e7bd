"""The SureVoIP adapter against the sandbox emulator, over real HTTP."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.carriers import get_adapter
from portal.carriers.base import (
    AuthenticationError,
    CustomerSpec,
    Destination,
    DuplicateError,
    ForwardSpec,
    NotFoundError,
    NumberSpec,
    PermanentError,
    RateLimitedError,
    TimeWindow,
    TransientError,
    UnsupportedError,
)
from portal.carriers.surevoip import RateBudget, SureVoIPAdapter
from tests.carriers.sandbox_config import config_for



def customer_spec(name: str = "Acme Telecom Ltd", **overrides) -> CustomerSpec:
    spec = CustomerSpec(
        name=name,
        contact_name="Ann Mary Lee",
        email="ann@acme.example",
        phone="+441224279484",
        address={"line1": "24 Cormack Park", "line2": "Rothienorman", "city": "Inverurie",
                 "postcode": "AB51 8GL", "country": "GB"},
    )  # fmt: skip
    for key, value in overrides.items():
        setattr(spec, key, value)
    return spec


@pytest.fixture
def surevoip_account(new_sandbox_account) -> dict:
    return new_sandbox_account("surevoip")


@pytest.fixture
def make_adapter(surevoip_account) -> Iterator[Callable[..., SureVoIPAdapter]]:
    opened: list[SureVoIPAdapter] = []

    def make(account: dict | None = None, *, password: str | None = None, **kwargs) -> SureVoIPAdapter:
        config = config_for(account or surevoip_account)
        if password is not None:
            config.credentials["password"] = password
        adapter = SureVoIPAdapter(config, **kwargs)
        opened.append(adapter)
        return adapter

    yield make
    for adapter in opened:
        adapter.close()


@pytest.fixture
def adapter(make_adapter) -> SureVoIPAdapter:
    return make_adapter()


def requests_logged(control: httpx.Client, account: dict, since: float) -> list[dict]:
    params = {"account": account["id"], "since": since}
    return control.get("/_sandbox/requests", params=params).json()["requests"]


# ------------------------------------------------------------------------ basics
def test_registry_builds_the_adapter(surevoip_account):
    with get_adapter("surevoip", config_for(surevoip_account)) as built:
        assert isinstance(built, SureVoIPAdapter)
        built.test_connection()


def test_capabilities_are_declared_precisely():
    caps = SureVoIPAdapter.capabilities
    assert caps.customers and caps.number_config and caps.number_inventory and caps.forwards
    assert not (caps.subscribers or caps.trunks or caps.emergency_address)
    assert caps.forward_owners == {"number"} and caps.forward_types == {"unconditional"}
    assert caps.max_destinations == 1
    assert not caps.ring_timeouts and not caps.time_windows


def test_wrong_password_is_an_authentication_error_without_the_secret(make_adapter, caplog):
    wrong = "not-the-real-password-123"
    broken = make_adapter(password=wrong)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as caught:
        broken.test_connection()
    assert caught.value.status == 401 and caught.value.message  # S2 gives no 401 wording: any, shown as is
    assert wrong not in str(caught.value) and wrong not in caplog.text


def test_requests_skip_hypermedia(adapter, surevoip_account, sandbox_control):
    since = time.time()
    assert list(adapter.iter_customers()) == []
    (logged,) = requests_logged(sandbox_control, surevoip_account, since)
    assert "hypermedia=no" in logged["query"]


# ------------------------------------------------------------------------ customers
def test_customer_round_trip(adapter, surevoip_account, sandbox_control):
    spec = customer_spec()
    since = time.time()
    remote_id = adapter.create_customer(spec)
    [created] = requests_logged(sandbox_control, surevoip_account, since)
    assert remote_id and created["status"] == 201  # the id is Location's last segment, whatever its form
    assert adapter.fetch_customer(remote_id) == spec


def test_listed_customers_are_known_by_their_url_not_their_username(adapter):
    """S2: a customer's ``username`` is its control-panel login; the ``{account}`` in its URL is the id."""
    created = {adapter.create_customer(customer_spec(name=f"C{i}")) for i in range(2)}
    listed = dict(adapter.iter_customers())
    assert set(listed) == created
    for remote_id in created:
        assert adapter.fetch_customer(remote_id) == listed[remote_id]


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"url": {"href": "https://api.surevoip.co.uk/customers/7781/", "title": "x"}, "username": "gavin"}, "7781"),
        ({"url": {"href": "https://api.surevoip.co.uk/partners/p/customer/42?hypermedia=no"}}, "42"),
        ({"account": 99, "username": "gavin"}, "99"),
    ],
)
def test_a_list_entry_id_comes_from_its_url_else_its_account(entry, expected):
    assert SureVoIPAdapter._listed_customer_id(entry) == expected


def test_a_list_entry_without_url_or_account_is_not_guessed_from_its_username():
    with pytest.raises(TransientError):
        SureVoIPAdapter._listed_customer_id({"username": "gavin"})


def test_customer_without_optional_details_reads_back_the_same(adapter):
    spec = customer_spec(contact_name="", address={"line1": "1 High Street", "country": "GB"})
    assert adapter.fetch_customer(adapter.create_customer(spec)) == spec


def test_update_customer(adapter):
    remote_id = adapter.create_customer(customer_spec())
    changed = customer_spec(name="Acme Renamed", email="ops@acme.example", contact_name="Bo Diddley",
                            address={"line1": "2 New Road", "city": "Aberdeen", "country": "IE"})  # fmt: skip
    adapter.update_customer(remote_id, changed)
    assert adapter.fetch_customer(remote_id) == changed


def test_customers_cannot_be_deleted(adapter, surevoip_account):
    remote_id = adapter.create_customer(customer_spec())
    with pytest.raises(UnsupportedError):
        adapter.delete_customer(remote_id)
    raw = httpx.delete(
        f"{surevoip_account['base_url']}customers/{remote_id}",
        auth=(surevoip_account["settings"]["username"], surevoip_account["settings"]["password"]),
    )
    assert raw.status_code == 405  # the carrier has no DELETE either
    assert adapter.fetch_customer(remote_id).name == "Acme Telecom Ltd"


def test_find_customer_adopts_an_existing_one(adapter):
    spec = customer_spec(name="Findable Ltd")
    assert adapter.find_customer(spec) is None
    remote_id = adapter.create_customer(spec)
    adapter.create_customer(customer_spec(name="Someone Else"))
    assert adapter.find_customer(customer_spec(name="Findable Ltd", email="ANN@acme.example")) == remote_id


def test_iter_customers_streams_page_by_page(make_adapter, surevoip_account, sandbox_control):
    paged = make_adapter(page_size=2)
    created = [paged.create_customer(customer_spec(name=f"Customer {i}")) for i in range(5)]
    since = time.time()
    found = list(paged.iter_customers())
    assert [remote_id for remote_id, _ in found] == created
    assert [spec.name for _, spec in found] == [f"Customer {i}" for i in range(5)]
    pages = [entry["query"] for entry in requests_logged(sandbox_control, surevoip_account, since)]
    assert len(pages) == 3 and all("limit=2" in query for query in pages)


def test_validation_error_carries_the_carriers_message_and_field(adapter):
    with pytest.raises(PermanentError) as caught:
        adapter.create_customer(customer_spec(email="not-an-address"))
    assert caught.value.status == 400
    assert caught.value.field == "email" and caught.value.message  # the carrier's words, whatever they are


def test_portal_values_the_carrier_cannot_take_are_refused_before_sending(adapter):
    with pytest.raises(PermanentError) as caught:
        adapter.create_customer(customer_spec(phone=""))
    assert caught.value.field == "phone"
    with pytest.raises(PermanentError) as caught:
        adapter.create_customer(customer_spec(address={"country": "Narnia"}))
    assert caught.value.field == "country"


def test_unknown_customer_is_not_found(adapter):
    with pytest.raises(NotFoundError) as caught:
        adapter.fetch_customer("10000000")
    assert caught.value.message == "Cannot find what you were looking for!"


def test_another_accounts_customer_is_not_found(make_adapter, new_sandbox_account):
    theirs = make_adapter(new_sandbox_account("surevoip")).create_customer(customer_spec())
    with pytest.raises(NotFoundError):
        make_adapter().fetch_customer(theirs)


# ------------------------------------------------------------------------ numbers
def test_search_numbers(adapter):
    found = adapter.search_numbers()
    assert len(found) == 10
    assert all(n.e164.startswith("+44") and n.e164[1:].isdigit() for n in found)
    assert all(n.tier in {"platinum", "gold", "standard"} and n.price.isdigit() for n in found)
    prefix = found[0].e164[:9]
    by_prefix = adapter.search_numbers(prefix, limit=60)
    assert len(by_prefix) > 10 and all(n.e164.startswith(prefix) for n in by_prefix)
    exact = adapter.search_numbers(found[3].e164, limit=5)
    assert [n.e164 for n in exact] == [found[3].e164]


def test_search_sends_only_area_codes_as_areacode(adapter, surevoip_account, sandbox_control):
    """S2, number search: ``areacode`` takes an area code; ``number_range`` validates "a complete
    number" (``01224900100-01224900109``); ``number_filter`` matches digits in the number."""
    stock = [n.e164 for n in adapter.search_numbers(limit=60)]
    whole = stock[7]
    national = "0" + whole[3:]
    since = time.time()
    assert [n.e164 for n in adapter.search_numbers(whole)] == [whole]
    prefix = whole[:-2]  # area code and most of the local number
    by_prefix = adapter.search_numbers(prefix, limit=60)
    assert by_prefix and {n.e164 for n in by_prefix} == {e for e in stock if e.startswith(prefix)}
    assert adapter.search_numbers(whole[:5], limit=60)  # shorter than any area code: filtered here
    first, *rest = (dict(parse_qsl(e["query"])) for e in requests_logged(sandbox_control, surevoip_account, since))
    assert first["number_range"] == f"{national}-{national}" and "areacode" not in first
    by_area = [query for query in rest if "areacode" in query]  # the prefix, page by page
    assert by_area and all(q["areacode"] == national[:5] and q["number_filter"] == national[5:-2] for q in by_area)
    assert all("number_filter" not in query for query in rest[len(by_area) :])  # the short prefix
    assert adapter.search_numbers("+12025550123") == []  # SureVoIP sells UK numbers


def test_numbers_taken_since_a_search_are_no_longer_available(adapter, surevoip_account, sandbox_control):
    """S2: ``number_range`` checks complete numbers, comma-separated, "at the last stage"; at most 50."""
    stock = [n.e164 for n in adapter.search_numbers(limit=60)]
    adapter.allocate_number(stock[5], adapter.create_customer(customer_spec()))
    since = time.time()
    assert adapter.still_available(stock + ["+12025550123"]) == set(stock) - {stock[5]}
    ranges = [dict(parse_qsl(e["query"]))["number_range"] for e in requests_logged(sandbox_control, surevoip_account, since)]
    assert [len(r.split(",")) for r in ranges] == [50, 10]
    with pytest.raises(UnsupportedError):
        adapter.search_numbers(block=10)  # SureVoIP's search has no consecutive blocks


def test_allocation_carries_a_destination(adapter, surevoip_account, sandbox_control):
    """S2: every documented number PUT/POST body has a ``destination``; unrouted is ``""``."""
    customer = adapter.create_customer(customer_spec())
    first, second = (n.e164 for n in adapter.search_numbers(limit=2))
    since = time.time()
    adapter.allocate_number(first, customer)
    adapter.allocate_number(second, customer, destination="+441224824887")
    logged = requests_logged(sandbox_control, surevoip_account, since)
    posts = [json.loads(entry["body"]) for entry in logged if entry["method"] == "POST"]
    assert [p["numbers"][0]["destination"] for p in posts] == ["", "441224824887"]
    assert posts[1]["numbers"][0]["voip_call"] == "0"
    assert adapter.fetch_number(f"{customer}:{second[1:]}").destination == "+441224824887"


def test_allocate_then_fetch_number(adapter):
    customer = adapter.create_customer(customer_spec())
    e164 = adapter.search_numbers()[0].e164
    remote_id = adapter.allocate_number(e164, customer)
    assert remote_id == f"{customer}:{e164[1:]}"
    assert adapter.fetch_number(remote_id) == NumberSpec(
        e164=e164, destination=None, activated=True, customer_remote_id=customer
    )
    assert e164 not in {n.e164 for n in adapter.search_numbers(limit=60)}


def test_retried_allocation_adopts_the_number(adapter):
    customer = adapter.create_customer(customer_spec())
    e164 = adapter.search_numbers()[0].e164
    first = adapter.allocate_number(e164, customer)
    assert adapter.allocate_number(e164, customer) == first


def test_allocating_a_number_another_customer_holds_is_a_duplicate(adapter):
    owner = adapter.create_customer(customer_spec(name="Owner"))
    other = adapter.create_customer(customer_spec(name="Other"))
    e164 = adapter.search_numbers()[0].e164
    held = adapter.allocate_number(e164, owner)
    with pytest.raises(DuplicateError) as caught:
        adapter.allocate_number(e164, other)
    assert caught.value.remote_id == held and caught.value.field == "number"


def test_allocating_a_number_another_partner_holds_is_refused(make_adapter, new_sandbox_account):
    theirs = make_adapter(new_sandbox_account("surevoip"))
    number = theirs.search_numbers()[0].e164
    theirs.allocate_number(number, theirs.create_customer(customer_spec()))
    ours = make_adapter()
    with pytest.raises(PermanentError) as caught:
        ours.allocate_number(number, ours.create_customer(customer_spec()))
    assert not isinstance(caught.value, DuplicateError)  # not ours to adopt
    assert caught.value.field == "number" and caught.value.status == 400


def test_any_unused_number_can_be_bought(make_adapter, new_sandbox_account):
    """S2: number search lists the numbers "no one owns yet"; any partner can provision one."""
    unused_elsewhere = make_adapter(new_sandbox_account("surevoip")).search_numbers()[0].e164
    ours = make_adapter()
    customer = ours.create_customer(customer_spec())
    assert ours.allocate_number(unused_elsewhere, customer) == f"{customer}:{unused_elsewhere[1:]}"


def test_allocation_needs_a_customer(adapter):
    with pytest.raises(PermanentError):
        adapter.allocate_number(adapter.search_numbers()[0].e164)


@pytest.mark.parametrize(
    ("destination", "activated"),
    [("sip:01224900999@pbx.example.com", True), ("+441224824887", False), (None, True)],
)
def test_number_update_round_trip(adapter, destination, activated):
    customer = adapter.create_customer(customer_spec())
    remote_id = adapter.allocate_number(adapter.search_numbers()[0].e164, customer)
    spec = adapter.fetch_number(remote_id)
    spec.destination, spec.activated = destination, activated
    adapter.update_number(remote_id, spec)
    assert adapter.fetch_number(remote_id) == spec


def test_number_destination_is_sent_as_the_carrier_wants(adapter, surevoip_account, sandbox_control):
    customer = adapter.create_customer(customer_spec())
    remote_id = adapter.allocate_number(adapter.search_numbers()[0].e164, customer)
    spec = adapter.fetch_number(remote_id)
    spec.destination = "+441224824887"
    adapter.update_number(remote_id, spec)
    held = sandbox_control.get(f"/_sandbox/accounts/{surevoip_account['id']}/state").json()["numbers"]
    number = remote_id.split(":")[1]
    assert (held[number]["destination"], held[number]["voip_call"], held[number]["activated"]) == (
        "441224824887", "0", "1",
    )  # fmt: skip


def test_number_forwards_must_agree_with_its_destination(adapter):
    customer = adapter.create_customer(customer_spec())
    remote_id = adapter.allocate_number(adapter.search_numbers()[0].e164, customer)
    spec = adapter.fetch_number(remote_id)
    spec.destination = "sip:a@pbx.example.com"
    spec.forwards = [ForwardSpec("unconditional", destinations=[Destination("+441224824887")])]
    with pytest.raises(UnsupportedError):
        adapter.update_number(remote_id, spec)
    spec.forwards = [ForwardSpec("unconditional", destinations=[Destination("sip:a@pbx.example.com")])]
    adapter.update_number(remote_id, spec)
    assert adapter.fetch_number(remote_id).destination == "sip:a@pbx.example.com"


def test_unknown_number_is_not_found(adapter):
    customer = adapter.create_customer(customer_spec())
    with pytest.raises(NotFoundError):
        adapter.fetch_number(f"{customer}:441224000000")
    with pytest.raises(NotFoundError):
        adapter.fetch_number("no-separator")


def test_numbers_cannot_be_released(adapter):
    with pytest.raises(UnsupportedError):
        adapter.release_number("1:441224000000")


def test_iter_numbers_streams_every_customers_numbers(make_adapter):
    paged = make_adapter(page_size=2)
    first = paged.create_customer(customer_spec(name="First"))
    second = paged.create_customer(customer_spec(name="Second"))
    stock = [n.e164 for n in paged.search_numbers(limit=4)]
    expected = [paged.allocate_number(e164, first) for e164 in stock[:3]]
    expected.append(paged.allocate_number(stock[3], second))
    paged.update_number(expected[1], NumberSpec(e164=stock[1], destination="sip:x@pbx.example.com"))
    found = dict(paged.iter_numbers())
    assert list(found) == expected
    assert found[expected[1]].destination == "sip:x@pbx.example.com"
    assert found[expected[3]].customer_remote_id == second


# --------------------------------------------------------------- SIP accounts (import)
def test_sip_accounts_are_read_for_import(make_adapter):
    paged = make_adapter(page_size=1)
    customers = [paged.create_customer(customer_spec(name=f"C{i}", phone=f"+44122427948{i}")) for i in range(2)]
    found = list(paged.iter_subscribers())
    assert [remote_id for remote_id, _ in found] == [f"{c}:{c}" for c in customers]
    remote_id, spec = found[1]
    assert spec.username == customers[1] and spec.customer_remote_id == customers[1]
    assert spec.caller_id == "+441224279481" and spec.password is None
    assert paged.fetch_subscriber(remote_id) == spec
    assert paged.find_subscriber(spec) == remote_id
    with pytest.raises(NotFoundError):
        paged.fetch_subscriber(f"{customers[0]}:nobody")
    with pytest.raises(UnsupportedError):
        paged.create_subscriber(spec)


# ------------------------------------------------------------------------ forwards
def test_forward_is_the_numbers_single_destination(adapter):
    customer = adapter.create_customer(customer_spec())
    remote_id = adapter.allocate_number(adapter.search_numbers()[0].e164, customer)
    forward = ForwardSpec("unconditional", enabled=False, destinations=[Destination("+441224824887")])
    adapter.set_forwards("number", remote_id, [forward])
    assert adapter.fetch_forwards("number", remote_id) == [forward]
    number = adapter.fetch_number(remote_id)
    assert (number.destination, number.activated) == ("+441224824887", False)
    adapter.set_forwards("number", remote_id, [])
    assert adapter.fetch_forwards("number", remote_id) == []
    assert adapter.fetch_number(remote_id).destination is None


@pytest.mark.parametrize(
    "forwards",
    [
        [ForwardSpec("busy", destinations=[Destination("+441224824887")])],
        [ForwardSpec("unconditional", destinations=[Destination("+441224824887"), Destination("+441224824888")])],
        [ForwardSpec("unconditional", destinations=[Destination("+441224824887")],
                     windows=[TimeWindow(weekdays=[0], start="09:00", end="17:00")])],
        [ForwardSpec("unconditional", destinations=[])],
    ],
)  # fmt: skip
def test_forwards_the_carrier_cannot_hold_are_refused(adapter, forwards):
    with pytest.raises(UnsupportedError):
        adapter.set_forwards("number", "1:441224000000", forwards)


def test_subscribers_have_no_forwards(adapter):
    with pytest.raises(UnsupportedError):
        adapter.set_forwards("subscriber", "1:1", [])
    with pytest.raises(UnsupportedError):
        adapter.fetch_forwards("subscriber", "1:1")


SIP_USER = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=12)
SIP_HOST = st.from_regex(r"[a-z][a-z0-9-]{0,10}\.example\.(com|net)", fullmatch=True)
TARGETS = st.one_of(
    st.from_regex(r"\+44[1-9][0-9]{9}", fullmatch=True),
    st.builds(lambda user, host: f"sip:{user}@{host}", SIP_USER, SIP_HOST),
)
ALLOWED_FORWARDS = st.one_of(
    st.just([]),
    st.builds(
        lambda target, enabled: [ForwardSpec("unconditional", enabled=enabled, destinations=[Destination(target)])],
        TARGETS,
        st.booleans(),
    ),
)


def test_any_allowed_forward_survives_the_round_trip(adapter):
    customer = adapter.create_customer(customer_spec())
    remote_id = adapter.allocate_number(adapter.search_numbers()[0].e164, customer)

    @settings(max_examples=25, deadline=None)
    @given(ALLOWED_FORWARDS)
    def survives(forwards: list[ForwardSpec]) -> None:
        adapter.set_forwards("number", remote_id, forwards)
        assert adapter.fetch_forwards("number", remote_id) == forwards

    survives()


# ------------------------------------------------------------------ errors and limits
def test_server_error_is_transient(adapter, surevoip_account, sandbox_faults):
    sandbox_faults({"carrier": "surevoip", "account": surevoip_account["id"], "fail_next": {"count": 1, "status": 503}})
    with pytest.raises(TransientError) as caught:
        adapter.search_numbers()
    assert caught.value.status == 503 and caught.value.message  # the carrier's words, shown as they are
    assert len(adapter.search_numbers()) == 10


def test_rate_limit_fault_waits_retry_after(adapter, surevoip_account, sandbox_faults):
    sandbox_faults({"carrier": "surevoip", "account": surevoip_account["id"],
                    "rate_limit": {"requests": 0, "window_seconds": 40}})  # fmt: skip
    with pytest.raises(RateLimitedError) as caught:
        adapter.search_numbers()
    assert 30 < caught.value.retry_after <= 40
    assert caught.value.status == 429
    assert adapter.rate_budget.remaining == 0


def test_rate_budget_is_recorded_and_reported(make_adapter):
    reports: list[RateBudget] = []
    watched = make_adapter(on_rate_budget=reports.append)
    watched.search_numbers()
    watched.search_numbers()
    assert [r.remaining for r in reports] == [4999, 4998]
    assert watched.rate_budget == reports[-1]
    assert 3590 < reports[-1].reset_after <= 3600


def test_spent_budget_is_honoured_without_asking_the_carrier(
    make_adapter, surevoip_account, sandbox_control
):  # fmt: skip
    sandbox_control.patch(f"/_sandbox/accounts/{surevoip_account['id']}", json={"rate_limit_per_hour": 2})
    thrifty = make_adapter()
    thrifty.search_numbers()
    thrifty.search_numbers()
    assert thrifty.rate_budget.remaining == 0
    since = time.time()
    with pytest.raises(RateLimitedError) as caught:
        thrifty.search_numbers()
    assert 3590 < caught.value.retry_after <= 3600
    assert requests_logged(sandbox_control, surevoip_account, since) == []

    with pytest.raises(RateLimitedError) as caught:  # a fresh adapter learns it from the 429
        make_adapter().search_numbers()
    assert caught.value.status == 429 and 3590 < caught.value.retry_after <= 3600
