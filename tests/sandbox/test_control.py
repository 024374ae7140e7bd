"""The sandbox core: its control API, every fault knob, the request log, reset and the admin token.

Everything is raw HTTP against a real sandbox process: the session one (``sandbox_url``,
maybe an external one at ``SANDBOX_URL``) for what leaves other tests alone, and a
private process started here for what would not (reset empties everything, the admin
token is fixed when the process starts).

Each fault is set for a fresh account where the test allows it, so that tests of other
carriers or accounts never see it; the ``sandbox_faults`` fixture clears all faults after
every test.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from portal.sandbox import control
from portal.sandbox.app import OPEN_CONTROL_API_WARNING, create_app
from portal.sandbox.probes import PROBES, basic_login, probe_for
from portal.sandbox.process import PROJECT_ROOT, SandboxProcess, free_port, wait_until_up

CARRIERS = ("simwood", "surevoip", "sipwise", "simotel")

SETTINGS_KEYS = {
    "simwood": {"account", "api_user", "api_key"},
    "surevoip": {"partner_id", "username", "password"},
    "sipwise": {"reseller_id", "username", "password", "billing_profile_id", "domain"},
    "simotel": {"username", "password", "api_key"},
}

LOG_FIELDS = {
    "seq", "time", "carrier", "account", "method", "path", "query", "headers", "status", "body", "duration_ms",
}  # fmt: skip


# --------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """A plain client for carrier requests (each request brings its own credentials)."""
    with httpx.Client(timeout=10) as client:
        yield client


def probe(http: httpx.Client, account: dict, timeout: float = 10.0) -> httpx.Response:
    """Send the account's carrier its cheapest authenticated request (200 when all is well)."""
    request = probe_for(account)
    return http.request(request.method, request.url, headers=request.headers, content=request.body, timeout=timeout)


def statuses(http: httpx.Client, account: dict, count: int) -> list[int]:
    return [probe(http, account).status_code for _ in range(count)]


def timed_probe(http: httpx.Client, account: dict) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = probe(http, account)
    return response, time.perf_counter() - started


def logged(control: httpx.Client, **filters: object) -> list[dict]:
    response = control.get("/_sandbox/requests", params=filters)
    assert response.status_code == 200, response.text
    return response.json()["requests"]


def faults_of(control: httpx.Client, account_id: str) -> list[dict]:
    return [f for f in control.get("/_sandbox/faults").json()["faults"] if f["account"] == account_id]


@pytest.fixture
def private_sandbox() -> Iterator[Callable[..., SandboxProcess]]:
    """Factory: a sandbox process of this test's own (stopped after the test)."""
    started: list[SandboxProcess] = []

    def start(**options) -> SandboxProcess:
        sandbox = SandboxProcess(**options).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


def create_account(control: httpx.Client, carrier: str) -> dict:
    response = control.post("/_sandbox/accounts", json={"carrier": carrier})
    assert response.status_code == 201, response.text
    return response.json()


def create_sipwise_contact(http: httpx.Client, account: dict, email: str) -> str:
    """A new Sipwise customer contact; its path under the account's base URL."""
    created = http.post(account["base_url"] + "customercontacts/", json={"email": email}, auth=basic_login(account))
    assert created.status_code == 201, created.text
    return created.headers["Location"].removeprefix("/sipwise/api/")


def allocate_simwood_number(http: httpx.Client, account: dict) -> str:
    """Allocate the cheapest available Simwood number; its path under the account's base URL."""
    numbers = f"numbers/{account['settings']['account']}"
    [offer] = http.get(f"{account['base_url']}{numbers}/available/standard/1", auth=basic_login(account)).json()
    path = f"{numbers}/allocated/{offer['country_code']}{offer['number']}"
    assert http.put(account["base_url"] + path, auth=basic_login(account)).status_code == 200
    return path


# ------------------------------------------------------------------------- accounts
@pytest.mark.parametrize("carrier", CARRIERS)
def test_new_account_has_exactly_the_settings_its_carrier_needs(carrier, sandbox_url, sandbox_control, http):
    response = sandbox_control.post("/_sandbox/accounts", json={"carrier": carrier})
    assert response.status_code == 201
    account = response.json()
    assert {"id", "carrier", "base_url", "settings"} <= set(account)
    assert account["carrier"] == carrier
    assert set(account["settings"]) == SETTINGS_KEYS[carrier]
    assert account["base_url"].startswith(sandbox_url + "/") and account["base_url"].endswith("/")
    assert probe(http, account).status_code == 200


@pytest.mark.parametrize("carrier", CARRIERS)
def test_every_account_gets_fresh_credentials(carrier, new_sandbox_account, http):
    first, second = new_sandbox_account(carrier), new_sandbox_account(carrier)
    assert first["id"] != second["id"]
    assert all(first["settings"][key] != second["settings"][key] for key in SETTINGS_KEYS[carrier])
    # the first account's login with the second account's secret is refused
    _, _, (_, password_key) = PROBES[carrier]
    crossed = {**first, "settings": {**first["settings"], password_key: second["settings"][password_key]}}
    assert probe(http, crossed).status_code in (401, 403)


def test_carriers_that_sell_numbers_have_some_in_stock(new_sandbox_account, http):
    simwood = new_sandbox_account("simwood")
    login = basic_login(simwood)
    available = http.get(f"{simwood['base_url']}numbers/{simwood['settings']['account']}/available/all/10", auth=login)
    assert available.status_code == 200 and len(available.json()) >= 1

    surevoip = new_sandbox_account("surevoip")
    login = basic_login(surevoip)
    search = http.get(f"{surevoip['base_url']}numbers", params={"hypermedia": "no"}, auth=login)
    assert search.status_code == 200 and int(search.json()["total_entries"]) >= 1


@pytest.mark.parametrize(
    "body",
    [{"carrier": "bt"}, {}, {"carrier": None}],
    ids=["unknown carrier", "no carrier", "null carrier"],
)
def test_account_needs_a_known_carrier(body, sandbox_control):
    response = sandbox_control.post("/_sandbox/accounts", json=body)
    assert response.status_code == 400
    assert "carrier must be one of" in response.json()["error"]


def test_account_body_must_be_a_json_object(sandbox_control):
    not_json = sandbox_control.post("/_sandbox/accounts", content=b"carrier=simwood")
    assert not_json.status_code == 400 and not_json.json() == {"error": "body is not valid JSON"}
    a_list = sandbox_control.post("/_sandbox/accounts", json=["simwood"])
    assert a_list.status_code == 400 and a_list.json() == {"error": "body must be a JSON object"}


def test_account_can_be_read_listed_and_deleted(new_sandbox_account, sandbox_control, http):
    simwood, sipwise = new_sandbox_account("simwood"), new_sandbox_account("sipwise")
    shown = sandbox_control.get(f"/_sandbox/accounts/{simwood['id']}")
    assert shown.status_code == 200 and shown.json()["settings"] == simwood["settings"]

    listed = sandbox_control.get("/_sandbox/accounts", params={"carrier": "simwood"}).json()["accounts"]
    listed_ids = {a["id"] for a in listed}
    assert simwood["id"] in listed_ids and sipwise["id"] not in listed_ids
    assert {a["carrier"] for a in listed} == {"simwood"}

    assert sandbox_control.delete(f"/_sandbox/accounts/{simwood['id']}").status_code == 204
    assert sandbox_control.get(f"/_sandbox/accounts/{simwood['id']}").status_code == 404
    assert probe(http, simwood).status_code == 401
    assert probe(http, sipwise).status_code == 200


def test_state_shows_what_the_account_holds(new_sandbox_account, sandbox_control, http):
    account = new_sandbox_account("simwood")
    before = sandbox_control.get(f"/_sandbox/accounts/{account['id']}/state")
    assert before.status_code == 200 and before.json()["numbers"] == {}

    number = allocate_simwood_number(http, account).rsplit("/", 1)[1]
    after = sandbox_control.get(f"/_sandbox/accounts/{account['id']}/state").json()
    assert list(after["numbers"]) == [number]
    assert after["account"] == account["settings"]["account"]


def test_state_of_an_unknown_account_is_404(sandbox_control):
    response = sandbox_control.get("/_sandbox/accounts/nosuchaccount/state")
    assert response.status_code == 404 and response.json() == {"error": "no such sandbox account"}


def test_patch_sets_a_simotel_allow_list_and_auth_mode(new_sandbox_account, sandbox_control, http):
    account = new_sandbox_account("simotel")
    url = f"/_sandbox/accounts/{account['id']}"

    patched = sandbox_control.patch(url, json={"allowed_ips": ["192.0.2.1"]})
    assert patched.status_code == 200 and patched.json()["config"]["allowed_ips"] == ["192.0.2.1"]
    refused = probe(http, account)
    assert refused.status_code == 403 and refused.json()["message"] == "IP is not permitted"

    sandbox_control.patch(url, json={"allowed_ips": ["192.0.2.1", "127.0.0.1"], "auth_mode": "apikey"})
    config = sandbox_control.get(url).json()["config"]
    assert config == {"allowed_ips": ["192.0.2.1", "127.0.0.1"], "auth_mode": "apikey"}
    ping = account["base_url"] + "setting/ping/act"
    key_only = http.post(ping, json={}, headers={"X-APIKEY": account["settings"]["api_key"]})
    assert key_only.status_code == 200 and key_only.json()["success"] == 1
    basic_only = http.post(ping, json={}, auth=(account["settings"]["username"], account["settings"]["password"]))
    assert basic_only.status_code == 401

    sandbox_control.patch(url, json={"allowed_ips": [], "auth_mode": "both"})
    assert probe(http, account).status_code == 200


@pytest.mark.parametrize(
    "body, message",
    [
        ({"auth_mode": "oauth"}, "auth_mode must be one of: basic, apikey, both"),
        ({"allowed_ips": "127.0.0.1"}, "allowed_ips must be a list of IP addresses"),
        ({"allowed_ips": ["127.0.0.1", "not-an-address"]}, "allowed_ips must be a list of IP addresses"),
        ({"allowed_ips": [2130706433]}, "allowed_ips must be a list of IP addresses"),
    ],
)
def test_patch_refuses_bad_values_and_keeps_the_config(body, message, new_sandbox_account, sandbox_control):
    account = new_sandbox_account("simotel")
    response = sandbox_control.patch(f"/_sandbox/accounts/{account['id']}", json=body)
    assert response.status_code == 400 and response.json() == {"error": message}
    assert sandbox_control.get(f"/_sandbox/accounts/{account['id']}").json()["config"] == {}


@pytest.mark.parametrize(
    "carrier, body",
    [
        ("simwood", {"config_error_status": "abc"}),
        ("simwood", {"config_error_status": 302}),
        ("simwood", {"report_ready_seconds": -1}),
        ("simwood", {"report_expiry_seconds": 0}),
        ("surevoip", {"rate_limit_per_hour": "lots"}),
        ("surevoip", {"rate_limit_per_hour": 2.5}),
        ("surevoip", {"rate_limit_window_secs": 0}),
        ("surevoip", {"rate_limit_window_secs": True}),
        ("simotel", {"auth_mode": None, "allowed_ips": "127.0.0.1"}),
        ("sipwise", {"report_ready_seconds": 1}),
        ("simwood", {"auth_mode": "basic"}),
    ],
)
def test_patch_checks_every_knob_and_names_the_bad_one(carrier, body, new_sandbox_account, sandbox_control, http):
    """Issue #16: a knob the emulator cannot use is refused (400 naming it), not stored to break the account."""
    account = new_sandbox_account(carrier)
    response = sandbox_control.patch(f"/_sandbox/accounts/{account['id']}", json=body)
    assert response.status_code == 400
    named = [key for key in body if body[key] is not None]
    assert any(f"{key}" in response.json()["error"] for key in named), response.text
    assert sandbox_control.get(f"/_sandbox/accounts/{account['id']}").json()["config"] == {}
    assert probe(http, account).status_code == 200


def test_patch_accepts_good_knobs_and_null_restores_the_default(new_sandbox_account, sandbox_control):
    account = new_sandbox_account("simwood")
    url = f"/_sandbox/accounts/{account['id']}"
    good = {"config_error_status": 200, "report_ready_seconds": 0, "report_expiry_seconds": 1.5}
    assert sandbox_control.patch(url, json=good).json()["config"] == good
    assert sandbox_control.patch(url, json={"config_error_status": None}).json()["config"] == {
        "report_ready_seconds": 0, "report_expiry_seconds": 1.5,
    }  # fmt: skip


def test_patch_of_an_unknown_account_is_404(sandbox_control):
    assert sandbox_control.patch("/_sandbox/accounts/nosuchaccount", json={"auth_mode": "basic"}).status_code == 404


# ---------------------------------------------------------------------- request log
def test_log_entry_has_every_field(new_sandbox_account, sandbox_control, http):
    account = new_sandbox_account("simotel")
    settings = account["settings"]
    body = b'{"hello": "log"}'
    response = http.post(
        account["base_url"] + "setting/ping/act?via=test",
        content=body,
        headers={"Content-Type": "application/json", "X-APIKEY": settings["api_key"]},
        auth=(settings["username"], settings["password"]),
    )
    assert response.status_code == 200
    [entry] = logged(sandbox_control, account=account["id"])
    assert set(entry) == LOG_FIELDS
    assert entry["carrier"] == "simotel" and entry["account"] == account["id"]
    assert (entry["method"], entry["path"], entry["query"]) == ("POST", "/simotel/api/v4/setting/ping/act", "via=test")
    assert entry["status"] == 200 and entry["body"] == body.decode()
    assert abs(entry["time"] - time.time()) < 60 and 0 < entry["duration_ms"] < 10_000
    assert "api_key" not in str(entry) and settings["password"] not in str(entry)


# Secrets a client sends, by carrier: (method, path under base_url, query, JSON or form body, the secrets).
def _secret_requests(account: dict, secret: str) -> list[tuple[str, str, dict, object]]:
    carrier = account["carrier"]
    if carrier == "sipwise":
        return [
            ("POST", "subscribers/", {}, {"username": "u1", "password": secret, "webpassword": secret}),
            ("PATCH", "subscribers/1", {}, [{"op": "replace", "path": "/password", "value": secret}]),
            ("PUT", "subscriberpreferences/1", {}, {"block_out_override_pin": secret, "cli": "4411"}),
        ]
    if carrier == "simotel":
        return [
            ("POST", "pbx/users/add", {}, {"number": "201", "secret": secret}),
            ("POST", "pbx/trunks/add", {}, {"name": "t1", "register_string": f"t1:{secret}@pbx.example.com/t1",
                                            "more_options": f"username=t1\nsecret={secret}\nfromuser=t1"}),
        ]  # fmt: skip
    if carrier == "surevoip":
        return [
            ("POST", "customers", {"password": secret}, {"firstname": "A", "password": secret, "sip_password": secret}),
        ]
    return [  # simwood: a form body and a query string
        ("PUT", f"voice/{account['settings']['account']}/trunks/{account['settings']['account']}-T1",
         {"api_key": secret}, f"type=auth&pass={secret}"),
    ]  # fmt: skip


@pytest.mark.parametrize("carrier", CARRIERS)
def test_log_masks_every_credential(carrier, new_sandbox_account, sandbox_control, http):
    """Hardening #11: the request log never holds a password, key or token, sent any way."""
    account = new_sandbox_account(carrier)
    secret = f"S3cret-{secrets.token_hex(8)}"
    login = probe_for(account)
    for method, path, query, body in _secret_requests(account, secret):
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        media = "application/x-www-form-urlencoded" if isinstance(body, str) else "application/json"
        if method == "PATCH":
            media = "application/json-patch+json"
        http.request(
            method, account["base_url"] + path, params=query, content=content,
            headers={**login.headers, "Content-Type": media},
        )  # fmt: skip
    assert probe(http, account).status_code == 200
    log = sandbox_control.get("/_sandbox/requests", params={"account": account["id"]})
    entries = log.json()["requests"]
    assert len(entries) == len(_secret_requests(account, secret)) + 1
    sent_credentials = [login.headers["Authorization"].split(" ")[1], login.headers.get("X-APIKEY", secret)]
    secret_settings = [value for key, value in account["settings"].items() if key in ("password", "api_key")]
    for credential in (secret, *sent_credentials, *secret_settings):
        assert credential not in log.text
    assert all(entry["headers"]["authorization"] == "Basic *****" for entry in entries)
    if carrier == "simotel":
        assert all(entry["headers"]["x-apikey"] == "*****" for entry in entries)
    assert "*****" in "".join(entry["body"] + entry["query"] for entry in entries[:-1])
    assert all(entry["headers"]["content-type"] for entry in entries[:-1])  # other headers are kept as sent


def test_log_filters_by_carrier_account_and_since(new_sandbox_account, sandbox_control, http):
    first, second, other = (new_sandbox_account(c) for c in ("sipwise", "sipwise", "simwood"))
    for account in (first, second, other):
        assert probe(http, account).status_code == 200
    [first_entry] = logged(sandbox_control, account=first["id"])
    since = first_entry["time"]

    by_account = logged(sandbox_control, account=second["id"])
    assert [e["account"] for e in by_account] == [second["id"]]
    by_carrier = logged(sandbox_control, carrier="sipwise", since=since)
    assert {e["account"] for e in by_carrier} >= {first["id"], second["id"]}
    assert {e["carrier"] for e in by_carrier} == {"sipwise"}

    probe(http, first)
    later = logged(sandbox_control, account=first["id"], since=first_entry["time"] + 1e-6)
    assert len(later) == 1 and later[0]["seq"] > first_entry["seq"]
    assert len(logged(sandbox_control, account=first["id"], since=since)) == 2


def test_log_holds_only_carrier_traffic(new_sandbox_account, sandbox_control, http):
    account = new_sandbox_account("simwood")
    probe(http, account)
    [entry] = logged(sandbox_control, account=account["id"])
    sandbox_control.get("/_sandbox/faults")
    sandbox_control.get(f"/_sandbox/accounts/{account['id']}/state")
    recent = logged(sandbox_control, since=entry["time"])
    assert recent and not [e for e in recent if e["path"].startswith("/_sandbox")]


def test_log_keeps_the_body_of_a_request_a_fault_refused(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("simotel")
    sandbox_faults({"account": account["id"], "fail_next": {"count": 1, "status": 502}})
    settings = account["settings"]
    sent = {"refused": "but logged"}
    response = http.post(
        account["base_url"] + "setting/ping/act",
        json=sent,
        headers={"X-APIKEY": settings["api_key"]},
        auth=(settings["username"], settings["password"]),
    )
    assert response.status_code == 502
    [entry] = logged(sandbox_control, account=account["id"])
    assert entry["status"] == 502 and json.loads(entry["body"]) == sent


def test_log_records_requests_that_name_no_account(sandbox_url, sandbox_control, http):
    marker = f"marker={secrets.token_hex(8)}"
    response = http.get(f"{sandbox_url}/sipwise/api/customers/?{marker}", auth=("nobody", "nothing"))
    assert response.status_code == 401
    [entry] = [e for e in logged(sandbox_control, carrier="sipwise") if e["query"] == marker]
    assert entry["account"] is None and entry["status"] == 401 and entry["path"] == "/sipwise/api/customers/"


def test_log_refuses_a_since_that_is_not_a_time(sandbox_control):
    response = sandbox_control.get("/_sandbox/requests", params={"since": "yesterday"})
    assert response.status_code == 400 and response.json() == {"error": "since must be a Unix timestamp"}


# -------------------------------------------------------------------- fault: latency
def test_latency_slows_every_request_until_cleared(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("sipwise")
    sandbox_faults({"account": account["id"], "latency": {"fixed_ms": 300, "jitter_ms": 0}})
    response, elapsed = timed_probe(http, account)
    assert response.status_code == 200 and elapsed >= 0.29
    assert logged(sandbox_control, account=account["id"])[0]["duration_ms"] >= 290

    sandbox_control.delete("/_sandbox/faults")
    response, elapsed = timed_probe(http, account)
    assert response.status_code == 200 and elapsed < 0.15


def test_latency_jitter_spreads_the_delay(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("simwood")
    sandbox_faults({"account": account["id"], "latency": {"fixed_ms": 60, "jitter_ms": 50}})
    assert statuses(http, account, 10) == [200] * 10
    durations = [e["duration_ms"] for e in logged(sandbox_control, account=account["id"])]
    assert min(durations) >= 9.5  # never below fixed - jitter
    # ten uniform draws over 100 ms all within 20 ms of each other: about 4 in a million
    assert max(durations) - min(durations) > 20


# --------------------------------------------------------------------- fault: errors
def test_error_rate_one_answers_only_the_listed_statuses(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("surevoip")
    sandbox_faults({"account": account["id"], "errors": {"rate": 1.0, "statuses": [500, 502, 503]}})
    seen = statuses(http, account, 15)
    assert set(seen) <= {500, 502, 503}
    assert len(set(seen)) > 1  # drawn, not fixed: all 15 alike has odds of 1 in 5 million

    sandbox_control.delete("/_sandbox/faults")
    assert statuses(http, account, 3) == [200] * 3


def test_error_rate_is_a_probability(new_sandbox_account, sandbox_faults, http):
    account = new_sandbox_account("simwood")
    sandbox_faults({"account": account["id"], "errors": {"rate": 0.5, "statuses": [500]}})
    failures = statuses(http, account, 200).count(500)
    assert 60 <= failures <= 140  # 5.6 standard deviations either side of 100


def test_error_rate_zero_lets_everything_through(new_sandbox_account, sandbox_faults, http):
    account = new_sandbox_account("simotel")
    sandbox_faults({"account": account["id"], "errors": {"rate": 0, "statuses": [500]}})
    assert statuses(http, account, 5) == [200] * 5


# --------------------------------------------------------------------- fault: outage
def test_outage_503_fails_fast_and_ends_by_itself(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("sipwise")
    set_at = time.monotonic()
    sandbox_faults({"account": account["id"], "outage": {"seconds": 1}})
    response, elapsed = timed_probe(http, account)
    assert response.status_code == 503 and elapsed < 0.5
    assert 0 < faults_of(sandbox_control, account["id"])[0]["outage"]["remaining_seconds"] <= 1

    deadline = time.monotonic() + 5
    while probe(http, account).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert probe(http, account).status_code == 200
    assert time.monotonic() - set_at >= 0.95


def test_outage_503_is_lifted_by_clearing(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("simwood")
    sandbox_faults({"account": account["id"], "outage": {"seconds": 60, "mode": "503"}})
    assert statuses(http, account, 3) == [503] * 3
    sandbox_control.delete("/_sandbox/faults")
    assert statuses(http, account, 2) == [200] * 2


def test_outage_hang_makes_a_client_time_out_until_cleared(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("surevoip")
    sandbox_faults({"account": account["id"], "outage": {"seconds": 2, "mode": "hang"}})
    with pytest.raises(httpx.ReadTimeout):
        probe(http, account, timeout=0.3)
    sandbox_control.delete("/_sandbox/faults")
    response, elapsed = timed_probe(http, account)
    assert response.status_code == 200 and elapsed < 0.5


def test_outage_hang_answers_503_when_it_ends(new_sandbox_account, sandbox_faults, http):
    account = new_sandbox_account("simotel")
    sandbox_faults({"account": account["id"], "outage": {"seconds": 1, "mode": "hang"}})
    response, elapsed = timed_probe(http, account)
    assert response.status_code == 503 and elapsed >= 0.9
    assert probe(http, account).status_code == 200


def test_clearing_releases_requests_held_by_a_hang(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("sipwise")
    sandbox_faults({"account": account["id"], "outage": {"seconds": 60, "mode": "hang"}})
    with ThreadPoolExecutor(max_workers=1) as pool, httpx.Client(timeout=10) as own_client:
        held = pool.submit(timed_probe, own_client, account)
        time.sleep(0.3)
        assert not held.done()
        sandbox_control.delete("/_sandbox/faults")
        response, elapsed = held.result(timeout=5)
    assert response.status_code == 503 and elapsed < 5


# ------------------------------------------------------------------ fault: fail_next
def test_fail_next_fails_exactly_n_requests(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("simwood")
    sandbox_faults({"account": account["id"], "fail_next": {"count": 3, "status": 503}})
    assert statuses(http, account, 5) == [503, 503, 503, 200, 200]
    assert faults_of(sandbox_control, account["id"])[0]["fail_next"] == {"count": 3, "status": 503, "remaining": 0}


def test_fail_next_is_lifted_by_clearing(new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account("surevoip")
    sandbox_faults({"account": account["id"], "fail_next": {"count": 5, "status": 500}})
    assert probe(http, account).status_code == 500
    sandbox_control.delete("/_sandbox/faults")
    assert statuses(http, account, 2) == [200] * 2


# ----------------------------------------------------------------- fault: rate_limit
CARRIER_429_HEADERS = {"surevoip": {"X-SureVoIP-API-RateLimit-Remaining": "0"}}


@pytest.mark.parametrize("carrier", CARRIERS)
def test_rate_limit_answers_429_with_retry_after(carrier, new_sandbox_account, sandbox_control, sandbox_faults, http):
    account = new_sandbox_account(carrier)
    sandbox_faults({"account": account["id"], "rate_limit": {"requests": 3, "window_seconds": 60}})
    assert statuses(http, account, 3) == [200] * 3
    limited = probe(http, account)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    for header, value in CARRIER_429_HEADERS.get(carrier, {}).items():
        assert limited.headers[header] == value

    sandbox_control.delete("/_sandbox/faults")
    assert statuses(http, account, 4) == [200] * 4


def test_rate_limit_window_reopens(new_sandbox_account, sandbox_faults, http):
    account = new_sandbox_account("sipwise")
    sandbox_faults({"account": account["id"], "rate_limit": {"requests": 1, "window_seconds": 0.5}})
    assert statuses(http, account, 2) == [200, 429]
    time.sleep(0.55)
    assert statuses(http, account, 2) == [200, 429]


def test_rate_limit_counts_each_account_on_its_own(new_sandbox_account, sandbox_faults, http):
    first, second = new_sandbox_account("simwood"), new_sandbox_account("simwood")
    sandbox_faults({"carrier": "simwood", "rate_limit": {"requests": 2, "window_seconds": 60}})
    assert statuses(http, first, 3) == [200, 200, 429]
    assert statuses(http, second, 3) == [200, 200, 429]


# -------------------------------------------------------------------- fault: scoping
def test_account_fault_leaves_other_accounts_alone(new_sandbox_account, sandbox_faults, http):
    broken, healthy = new_sandbox_account("sipwise"), new_sandbox_account("sipwise")
    sandbox_faults({"carrier": "sipwise", "account": broken["id"], "errors": {"rate": 1, "statuses": [502]}})
    assert statuses(http, broken, 2) == [502, 502]
    assert statuses(http, healthy, 2) == [200, 200]


def test_carrier_fault_leaves_other_carriers_alone(new_sandbox_account, sandbox_control, sandbox_faults, http):
    simwood = [new_sandbox_account("simwood") for _ in range(2)]
    others = [new_sandbox_account(c) for c in ("surevoip", "sipwise", "simotel")]
    sandbox_faults({"carrier": "simwood", "errors": {"rate": 1, "statuses": [500]}})
    assert [probe(http, a).status_code for a in simwood] == [500, 500]
    assert [probe(http, a).status_code for a in others] == [200, 200, 200]
    sandbox_control.delete("/_sandbox/faults")
    assert [probe(http, a).status_code for a in simwood] == [200, 200]


def test_global_fault_reaches_every_carrier(new_sandbox_account, sandbox_control, sandbox_faults, http):
    accounts = [new_sandbox_account(c) for c in CARRIERS]
    sandbox_faults({"errors": {"rate": 1, "statuses": [504]}})
    assert [probe(http, a).status_code for a in accounts] == [504] * 4
    sandbox_control.delete("/_sandbox/faults")
    assert [probe(http, a).status_code for a in accounts] == [200] * 4


def test_faults_of_every_matching_scope_add_up(new_sandbox_account, sandbox_faults, http):
    account = new_sandbox_account("simotel")
    sandbox_faults({"carrier": "simotel", "latency": {"fixed_ms": 150}})
    sandbox_faults({"account": account["id"], "fail_next": {"count": 1, "status": 500}})
    response, elapsed = timed_probe(http, account)
    assert response.status_code == 500 and elapsed >= 0.14


# --------------------------------------------------------------- fault: the control API
def test_put_replaces_the_faults_of_its_scope_and_an_empty_one_removes_them(
    new_sandbox_account, sandbox_control, sandbox_faults, http
):
    account = new_sandbox_account("sipwise")
    sandbox_faults({"account": account["id"], "latency": {"fixed_ms": 300}})
    answer = sandbox_faults({"account": account["id"], "fail_next": {"count": 1}})
    [mine] = [f for f in answer["faults"] if f["account"] == account["id"]]
    assert mine["carrier"] == "sipwise"  # taken from the account
    assert "latency" not in mine and mine["fail_next"] == {"count": 1, "status": 503, "remaining": 1}

    sandbox_faults({"account": account["id"]})
    assert faults_of(sandbox_control, account["id"]) == []
    response, elapsed = timed_probe(http, account)
    assert response.status_code == 200 and elapsed < 0.25


def test_delete_clears_every_scope(new_sandbox_account, sandbox_control, sandbox_faults):
    account = new_sandbox_account("simwood")
    sandbox_faults({"errors": {"rate": 0}})
    sandbox_faults({"carrier": "sipwise", "latency": {"fixed_ms": 1}})
    sandbox_faults({"account": account["id"], "fail_next": {"count": 1}})
    assert len(sandbox_control.get("/_sandbox/faults").json()["faults"]) >= 3
    cleared = sandbox_control.delete("/_sandbox/faults")
    assert cleared.status_code == 200 and cleared.json() == {"faults": []}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"slowness": {}}, "unknown keys: slowness"),
        ({"carrier": "bt", "latency": {"fixed_ms": 5}}, "unknown carrier: bt"),
        ({"account": "nosuchaccount", "latency": {"fixed_ms": 5}}, "no such sandbox account: nosuchaccount"),
        ({"latency": 50}, "latency must be an object"),
        ({"latency": {"fixed": 50}}, "unknown keys in latency: fixed"),
        ({"latency": {"fixed_ms": -1}}, "latency.fixed_ms must be at least 0"),
        ({"latency": {"fixed_ms": "50"}}, "latency.fixed_ms must be a number"),
        ({"errors": {"statuses": [500]}}, "errors.rate is required"),
        ({"errors": {"rate": 1.5}}, "errors.rate must be between 0 and 1"),
        ({"errors": {"rate": 1, "statuses": [200]}}, "errors.statuses must be an HTTP error status (400-599)"),
        ({"errors": {"rate": 1, "statuses": []}}, "errors.statuses must be a non-empty list of HTTP error statuses"),
        ({"outage": {"seconds": 5, "mode": "slow"}}, "outage.mode must be '503' or 'hang'"),
        ({"outage": {"mode": "hang"}}, "outage.seconds is required"),
        ({"outage": {"seconds": 0}}, "outage.seconds must be more than 0"),
        ({"fail_next": {"count": -1}}, "fail_next.count must be a whole number, 0 or more"),
        ({"fail_next": {"count": 2.5}}, "fail_next.count must be a whole number, 0 or more"),
        ({"fail_next": {"count": 1, "status": True}}, "fail_next.status must be an HTTP error status (400-599)"),
        ({"rate_limit": {"requests": 5, "window_seconds": 0}}, "rate_limit.window_seconds must be more than 0"),
    ],
)
def test_bad_fault_spec_is_refused_and_changes_nothing(spec, message, sandbox_control, sandbox_faults):
    before = sandbox_control.get("/_sandbox/faults").json()
    response = sandbox_control.put("/_sandbox/faults", json=spec)
    assert response.status_code == 400 and response.json() == {"error": message}
    assert sandbox_control.get("/_sandbox/faults").json() == before


def test_fault_spec_refuses_infinite_numbers(sandbox_control):
    # Python's JSON parser takes the non-standard Infinity: an endless sleep must not get in.
    response = sandbox_control.put("/_sandbox/faults", content=b'{"latency": {"fixed_ms": Infinity}}')
    assert response.status_code == 400 and response.json() == {"error": "latency.fixed_ms must be a number"}


def test_account_fault_must_name_the_accounts_own_carrier(new_sandbox_account, sandbox_control):
    account = new_sandbox_account("simwood")
    response = sandbox_control.put(
        "/_sandbox/faults", json={"carrier": "sipwise", "account": account["id"], "fail_next": {"count": 1}}
    )
    assert response.status_code == 400
    assert response.json() == {"error": f"account {account['id']} is a simwood account, not sipwise"}


# ------------------------------------------------------- reset and the admin token (own process)
def test_reset_empties_accounts_faults_and_log(private_sandbox, http):
    sandbox = private_sandbox()
    with httpx.Client(base_url=sandbox.url, timeout=10) as control:
        accounts = [create_account(control, c) for c in CARRIERS]
        for account in accounts:
            assert probe(http, account).status_code == 200
        assert control.put("/_sandbox/faults", json={"latency": {"fixed_ms": 1}}).status_code == 200

        assert control.post("/_sandbox/reset").status_code == 204
        assert control.get("/_sandbox/accounts").json() == {"accounts": []}
        assert control.get("/_sandbox/faults").json() == {"faults": []}
        assert control.get("/_sandbox/requests").json() == {"requests": []}
        assert control.get(f"/_sandbox/accounts/{accounts[0]['id']}/state").status_code == 404
        assert [probe(http, a).status_code for a in accounts] == [401, 401, 401, 401]

        fresh = create_account(control, "simwood")
        assert probe(http, fresh).status_code == 200


GUARDED_CALLS = [
    ("POST", "/_sandbox/accounts"),
    ("GET", "/_sandbox/accounts"),
    ("GET", "/_sandbox/accounts/ID"),
    ("PATCH", "/_sandbox/accounts/ID"),
    ("DELETE", "/_sandbox/accounts/ID"),
    ("GET", "/_sandbox/accounts/ID/state"),
    ("POST", "/_sandbox/accounts/ID/bulk"),
    ("GET", "/_sandbox/accounts/ID/routing/{owner}"),
    ("GET", "/_sandbox/faults"),
    ("PUT", "/_sandbox/faults"),
    ("DELETE", "/_sandbox/faults"),
    ("GET", "/_sandbox/requests"),
    ("POST", "/_sandbox/reset"),
]


def test_admin_token_guards_every_control_call(private_sandbox, http):
    token = secrets.token_urlsafe(24)
    sandbox = private_sandbox(admin_token=token)
    with httpx.Client(base_url=sandbox.url, timeout=10) as control:
        admin = {"Authorization": f"Bearer {token}"}
        account = control.post("/_sandbox/accounts", json={"carrier": "sipwise"}, headers=admin).json()
        for method, path in GUARDED_CALLS:
            path = path.replace("ID", account["id"])
            for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {token}"}):
                refused = control.request(method, path, headers=headers, json={"carrier": "simwood"})
                assert refused.status_code == 401, (method, path, headers)
                assert refused.headers["WWW-Authenticate"] == 'Bearer realm="sandbox"'
                assert token not in refused.text
        # nothing was reset or deleted by the refused calls
        assert control.get(f"/_sandbox/accounts/{account['id']}", headers=admin).status_code == 200
        not_ascii = {"Authorization": "Bearer ünïcode".encode()}
        assert control.get("/_sandbox/faults", headers=not_ascii).status_code == 401
        assert control.get("/_sandbox/health").status_code == 200
        # carrier APIs take the carrier's own credentials, never the sandbox token
        assert probe(http, account).status_code == 200


def test_routing_is_evaluated_only_where_the_carrier_routes_by_time(sandbox_control, new_sandbox_account):
    """The per-carrier answers are tested in test_simwood.py and test_sipwise.py; here, the core's."""
    surevoip = new_sandbox_account("surevoip")
    refused = sandbox_control.get(f"/_sandbox/accounts/{surevoip['id']}/routing/1", params={"at": "2026-12-24T18:00"})
    assert refused.status_code == 400 and "does not depend on the time" in refused.json()["error"]
    simwood = new_sandbox_account("simwood")
    no_time = sandbox_control.get(f"/_sandbox/accounts/{simwood['id']}/routing/1")
    assert no_time.status_code == 400 and "at must be a local date and time" in no_time.json()["error"]
    assert sandbox_control.get("/_sandbox/accounts/nope/routing/1", params={"at": "2026-12-24T18:00"}).status_code == 404


def test_the_guarded_list_is_every_control_call_but_health():
    """Read from the routes themselves, so a control call added later cannot be left unguarded."""
    calls = {
        (method, route.path.replace("{account_id}", "ID"))
        for route in control.routes
        for method in route.methods - {"HEAD"}
        if route.path != "/_sandbox/health"
    }
    assert calls == set(GUARDED_CALLS)


def test_an_open_control_api_says_so_once_at_start_up(caplog):
    with caplog.at_level(logging.WARNING, logger="portal.sandbox"):
        create_app(admin_token="a-token")
        assert not caplog.records
        create_app(admin_token=None)
    [record] = caplog.records
    message = record.getMessage()
    assert record.levelname == "WARNING" and "OPEN" in message and "SANDBOX_ADMIN_TOKEN" in message
    assert "\n" not in message


@pytest.mark.parametrize("token", [None, "a-token"], ids=["open", "guarded"])
def test_the_sandbox_process_warns_on_stderr_only_when_open(token, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "SANDBOX_ADMIN_TOKEN"}
    if token:
        env["SANDBOX_ADMIN_TOKEN"] = token
    stderr = (tmp_path / "stderr").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.sandbox", "--port", str(port)], cwd=PROJECT_ROOT, env=env, stderr=stderr
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/_sandbox/health", process)
    finally:
        process.terminate()
        process.wait(timeout=10)
    stderr.seek(0)
    warnings = [line for line in stderr.read().splitlines() if "control API" in line]
    assert warnings == ([f"WARNING:  {OPEN_CONTROL_API_WARNING}"] if token is None else [])


# ---------------------------------------------------------------- persistence (own process)
def on(sandbox: SandboxProcess, account: dict) -> dict:
    """The account as another sandbox process serves it (its port differs)."""
    path = "/" + account["base_url"].split("/", 3)[3]
    return {**account, "base_url": sandbox.url + path}


@pytest.mark.parametrize("crash", [False, True], ids=["stopped", "killed"])
def test_state_file_keeps_accounts_and_objects_across_a_restart(crash, tmp_path, private_sandbox, http):
    sandbox = private_sandbox(state_file=tmp_path / "sandbox.sqlite3")
    with httpx.Client(base_url=sandbox.url, timeout=10) as control:
        sipwise, simwood, simotel = (create_account(control, c) for c in ("sipwise", "simwood", "simotel"))
        contact_path = create_sipwise_contact(http, sipwise, "kept@example.com")
        number_path = allocate_simwood_number(http, simwood)
        control.patch(f"/_sandbox/accounts/{simotel['id']}", json={"auth_mode": "apikey"})
        state_before = control.get(f"/_sandbox/accounts/{sipwise['id']}/state").json()

    sandbox.kill() if crash else sandbox.stop()
    again = private_sandbox(state_file=sandbox.state_file)
    with httpx.Client(base_url=again.url, timeout=10) as control:
        listed = {a["id"]: a for a in control.get("/_sandbox/accounts").json()["accounts"]}
        assert set(listed) == {sipwise["id"], simwood["id"], simotel["id"]}
        assert all(listed[a["id"]]["settings"] == a["settings"] for a in (sipwise, simwood, simotel))
        assert listed[simotel["id"]]["config"] == {"auth_mode": "apikey"}
        assert control.get(f"/_sandbox/accounts/{sipwise['id']}/state").json() == state_before

    sipwise, simwood = on(again, sipwise), on(again, simwood)
    contact = http.get(sipwise["base_url"] + contact_path, auth=basic_login(sipwise))
    assert contact.status_code == 200 and contact.json()["email"] == "kept@example.com"
    assert http.get(simwood["base_url"] + number_path, auth=basic_login(simwood)).status_code == 200
    assert probe(http, simwood).status_code == 200


def test_without_a_state_file_nothing_survives_a_restart(private_sandbox):
    sandbox = private_sandbox()
    with httpx.Client(base_url=sandbox.url, timeout=10) as control:
        create_account(control, "simwood")
    sandbox.stop()
    again = private_sandbox()
    with httpx.Client(base_url=again.url, timeout=10) as control:
        assert control.get("/_sandbox/accounts").json() == {"accounts": []}
