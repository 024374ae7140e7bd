"""The Simotel adapter against the sandbox emulator, over real HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

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
    ForwardSpec,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    SubscriberSpec,
    TransientError,
    TrunkSpec,
    UnsupportedError,
)
from portal.carriers.simotel import SimotelAdapter
from tests.carriers.sandbox_config import config_for


@pytest.fixture
def simotel_account(new_sandbox_account) -> dict:
    return new_sandbox_account("simotel")


@pytest.fixture
def make_adapter(simotel_account) -> Iterator[Callable[..., SimotelAdapter]]:
    opened: list[SimotelAdapter] = []

    def make(account: dict | None = None, **kwargs) -> SimotelAdapter:
        page_size = kwargs.pop("page_size", None)
        adapter = SimotelAdapter(config_for(account or simotel_account, **kwargs), page_size=page_size)
        opened.append(adapter)
        return adapter

    yield make
    for adapter in opened:
        adapter.close()


@pytest.fixture
def adapter(make_adapter) -> SimotelAdapter:
    return make_adapter()


@pytest.fixture
def carrier_state(sandbox_control, simotel_account) -> Callable[[], dict]:
    return lambda: sandbox_control.get(f"/_sandbox/accounts/{simotel_account['id']}/state").json()


@pytest.fixture
def configure_account(sandbox_control, simotel_account) -> Callable[..., None]:
    def configure(**config) -> None:
        response = sandbox_control.patch(f"/_sandbox/accounts/{simotel_account['id']}", json=config)
        assert response.status_code == 200, response.text

    return configure


def subscriber(username: str = "201", **fields) -> SubscriberSpec:
    defaults = {
        "password": "Sip-Pass-201",
        "display_name": "Reception",
        "caller_id": "+441632960001",
        "call_limit": 2,
    }
    return SubscriberSpec(username=username, **{**defaults, **fields})


def as_read_back(spec: SubscriberSpec) -> SubscriberSpec:
    """What a fetch returns for ``spec``: the password is never read back."""
    return dataclasses.replace(spec, password=None)


def trunk(name: str = "upstream", **fields) -> TrunkSpec:
    defaults = {
        "type": "ip",
        "host": "192.0.2.10",
        "allowed_ips": ["192.0.2.10", "198.51.100.0/24"],
        "codecs": ["g722", "alaw", "ulaw"],
        "customer_ref": "CUST-42",
    }
    return TrunkSpec(name=name, **{**defaults, **fields})


def stored(state: dict, kind: str, remote_id: str) -> dict:
    [obj] = [o for o in state[kind] if o["_id"] == remote_id]
    return obj


# ----------------------------------------------------------------- connection and auth
def test_registry_builds_the_adapter(simotel_account):
    with get_adapter("simotel", config_for(simotel_account)) as built:
        assert isinstance(built, SimotelAdapter)
        built.test_connection()


def test_wrong_password_is_an_authentication_error_without_the_secret(simotel_account, make_adapter):
    wrong = {**simotel_account, "settings": {**simotel_account["settings"], "password": "Wrong-Secret-XYZ"}}
    with pytest.raises(AuthenticationError) as caught:
        make_adapter(wrong).test_connection()
    assert caught.value.status == 401 and caught.value.message == "BasicAuth or ApiKey is invalid"
    assert "Wrong-Secret-XYZ" not in str(caught.value) and simotel_account["settings"]["api_key"] not in str(
        caught.value
    )


@pytest.mark.parametrize("mode", ["basic", "apikey"])
def test_auth_mode_setting_sends_only_that_credential(make_adapter, configure_account, mode):
    configure_account(auth_mode=mode)
    make_adapter(auth_mode=mode).test_connection()
    with pytest.raises(AuthenticationError, match="BasicAuth or ApiKey is missing"):
        make_adapter(auth_mode="apikey" if mode == "basic" else "basic").test_connection()


def test_address_not_allowed_is_an_authentication_error(adapter, configure_account):
    configure_account(allowed_ips=["192.0.2.200"])
    with pytest.raises(AuthenticationError, match="IP is not permitted") as caught:
        adapter.test_connection()
    assert caught.value.status == 403


def test_unknown_auth_mode_is_refused(simotel_account):
    with pytest.raises(PermanentError) as caught:
        SimotelAdapter(config_for(simotel_account, auth_mode="oauth"))
    assert caught.value.field == "auth_mode"


# ----------------------------------------------------------------- subscribers
def test_subscriber_round_trip(adapter, carrier_state):
    spec = subscriber()
    remote_id = adapter.create_subscriber(spec)
    assert adapter.fetch_subscriber(remote_id) == as_read_back(spec)
    user = stored(carrier_state(), "users", remote_id)
    assert user["number"] == "201" and user["secret"] == "Sip-Pass-201"
    assert user["cid_number"] == "00441632960001" and user["call_limit"] == "2" and user["active"] == "yes"


def test_subscriber_without_display_name_reads_back_empty(adapter):
    spec = subscriber("202", display_name="", caller_id="", call_limit=None)
    assert adapter.fetch_subscriber(adapter.create_subscriber(spec)) == as_read_back(spec)


def test_subscriber_update_keeps_the_password_unless_given(adapter, carrier_state):
    remote_id = adapter.create_subscriber(subscriber())
    changed = subscriber(display_name="Front desk", call_limit=None, status="suspended", password=None)
    adapter.update_subscriber(remote_id, changed)
    assert adapter.fetch_subscriber(remote_id) == changed
    assert stored(carrier_state(), "users", remote_id)["secret"] == "Sip-Pass-201"
    adapter.update_subscriber(remote_id, dataclasses.replace(changed, password="New-Pass-1"))
    assert stored(carrier_state(), "users", remote_id)["secret"] == "New-Pass-1"


def test_subscriber_delete(adapter):
    remote_id = adapter.create_subscriber(subscriber())
    adapter.delete_subscriber(remote_id)
    with pytest.raises(NotFoundError):
        adapter.fetch_subscriber(remote_id)
    with pytest.raises(NotFoundError):
        adapter.delete_subscriber(remote_id)
    with pytest.raises(NotFoundError):
        adapter.update_subscriber(remote_id, subscriber())


def test_find_and_duplicate_subscriber(adapter):
    remote_id = adapter.create_subscriber(subscriber("300"))
    adapter.create_subscriber(subscriber("3001"))
    assert adapter.find_subscriber(subscriber("300")) == remote_id
    assert adapter.find_subscriber(subscriber("30")) is None
    with pytest.raises(DuplicateError) as caught:
        adapter.create_subscriber(subscriber("300"))
    assert caught.value.message == "This number already exists"
    assert caught.value.remote_id == remote_id and caught.value.field == "username"


def test_validation_error_carries_the_carriers_message_and_field(adapter):
    with pytest.raises(PermanentError) as caught:
        adapter.create_subscriber(subscriber(password=None))
    assert caught.value.message == "Field 'secret':value is missing"
    assert caught.value.field == "password" and caught.value.status == 200


def test_non_digit_username_is_refused_before_sending(adapter, carrier_state):
    with pytest.raises(PermanentError) as caught:
        adapter.create_subscriber(subscriber("alice"))
    assert caught.value.field == "username" and carrier_state()["users"] == []


def test_another_accounts_subscriber_is_not_found(adapter, make_adapter, new_sandbox_account):
    other = make_adapter(new_sandbox_account("simotel"))
    foreign_id = other.create_subscriber(subscriber())
    with pytest.raises(NotFoundError):
        adapter.fetch_subscriber(foreign_id)
    with pytest.raises(NotFoundError):
        adapter.delete_subscriber(foreign_id)


def test_iter_subscribers_streams_pages(make_adapter, sandbox_control, simotel_account):
    paged = make_adapter(page_size=2)
    created = {paged.create_subscriber(subscriber(str(400 + i))): str(400 + i) for i in range(5)}
    assert {rid: spec.username for rid, spec in paged.iter_subscribers()} == created
    log = sandbox_control.get("/_sandbox/requests", params={"account": simotel_account["id"]}).json()
    searches = [r for r in log["requests"] if r["path"].endswith("pbx/users/search")]
    assert len(searches) == 3  # 2 + 2 + 1


@pytest.mark.parametrize(
    ("mode", "count", "searches"),
    [("list", 5, 3), ("list", 4, 3), ("ignored", 5, 1), ("ignored", 2, 2)],
    ids=["list-short-last-page", "list-full-last-page", "ignored-more-than-a-page", "ignored-exactly-a-page"],
)
def test_plain_list_searches_page_until_a_page_is_short(
    mode, count, searches, make_adapter, configure_account, sandbox_control, simotel_account
):
    """004 / notes-simotel.md 3: users search is documented unpaged (``data`` is a list). A server that
    honours start/count that way is read page by page; one that ignores them is read once."""
    paged = make_adapter(page_size=2)
    created = {paged.create_subscriber(subscriber(str(500 + i))): str(500 + i) for i in range(count)}
    configure_account(search_pagination=mode)
    since = sandbox_control.get("/_sandbox/requests", params={"account": simotel_account["id"]}).json()
    assert {rid: spec.username for rid, spec in paged.iter_subscribers()} == created  # all, no duplicates
    log = sandbox_control.get("/_sandbox/requests", params={"account": simotel_account["id"]}).json()
    new = log["requests"][len(since["requests"]) :]
    assert len([r for r in new if r["path"].endswith("pbx/users/search")]) == searches


# ----------------------------------------------------------------- forwards
def test_forwards_round_trip_and_clear(adapter, carrier_state):
    remote_id = adapter.create_subscriber(subscriber())
    forwards = [
        ForwardSpec("busy", destinations=[Destination("+441632960002")]),
        ForwardSpec("unavailable", destinations=[Destination("+989158315762")]),
    ]
    adapter.set_forwards("subscriber", remote_id, forwards)
    assert adapter.fetch_forwards("subscriber", remote_id) == forwards
    assert stored(carrier_state(), "users", remote_id)["forward_policy"] == {
        "All": "",
        "Busy": "00441632960002",
        "No Answer": "",
        "UnAvailable": "00989158315762",
    }
    adapter.set_forwards("subscriber", remote_id, [dataclasses.replace(forwards[0], enabled=False)])
    assert adapter.fetch_forwards("subscriber", remote_id) == []
    assert adapter.fetch_subscriber(remote_id) == as_read_back(subscriber())


@pytest.mark.parametrize(
    ("owner", "forwards", "reason"),
    [
        ("number", [ForwardSpec("busy", destinations=[Destination("+441632960002")])], "on a number"),
        (
            "subscriber",
            [ForwardSpec("busy", destinations=[Destination("+441632960002"), Destination("+441632960003")])],
            "at most 1 destination",
        ),
        ("subscriber", [ForwardSpec("busy", destinations=[Destination("sip:bob@example.com")])], "SIP"),
        (
            "subscriber",
            [ForwardSpec("busy", destinations=[Destination("+441632960002")])] * 2,
            "only once",
        ),
    ],
)
def test_forwards_simotel_cannot_hold(adapter, carrier_state, owner, forwards, reason):
    remote_id = adapter.create_subscriber(subscriber())
    with pytest.raises(UnsupportedError, match=reason):
        adapter.set_forwards(owner, remote_id, forwards)
    assert "forward_policy" not in stored(carrier_state(), "users", remote_id)


E164_NUMBERS = st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True)
FORWARD_SETS = st.dictionaries(st.sampled_from(FORWARD_TYPES), E164_NUMBERS, max_size=len(FORWARD_TYPES))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(targets=FORWARD_SETS)
def test_any_holdable_forward_set_survives_the_round_trip(shared_forwarding_user, targets):
    adapter, remote_id = shared_forwarding_user
    forwards = [ForwardSpec(type, destinations=[Destination(target)]) for type, target in targets.items()]
    adapter.set_forwards("subscriber", remote_id, forwards)
    by_type = sorted(adapter.fetch_forwards("subscriber", remote_id), key=lambda fwd: fwd.type)
    assert by_type == sorted(forwards, key=lambda fwd: fwd.type)


@pytest.fixture
def shared_forwarding_user(adapter) -> tuple[SimotelAdapter, str]:
    """One account and one user reused by every hypothesis example (they overwrite all forwards)."""
    return adapter, adapter.create_subscriber(subscriber())


# ----------------------------------------------------------------- trunks
def test_ip_trunk_round_trip(adapter, carrier_state):
    spec = trunk()
    created = adapter.create_trunk(spec)
    assert created.password is None
    assert adapter.fetch_trunk(created.remote_id) == spec
    raw = stored(carrier_state(), "trunks", created.remote_id)
    assert raw["allow"] == "g722,alaw,ulaw" and raw["disallow"] == "all"
    assert raw["deny"] == "0.0.0.0/0.0.0.0"
    assert raw["permit"] == "192.0.2.10/255.255.255.255,198.51.100.0/255.255.255.0"
    assert raw["register_string"] == "" and raw["description"] == "CUST-42"


def test_auth_trunk_password_shown_once_and_reset(adapter, carrier_state):
    created = adapter.create_trunk(trunk("registered", type="auth", allowed_ips=[]))
    assert created.password
    raw = stored(carrier_state(), "trunks", created.remote_id)
    assert raw["register_string"] == f"registered:{created.password}@192.0.2.10/registered"
    assert f"secret={created.password}" in raw["more_options"].splitlines()
    assert adapter.fetch_trunk(created.remote_id) == trunk("registered", type="auth", allowed_ips=[])
    new_password = adapter.reset_trunk_password(created.remote_id)
    assert new_password != created.password
    raw = stored(carrier_state(), "trunks", created.remote_id)
    assert raw["register_string"] == f"registered:{new_password}@192.0.2.10/registered"
    assert f"secret={new_password}" in raw["more_options"].splitlines()


def test_trunk_update_switches_type_and_fields(adapter, carrier_state):
    created = adapter.create_trunk(trunk("flip", type="auth"))
    changed = trunk(
        "flip", type="ip", codecs=["ulaw"], allowed_ips=["203.0.113.5"], enabled=False, host="203.0.113.5"
    )
    adapter.update_trunk(created.remote_id, changed)
    assert adapter.fetch_trunk(created.remote_id) == changed
    raw = stored(carrier_state(), "trunks", created.remote_id)
    assert raw["register_string"] == "" and "secret=" not in raw["more_options"]
    with pytest.raises(UnsupportedError):
        adapter.reset_trunk_password(created.remote_id)


def test_trunk_delete_find_and_duplicate(adapter):
    created = adapter.create_trunk(trunk())
    assert adapter.find_trunk(trunk()) == created.remote_id
    with pytest.raises(DuplicateError) as caught:
        adapter.create_trunk(trunk())
    assert caught.value.message == "This trunk already exists" and caught.value.remote_id == created.remote_id
    adapter.delete_trunk(created.remote_id)
    assert adapter.find_trunk(trunk()) is None
    with pytest.raises(NotFoundError):
        adapter.fetch_trunk(created.remote_id)


def test_trunk_fields_simotel_cannot_hold(adapter):
    with pytest.raises(UnsupportedError, match="channels_in"):
        adapter.create_trunk(trunk(channels_in=10))
    with pytest.raises(PermanentError) as caught:
        adapter.create_trunk(trunk(type="auth", host=""))
    assert caught.value.field == "host"


def test_iter_trunks_streams_pages(make_adapter):
    paged = make_adapter(page_size=2)
    names = {paged.create_trunk(trunk(f"t{i}")).remote_id: f"t{i}" for i in range(5)}
    assert {rid: spec.name for rid, spec in paged.iter_trunks()} == names


# ----------------------------------------------------------------- injected faults
def test_server_error_is_transient(adapter, simotel_account, sandbox_faults):
    sandbox_faults(
        {"carrier": "simotel", "account": simotel_account["id"], "fail_next": {"count": 1, "status": 503}}
    )
    with pytest.raises(TransientError) as caught:
        adapter.test_connection()
    assert caught.value.status == 503 and caught.value.message  # the carrier's words, shown as they are
    adapter.test_connection()


def test_rate_limit_carries_the_wait(adapter, simotel_account, sandbox_faults):
    sandbox_faults(
        {
            "carrier": "simotel",
            "account": simotel_account["id"],
            "rate_limit": {"requests": 0, "window_seconds": 42},
        }
    )
    with pytest.raises(RateLimitedError) as caught:
        adapter.create_subscriber(subscriber())
    assert 40 <= caught.value.retry_after <= 42 and caught.value.status == 429


def test_unreachable_carrier_is_transient():
    credentials = {"password": "x", "api_key": "y"}
    config = AccountConfig(base_url="http://127.0.0.1:9/api/v4/", credentials=credentials)
    with SimotelAdapter(config) as unreachable, pytest.raises(TransientError):
        unreachable.test_connection()


def test_client_sends_json_posts_with_the_user_agent(adapter, sandbox_control, simotel_account):
    adapter.test_connection()
    log = sandbox_control.get("/_sandbox/requests", params={"account": simotel_account["id"]}).json()
    [ping] = log["requests"]
    assert ping["method"] == "POST" and ping["path"].endswith("/setting/ping/act") and ping["body"] == "{}"
    assert adapter.client.http.headers["User-Agent"].startswith("voip-reseller-portal/")
