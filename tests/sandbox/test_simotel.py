"""The Simotel emulator, spoken to over raw HTTP as the documents describe the real API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

HEX_ID = re.compile(r"^[0-9a-f]{24}$")
JALALI_TIMESTAMP = re.compile(r"^1[34]\d\d-(0[1-9]|1[0-2])-[0-3]\d [0-2]\d:[0-5]\d:[0-5]\d$")
DONE = "Requested operation is done successfully"
EMPTY_FORWARDS = {"All": "", "Busy": "", "No Answer": "", "UnAvailable": ""}


class SimotelAccount:
    """A sandbox Simotel account and raw HTTP calls to it, with whatever credentials."""

    def __init__(self, doc: dict, control: httpx.Client) -> None:
        self.doc = doc
        self.settings = doc["settings"]
        self.control = control
        self.http = httpx.Client(base_url=doc["base_url"], timeout=10)

    def call(
        self,
        service: str,
        body: object = None,
        *,
        method: str = "POST",
        basic: tuple[str, str] | None | bool = True,
        api_key: str | None | bool = True,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        sent_headers = dict(headers or {})
        if api_key is True:
            api_key = self.settings["api_key"]
        if api_key:
            sent_headers["X-APIKEY"] = api_key
        auth = (self.settings["username"], self.settings["password"]) if basic is True else basic
        if content is None and body is not None:
            return self.http.request(method, service, json=body, auth=auth or None, headers=sent_headers)
        return self.http.request(method, service, content=content, auth=auth or None, headers=sent_headers)

    def ok(self, service: str, body: dict) -> object:
        """The ``data`` of a successful call (asserting the envelope says so)."""
        response = self.call(service, body)
        assert response.status_code == 200, response.text
        assert response.json()["success"] == 1, response.text
        return response.json()["data"]

    def failed(self, service: str, body: dict) -> str:
        """The message of an operation error: HTTP 200 with ``success: 0``."""
        response = self.call(service, body)
        assert response.status_code == 200, response.text
        doc = response.json()
        assert doc["success"] == 0 and doc["data"] is None, doc
        return doc["message"]

    def add_user(self, number: str, **fields: object) -> str:
        body = {"name": f"User {number}", "number": number, "secret": "s3cret-pw", **fields}
        return self.ok("pbx/users/add", body)["_id"]

    def configure(self, **config: object) -> None:
        response = self.control.patch(f"/_sandbox/accounts/{self.doc['id']}", json=config)
        assert response.status_code == 200, response.text

    def state(self) -> dict:
        return self.control.get(f"/_sandbox/accounts/{self.doc['id']}/state").json()


@pytest.fixture
def simotel_account(new_sandbox_account, sandbox_control) -> Iterator[Callable[[], SimotelAccount]]:
    opened: list[SimotelAccount] = []

    def create() -> SimotelAccount:
        account = SimotelAccount(new_sandbox_account("simotel"), sandbox_control)
        opened.append(account)
        return account

    yield create
    for account in opened:
        account.http.close()


@pytest.fixture
def account(simotel_account) -> SimotelAccount:
    return simotel_account()


def assert_envelope_error(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"success": 0, "message": message, "data": None}


# ----------------------------------------------------------------- account settings
def test_new_accounts_get_fresh_credentials(simotel_account):
    first, second = simotel_account(), simotel_account()
    assert set(first.settings) == {"username", "password", "api_key"}
    for key in ("username", "password", "api_key"):
        assert first.settings[key] and first.settings[key] != second.settings[key]


# ----------------------------------------------------------------- authentication
def test_ping_with_basic_and_api_key(account):
    response = account.call("setting/ping/act", {})
    assert response.status_code == 200
    assert response.json() == {
        "success": 1,
        "message": "If the 'Ping' event is enabled in the settings menu, you'll receive it when it's sent",
        "data": None,
    }


def test_ping_also_accepts_put_as_its_samples_use(account):
    assert account.call("setting/ping/act", {}, method="PUT").json()["success"] == 1


def test_no_credentials_is_401_missing_without_www_authenticate(account):
    response = account.call("setting/ping/act", {}, basic=None, api_key=None)
    assert_envelope_error(response, 401, "BasicAuth or ApiKey is missing")
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize(
    "credentials",
    [
        {"basic": ("nobody", "nothing"), "api_key": None},
        {"basic": None, "api_key": "not-a-key"},
    ],
    ids=["unknown-user", "unknown-key"],
)
def test_unknown_credentials_are_401_invalid(account, credentials):
    response = account.call("setting/ping/act", {}, **credentials)
    assert_envelope_error(response, 401, "BasicAuth or ApiKey is invalid")


def test_wrong_password_or_wrong_key_is_401_invalid(account):
    wrong_password = (account.settings["username"], "wrong")
    assert_envelope_error(
        account.call("setting/ping/act", {}, basic=wrong_password), 401, "BasicAuth or ApiKey is invalid"
    )
    assert_envelope_error(
        account.call("setting/ping/act", {}, api_key="wrong-key"), 401, "BasicAuth or ApiKey is invalid"
    )


@pytest.mark.parametrize("sent", ["basic", "apikey"])
def test_mode_both_needs_both(account, sent):
    response = account.call(
        "setting/ping/act", {}, basic=sent == "basic" or None, api_key=sent == "apikey" or None
    )
    assert_envelope_error(response, 401, "BasicAuth or ApiKey is invalid")


@pytest.mark.parametrize(
    ("mode", "sent", "status", "message"),
    [
        ("basic", "basic", 200, None),
        ("basic", "apikey", 401, "BasicAuth or ApiKey is missing"),
        ("apikey", "apikey", 200, None),
        ("apikey", "basic", 401, "BasicAuth or ApiKey is missing"),
    ],
)
def test_auth_modes(account, mode, sent, status, message):
    account.configure(auth_mode=mode)
    response = account.call(
        "setting/ping/act", {}, basic=sent == "basic" or None, api_key=sent == "apikey" or None
    )
    if message:
        assert_envelope_error(response, status, message)
    else:
        assert response.status_code == 200 and response.json()["success"] == 1


def test_basic_auth_in_the_url(account):
    user, password = account.settings["username"], account.settings["password"]
    url = account.doc["base_url"].replace("http://", f"http://{user}:{password}@") + "setting/ping/act"
    response = httpx.post(url, json={}, headers={"X-APIKEY": account.settings["api_key"]})
    assert response.json()["success"] == 1


def test_ip_allow_list(account):
    account.configure(allowed_ips=["192.0.2.77"])
    assert_envelope_error(account.call("setting/ping/act", {}), 403, "IP is not permitted")
    account.configure(allowed_ips=["192.0.2.77", "127.0.0.1"])
    assert account.call("setting/ping/act", {}).json()["success"] == 1
    account.configure(allowed_ips=[])
    assert account.call("setting/ping/act", {}).json()["success"] == 1


# ----------------------------------------------------------------- request errors
def test_unknown_service_is_501(account):
    assert_envelope_error(account.call("pbx/users/frobnicate", {}), 501, "Requested service does not exist")


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_other_verbs_are_405(account, method):
    response = account.call("pbx/users/search", None, method=method)
    assert_envelope_error(response, 405, "Method not allowed")


def test_wrong_content_type_is_415(account):
    response = account.call(
        "pbx/users/search",
        content=b"alike=true",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_envelope_error(response, 415, "Unsupported Media Type")


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"", b'"text"'])
def test_unparseable_body_is_400(account, content):
    response = account.call("pbx/users/search", content=content, headers={"Content-Type": "application/json"})
    assert_envelope_error(response, 400, "Unable to parse content")


@pytest.mark.parametrize("service", ["setting/ping/act", "pbx/users/search"])
def test_an_empty_json_array_is_an_empty_body(account, service):
    """004: the body is JSON; the PHP connector sends ``[]`` (json_encode of an empty PHP array) for
    "no parameters", as ping's ``{}``: it is parsed, not "Unable to parse content"."""
    response = account.call(service, content=b"[]", headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    if service == "setting/ping/act":
        assert response.json()["success"] == 1
    else:  # parsed, then the search's own rule: ``alike`` is required
        assert response.json() == {"success": 0, "message": "Field 'alike':value is missing", "data": None}


def test_auth_is_checked_before_the_service(account):
    response = account.call("no/such/service", {}, basic=None, api_key=None)
    assert_envelope_error(response, 401, "BasicAuth or ApiKey is missing")


# ----------------------------------------------------------------- users
def test_user_add_then_search_shows_it_masked(account):
    forwards = {**EMPTY_FORWARDS, "Busy": "09158315762"}
    user_id = account.add_user("201", cid_number="201", call_limit="2", forward_policy=forwards)
    assert HEX_ID.match(user_id)
    [listed] = account.ok("pbx/users/search", {"alike": False, "conditions": {"number": "201"}})
    assert listed["_id"] == user_id
    assert listed["secret"] == "******"
    assert listed["forward_policy"] == forwards
    assert listed["call_limit"] == "2" and listed["queues"] == [] and listed["description"] == ""
    assert JALALI_TIMESTAMP.match(listed["date"])
    [stored] = account.state()["users"]
    assert stored["secret"] == "s3cret-pw"


def test_user_add_response_envelope(account):
    response = account.call("pbx/users/add", {"name": "A", "number": "300", "secret": "pw"})
    doc = response.json()
    assert response.status_code == 200
    assert doc["success"] == 1 and doc["message"] == DONE and HEX_ID.match(doc["data"]["_id"])
    assert "location" not in response.headers


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"number": "300", "secret": "pw"}, "name"),
        ({"name": "A", "secret": "pw"}, "number"),
        ({"name": "A", "number": "300", "secret": ""}, "secret"),
    ],
)
def test_user_add_missing_field_is_200_success_0(account, body, field):
    assert account.failed("pbx/users/add", body) == f"Field '{field}':value is missing"
    assert account.state()["users"] == []


def test_duplicate_number(account):
    account.add_user("400")
    assert account.failed("pbx/users/add", {"name": "B", "number": "400", "secret": "x"}) == (
        "This number already exists"
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"active": "true"},
        {"user_type": "PJSIP"},
        {"number": "12a"},
        {"forward_policy": {"All": "123"}},
        {"forward_policy": {**EMPTY_FORWARDS, "All": "+441632960001"}},
        {"call_limit": -1},
    ],
)
def test_values_outside_the_documented_form_fail(account, bad):
    body = {"name": "A", "number": "500", "secret": "pw", **bad}
    assert account.failed("pbx/users/add", body) == "Requested operation failed"


def test_undocumented_fields_are_dropped(account):
    account.add_user("501", favourite_colour="blue", _id="0" * 24)
    [stored] = account.state()["users"]
    assert "favourite_colour" not in stored and stored["_id"] != "0" * 24


def test_user_update_merges_fields(account):
    user_id = account.add_user("600", cid_number="600")
    assert account.ok("pbx/users/update", {"_id": user_id, "name": "Renamed", "secret": "new"}) == ""
    [stored] = account.state()["users"]
    assert stored["name"] == "Renamed" and stored["number"] == "600"
    assert stored["cid_number"] == "600" and stored["secret"] == "new"


def test_user_update_errors(account):
    first = account.add_user("700")
    account.add_user("701")
    assert account.failed("pbx/users/update", {"name": "x"}) == "Field '_id':value is missing"
    assert account.failed("pbx/users/update", {"_id": "f" * 24, "name": "x"}) == "Requested operation failed"
    assert account.failed("pbx/users/update", {"_id": first, "number": "701"}) == "This number already exists"
    assert account.failed("pbx/users/update", {"_id": first, "name": ""}) == "Field 'name':value is missing"


def test_user_remove(account):
    user_id = account.add_user("800")
    assert account.ok("pbx/users/remove", {"_id": user_id}) == ""
    assert account.state()["users"] == []
    assert account.failed("pbx/users/remove", {"_id": user_id}) == "Requested operation failed"


# ----------------------------------------------------------------- trunks
def test_trunk_lifecycle(account):
    body = {
        "trunk_type": "SIP",
        "name": "upstream",
        "host": "192.0.2.10",
        "register_string": "u:p@192.0.2.10/u",
        "allow": "alaw,ulaw",
        "disallow": "all",
        "deny": "0.0.0.0/0.0.0.0",
        "permit": "192.0.2.10/255.255.255.255",
        "active": "yes",
    }
    trunk_id = account.ok("pbx/trunks/add", body)["_id"]
    assert HEX_ID.match(trunk_id)
    assert account.failed("pbx/trunks/add", {"name": "upstream"}) == "This trunk already exists"
    assert account.failed("pbx/trunks/add", {"host": "x"}) == "Field 'name':value is missing"
    account.ok("pbx/trunks/update", {"_id": trunk_id, "allow": "g722"})
    [listed] = account.ok("pbx/trunks/search", {"alike": "true", "conditions": {"name": "stream"}})
    assert listed["allow"] == "g722" and listed["host"] == "192.0.2.10"
    assert listed["register_string"] == "u:p@192.0.2.10/u" and JALALI_TIMESTAMP.match(listed["date"])
    account.ok("pbx/trunks/remove", {"_id": trunk_id})
    assert account.ok("pbx/trunks/search", {"alike": 0, "conditions": {}}) == []


# ----------------------------------------------------------------- search
def test_search_needs_alike(account):
    assert account.failed("pbx/users/search", {"conditions": {}}) == "Field 'alike':value is missing"


def test_search_alike_and_exact(account):
    for number, name in (("100", "Alice Smith"), ("1001", "Bob Smith"), ("200", "Carol")):
        account.add_user(number, name=name)

    def numbers(body: dict) -> list[str]:
        return sorted(u["number"] for u in account.ok("pbx/users/search", body))

    assert numbers({"alike": False, "conditions": {"number": "100"}}) == ["100"]
    assert numbers({"alike": True, "conditions": {"number": "100"}}) == ["100", "1001"]
    assert numbers({"alike": "true", "conditions": {"name": "smith", "number": ""}}) == ["100", "1001"]
    assert numbers({"alike": 1, "conditions": {"name": "", "number": ""}}) == ["100", "1001", "200"]
    # keys the documents do not list as conditions are not honoured
    assert numbers({"alike": False, "conditions": {"secret": "nope"}}) == ["100", "1001", "200"]
    assert numbers({"alike": True, "status": "mapped", "conditions": {}}) == []


def test_search_pagination(account):
    for number in ("105", "101", "104", "102", "103"):
        account.add_user(number)

    def page(start: int, count: int, sorting: dict) -> dict:
        pagination = {"start": start, "count": count, "sorting": sorting}
        body = {"alike": True, "conditions": {}, "pagination": pagination}
        return account.ok("pbx/users/search", body)

    first = page(0, 2, {"number": 1})
    assert first["pagination"] == {"start": 0, "count": 2, "sorting": {"number": 1}, "total": 5}
    assert [u["number"] for u in first["data"]] == ["101", "102"]
    assert [u["number"] for u in page(2, 2, {"number": 1})["data"]] == ["103", "104"]
    assert [u["number"] for u in page(4, 2, {"number": 1})["data"]] == ["105"]
    assert page(5, 2, {"number": 1})["data"] == []
    assert [u["number"] for u in page(0, 3, {"number": -1})["data"]] == ["105", "104", "103"]
    default = page(0, 5, {})
    assert default["pagination"]["sorting"] == {"date": -1}
    assert [u["secret"] for u in default["data"]] == ["******"] * 5


@pytest.mark.parametrize("mode", ["list", "ignored"])
def test_search_pagination_knob_gives_the_documented_plain_list(account, mode):
    """004 and notes-simotel.md 3: users and trunks searches are unpaged (``data`` is the list); the
    knob ``search_pagination`` lets a test meet a server that honours start/count (``list``) or not."""
    for number in ("101", "102", "103"):
        account.add_user(number)
    account.configure(search_pagination=mode)
    body = {"alike": True, "conditions": {}, "pagination": {"start": 1, "count": 1, "sorting": {"number": 1}}}
    found = account.ok("pbx/users/search", body)
    assert [u["number"] for u in found] == (["102"] if mode == "list" else ["101", "102", "103"])


def test_invalid_pagination_fails(account):
    body = {"alike": True, "conditions": {}, "pagination": {"start": -1, "count": 2, "sorting": {}}}
    assert account.failed("pbx/users/search", body) == "Requested operation failed"


# ----------------------------------------------------------------- isolation
def test_accounts_never_see_each_others_objects(simotel_account):
    alice, bob = simotel_account(), simotel_account()
    alice_user = alice.add_user("900")
    bob_user = bob.add_user("900")  # the same extension is fine on another account
    assert alice_user != bob_user
    assert [u["_id"] for u in bob.ok("pbx/users/search", {"alike": True, "conditions": {}})] == [bob_user]
    assert bob.failed("pbx/users/update", {"_id": alice_user, "name": "x"}) == "Requested operation failed"
    assert bob.failed("pbx/users/remove", {"_id": alice_user}) == "Requested operation failed"
    assert [u["_id"] for u in alice.state()["users"]] == [alice_user]
    # one account's credentials mixed with another's are refused
    mixed = alice.call("setting/ping/act", {}, api_key=bob.settings["api_key"])
    assert_envelope_error(mixed, 401, "BasicAuth or ApiKey is invalid")


# ----------------------------------------------------------------- injected faults
def test_injected_server_error_is_worded_like_simotel(account, sandbox_control):
    response = sandbox_control.put(
        "/_sandbox/faults", json={"carrier": "simotel", "fail_next": {"count": 1, "status": 503}}
    )
    assert response.status_code == 200
    try:
        assert_envelope_error(account.call("setting/ping/act", {}), 503, "Service Unavailable")
        assert account.call("setting/ping/act", {}).status_code == 200
    finally:
        sandbox_control.delete("/_sandbox/faults")


def test_injected_rate_limit_is_worded_like_simotel(account, sandbox_faults):
    sandbox_faults(
        {
            "carrier": "simotel",
            "account": account.doc["id"],
            "rate_limit": {"requests": 1, "window_seconds": 30},
        }
    )
    assert account.call("setting/ping/act", {}).status_code == 200
    limited = account.call("setting/ping/act", {})
    assert_envelope_error(limited, 429, "Too Many Requests")
    assert 1 <= int(limited.headers["Retry-After"]) <= 30
