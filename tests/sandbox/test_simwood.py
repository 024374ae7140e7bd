"""The Simwood v3 emulator, spoken to over raw HTTP as the real API would be.

Each test checks what Simwood's documents and our research notes say (or, where they are
silent, the choice written in ``portal/sandbox/carriers/simwood.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest


@dataclass
class Simwood:
    """One sandbox Simwood account and an authenticated client for it."""

    http: httpx.Client
    account: str  # the six-digit Simwood account number
    sandbox_id: str
    auth: tuple[str, str]

    def number(self, tier: str = "standard") -> str:
        """The E.164 digits of the cheapest available number of ``tier``."""
        rows = self.http.get(f"numbers/{self.account}/available/{tier}/1").json()
        return rows[0]["country_code"] + rows[0]["number"]

    def allocate(self, tier: str = "standard") -> str:
        number = self.number(tier)
        assert self.http.put(f"numbers/{self.account}/allocated/{number}").status_code == 200
        return number

    def config_url(self, number: str) -> str:
        return f"numbers/{self.account}/allocated/{number}/config"

    def trunk_url(self, trunk_id: str) -> str:
        return f"voice/{self.account}/trunks/{self.account}-{trunk_id}"


@pytest.fixture
def open_simwood(new_sandbox_account) -> Iterator[Callable[[], Simwood]]:
    clients: list[httpx.Client] = []

    def open_account() -> Simwood:
        doc = new_sandbox_account("simwood")
        settings = doc["settings"]
        auth = (settings["api_user"], settings["api_key"])
        http = httpx.Client(base_url=doc["base_url"], auth=auth, timeout=10)
        clients.append(http)
        return Simwood(http=http, account=settings["account"], sandbox_id=doc["id"], auth=auth)

    yield open_account
    for client in clients:
        client.close()


@pytest.fixture
def sw(open_simwood) -> Simwood:
    return open_simwood()


def errors_of(response: httpx.Response) -> list[str]:
    body = response.json()
    assert body.get("success") in (False, None)
    return body["errors"]


SIP_DEFAULT = {"routing": {"default": [[{"type": "sip", "endpoint": "%e164@pbx.example.com"}]]}}


# ------------------------------------------------------------------ accounts, auth
def test_new_account_settings_are_fresh_credentials(new_sandbox_account):
    first, second = (new_sandbox_account("simwood")["settings"] for _ in range(2))
    assert set(first) == {"account", "api_user", "api_key"}
    assert first["account"].isdigit() and len(first["account"]) == 6
    assert all(first[key] != second[key] for key in first)


def test_missing_credentials_get_a_basic_challenge(sw):
    response = httpx.get(f"{sw.http.base_url}accounts/{sw.account}/prepay/balance")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"success": False, "errors": ["Authentication required"]}


def test_wrong_key_is_refused(sw):
    response = httpx.get(
        f"{sw.http.base_url}accounts/{sw.account}/prepay/balance", auth=(sw.auth[0], "not-the-key")
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert errors_of(response) == ["Invalid API credentials"]


def test_tools_need_no_authentication(sw):
    response = httpx.get(f"{sw.http.base_url}tools/time")
    assert response.status_code == 200
    assert abs(response.json()["timestamp"] - time.time()) < 5
    assert response.json()["rfc"].endswith("+0000")


def test_another_accounts_path_is_denied(open_simwood):
    mine, theirs = open_simwood(), open_simwood()
    response = mine.http.get(f"accounts/{theirs.account}/prepay/balance")
    assert response.status_code == 403
    assert errors_of(response) == ["Access denied"]


def test_unknown_path_is_a_json_404(sw):
    response = sw.http.get(f"numbers/{sw.account}/nothing-here")
    assert response.status_code == 404
    assert errors_of(response) == ["Not found"]


# ------------------------------------------------------------------ output format
def test_balance_is_a_bare_array_with_a_string_balance(sw):
    response = sw.http.get(f"accounts/{sw.account}/prepay/balance")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == [{"balance": "100.00000", "currency": "GBP"}]
    assert "\n" not in response.text and "Location" not in response.headers


def test_pretty_true_indents_and_slashes_are_escaped(sw):
    number = sw.allocate()
    compact = sw.http.get(f"numbers/{sw.account}/allocated/{number}")
    assert "\\/numbers\\/" in compact.text and "\n" not in compact.text
    pretty = sw.http.get(f"numbers/{sw.account}/allocated/{number}", params={"pretty": "true"})
    assert pretty.text.startswith('{\n    "basic": {')
    assert pretty.json() == compact.json()


# ------------------------------------------------------------------ available numbers
def test_available_numbers_are_a_bare_array_cheapest_first(sw):
    rows = sw.http.get(f"numbers/{sw.account}/available/all/100").json()
    assert len(rows) == 100
    prices = [row["wholesale_gold_premium"] for row in rows]
    assert prices == sorted(prices) and prices[0] == 0 and prices[-1] > 0
    assert set(rows[0]) >= {"country_code", "number", "block", "bill_class", "SMS",
                            "recommended_gold_premium", "wholesale_gold_premium"}
    assert all(row["country_code"] == "44" and not row["number"].startswith("44") for row in rows)


@pytest.mark.parametrize("tier,premium", [("gold", True), ("standard", False)])
def test_tiers_split_on_the_setup_fee(sw, tier, premium):
    rows = sw.http.get(f"numbers/{sw.account}/available/{tier}/100").json()
    assert rows and all((row["wholesale_gold_premium"] > 0) is premium for row in rows)


@pytest.mark.parametrize("count", ["1", "10"])
def test_search_returns_at_most_the_count(sw, count):
    assert len(sw.http.get(f"numbers/{sw.account}/available/standard/{count}").json()) == int(count)


@pytest.mark.parametrize("path", ["standard/25", "platinum/10"])
def test_values_outside_the_documented_lists_are_404(sw, path):
    assert sw.http.get(f"numbers/{sw.account}/available/{path}").status_code == 404


def test_pattern_with_or_without_44_is_the_same_uk_search(sw):
    ending = sw.number("gold")[-4:]
    with_cc = sw.http.get(f"numbers/{sw.account}/available/all/10", params={"pattern": f"4420*{ending}"})
    without = sw.http.get(f"numbers/{sw.account}/available/all/10", params={"pattern": f"20*{ending}"})
    assert with_cc.json() == without.json()
    assert [row["number"][-4:] for row in with_cc.json()] == [ending]


def test_usa_search_finds_nothing_and_other_countries_are_refused(sw):
    assert sw.http.get(f"numbers/{sw.account}/available/all/10", params={"country_code": "1"}).json() == []
    refused = sw.http.get(f"numbers/{sw.account}/available/all/10", params={"country_code": "33"})
    assert refused.status_code == 400


# ------------------------------------------------------------------ allocate, release
def test_allocate_answers_the_link_object_and_takes_it_from_stock(sw):
    number = sw.number()
    response = sw.http.put(f"numbers/{sw.account}/allocated/{number}")
    assert response.status_code == 200
    body = response.json()
    assert body["basic"]["country_code"] + body["basic"]["number"] == number
    assert set(body) == {"basic", "voice", "fax", "sms", "999"}
    assert body["basic"]["link"].endswith(f"/numbers/{sw.account}/allocated/{number}")
    assert sw.number() != number
    assert sw.http.get(f"numbers/{sw.account}/allocated/{number}").json() == body


def test_repeat_allocate_of_own_number_is_idempotent(sw):
    number = sw.allocate()
    assert sw.http.put(f"numbers/{sw.account}/allocated/{number}").status_code == 200


def test_allocating_a_gold_number_charges_its_setup_fee(sw):
    fee = sw.http.get(f"numbers/{sw.account}/available/gold/1").json()[0]["wholesale_gold_premium"]
    sw.allocate("gold")
    balance = sw.http.get(f"accounts/{sw.account}/prepay/balance").json()[0]["balance"]
    assert float(balance) == pytest.approx(100 - fee)


def test_allocating_a_number_not_in_stock_is_404(sw):
    assert sw.http.put(f"numbers/{sw.account}/allocated/441632960000").status_code == 404


def test_release_removes_the_number_for_good(sw):
    number = sw.allocate()
    response = sw.http.delete(f"numbers/{sw.account}/allocated/{number}")
    assert response.status_code == 200 and response.json() == {"success": True}
    assert sw.http.get(f"numbers/{sw.account}/allocated/{number}").status_code == 404
    assert sw.http.delete(f"numbers/{sw.account}/allocated/{number}").status_code == 404
    assert sw.http.put(f"numbers/{sw.account}/allocated/{number}").status_code == 404


def test_post_may_stand_in_for_put_and_method_override_works(sw):
    number = sw.number()
    assert sw.http.post(f"numbers/{sw.account}/allocated/{number}").status_code == 200
    assert sw.http.get(f"numbers/{sw.account}/allocated/{number}", params={"_method": "DELETE"}).json() == {
        "success": True
    }
    assert sw.http.request("PATCH", f"numbers/{sw.account}/allocated/{number}").status_code == 405


# ------------------------------------------------------------------ reports and files
def request_report(sw: Simwood, method: str = "POST", **params) -> dict:
    response = sw.http.request(method, f"numbers/{sw.account}/allocated/all", params=params)
    assert response.status_code == 200
    return response.json()


def collect(sw: Simwood, digest: str, tries: int = 50) -> httpx.Response:
    for _ in range(tries):
        response = sw.http.get(f"files/{sw.account}/{digest}")
        if response.status_code != 204:
            return response
        time.sleep(0.02)
    raise AssertionError("report never became ready")


def test_allocated_report_is_204_until_ready_then_200_once_then_404(sw):
    numbers = sorted([sw.allocate(), sw.allocate()])
    report = request_report(sw)
    assert report["account"] == sw.account and report["format"] == "json"
    assert report["link"].endswith(f"/files/{sw.account}/{report['hash']}")
    pending = sw.http.get(f"files/{sw.account}/{report['hash']}")
    assert pending.status_code == 204 and pending.content == b""
    ready = collect(sw, report["hash"])
    assert ready.status_code == 200
    assert [row["country_code"] + row["number"] for row in ready.json()] == numbers
    gone = sw.http.get(f"files/{sw.account}/{report['hash']}")
    assert gone.status_code == 404


def test_identical_report_requests_share_one_hash_until_collected(sw):
    sw.allocate()
    first = request_report(sw)
    sw.allocate()
    assert request_report(sw, method="GET")["hash"] == first["hash"]  # GET tolerated for POST
    assert len(collect(sw, first["hash"]).json()) == 1  # the report ran once, on the first request
    again = request_report(sw)
    assert len(collect(sw, again["hash"]).json()) == 2


def test_report_filters_by_meta_key_case_insensitively(sw):
    tagged, _ = sw.allocate(), sw.allocate()
    config = {**SIP_DEFAULT, "meta": {"key": "Cust-42"}}
    assert sw.http.put(sw.config_url(tagged), json=config).json() == {"success": True}
    report = request_report(sw, key="cust-42")
    rows = collect(sw, report["hash"]).json()
    assert [row["country_code"] + row["number"] for row in rows] == [tagged]


def test_numbered_report_holds_at_most_that_many(sw):
    for _ in range(11):
        sw.allocate()
    report = sw.http.post(f"numbers/{sw.account}/allocated/10").json()
    assert report["quantity"] == 10
    assert len(collect(sw, report["hash"]).json()) == 10


def test_ready_files_are_listed_and_expire(sw, sandbox_control):
    sandbox_control.patch(
        f"/_sandbox/accounts/{sw.sandbox_id}", json={"report_ready_seconds": 0, "report_expiry_seconds": 0.3}
    )
    report = request_report(sw)
    listing = sw.http.get(f"files/{sw.account}").json()
    assert listing[report["hash"]]["content_type"] == "application/json"
    assert listing[report["hash"]]["uri"] == report["link"]
    time.sleep(0.35)
    assert sw.http.get(f"files/{sw.account}/{report['hash']}").status_code == 404
    assert sw.http.get(f"files/{sw.account}").json() == []


# ------------------------------------------------------------------ number config
def test_config_round_trips_and_delete_clears_it(sw):
    number = sw.allocate()
    assert sw.http.get(sw.config_url(number)).json() == []
    config = {
        "options": {"enabled": True, "block_payphone": False, "acr": False, "trunk": f"{sw.account}-L001"},
        "rules": {"officehours": [{"dow": [1, 2, 3, 4, 5], "time": [900, "1700"]}],
                  "xmas": [{"month": [12], "day": [25, 26]}]},
        "routing": {
            "officehours": [
                [{"type": "sip", "endpoint": "%e164@pbx.example.com:5060;transport=tcp", "timeout": 20,
                  "sdes": "optional", "opus": "never"},
                 {"type": "sip", "endpoint": "%ukn@lon.example.com", "zone": "lon"}],
                [{"type": "pstn", "number": "447700900123", "cli": "442921202120", "maxcpm": 0.02,
                  "delay": 2}],
                [{"type": "busy"}],
            ],
            "xmas": [[{"type": "busy"}]],
            "default": [[{"type": "pstn", "number": "447700900123"}]],
        },
        "meta": {"key": "cust-403010", "friendlyName": "Main office"},
    }
    response = sw.http.put(sw.config_url(number), json=config)
    assert response.status_code == 200 and response.json() == {"success": True}
    assert sw.http.get(sw.config_url(number)).json() == config
    assert sw.http.delete(sw.config_url(number)).json() == {"success": True}
    assert sw.http.get(sw.config_url(number)).json() == []
    assert sw.http.get(f"numbers/{sw.account}/allocated/{number}").status_code == 200


def test_invalid_config_lists_every_error_and_changes_nothing(sw):
    number = sw.allocate()
    sw.http.put(sw.config_url(number), json=SIP_DEFAULT)
    bad = {
        "options": {"enabled": "yes", "colour": "blue"},
        "rules": {"Office": [{"dow": [8]}], "lunch": [{"time": [1300, 1200]}]},
        "routing": {"default": [[{"type": "sip", "endpoint": "%e164@pbx.example.com"}]],
                    "evening": [[{"type": "busy"}]]},
        "notes": "hello",
    }
    response = sw.http.put(sw.config_url(number), json=bad)
    assert response.status_code == 400
    assert errors_of(response) == [
        "Unknown section 'notes' in configuration.",
        "Setting 'enabled' must be true or false",
        "Invalid parameter 'colour' in settings",
        "Rule name 'Office' is invalid.",
        "Rule 'Office' entry 0 parameter 'dow' is invalid.",
        "Rule 'lunch' entry 0 parameter 'time' is invalid.",
        "Routing block 'evening' does not match any specified rules (or default)",
    ]
    assert sw.http.get(sw.config_url(number)).json() == SIP_DEFAULT


@pytest.mark.parametrize(
    "config,error",
    [
        ({"meta": {}}, "Section 'routing' is mandatory."),
        ({"routing": {}}, "Routing block 'default' is mandatory."),
        ({"routing": {"default": {"type": "busy"}}}, "Routing Block must be an array."),
        ({"routing": {"default": [{"type": "busy"}]}}, "Routing Block must be an array."),
        ({"rules": {"late": {"dow": [1]}}, "routing": {"default": [[{"type": "busy"}]]}},
         "Rule must be an array."),
        ({"routing": {"default": [[{"type": "voicemail"}]]}},
         "Routing block 'default' step 0 endpoint 0 parameter 'type' is invalid."),
        ({"routing": {"default": [[{"type": "sip"}]]}},
         "Routing block 'default' step 0 endpoint 0 parameter 'endpoint' is invalid."),
        ({"routing": {"default": [[{"type": "sip", "endpoint": "sip:alice@example.com"}]]}},
         "Routing block 'default' step 0 endpoint 0 parameter 'endpoint' is invalid."),
        ({"routing": {"default": [[{"type": "pstn", "number": "+447700900123"}]]}},
         "Routing block 'default' step 0 endpoint 0 parameter 'number' is invalid."),
        ({"routing": {"default": [[{"type": "pstn", "number": "447700900123", "colour": 1}]]}},
         "Routing block 'default' step 0 endpoint 0 parameter 'colour' is invalid."),
        ({"routing": {"default": [[{"type": "busy", "timeout": 10}]]}},
         "Routing block 'default' step 0 endpoint 0 parameter 'timeout' is invalid."),
        ({"routing": {"default": [[{"type": "reg", "user": "no user@pbx"}]]}},
         "Routing block 'default' step 0 endpoint 0 parameter 'user' is invalid."),
        ({"routing": {"default": [[{"type": "sip", "endpoint": "a@b.example.com", "zone": "lon"}]]}},
         "Routing block 'default' step 0 needs one endpoint with no zone."),
        ({"routing": {"default": [[{"type": "fax", "method": "mail", "endpoint": "fax@example.com"}],
                                  [{"type": "busy"}]]}},
         "Endpoint 'fax' cannot be used in conjunction with any other endpoint."),
        ({"routing": {"default": [[{"type": "busy"}]]}, "options": {"trunk": "999999-OTHER"}},
         "Setting 'trunk' must be {account}-L001"),
        ({"routing": {"default": [[{"type": "busy"}]]}, "meta": {"key": "k" * 41}},
         "Meta 'key' must be a string of at most 40 characters."),
        ({"routing": {"default": [[{"type": "busy"}]]}, "meta": {"notes": "n" * 520}},
         "Section 'meta' must not exceed 512 bytes."),
    ],
)
def test_config_validation_errors(sw, config, error):
    number = sw.allocate()
    response = sw.http.put(sw.config_url(number), json=config)
    assert response.status_code == 400
    assert errors_of(response) == [error.format(account=sw.account)]


def test_reg_blocks_take_any_sip_user_registered_or_not(sw):
    """notes-simwood-surevoip.md 1.7: a ``reg`` user that is not registered is skipped at call time."""
    number = sw.allocate()
    sw.http.put(sw.trunk_url("DESK1"), json={"type": "auth"})
    for user in (f"{sw.account}-DESK1", f"{sw.account}-L001", "930000-ELSEWHERE"):
        config = {"routing": {"default": [[{"type": "reg", "user": user, "timeout": 15}], [{"type": "busy"}]]}}
        assert sw.http.put(sw.config_url(number), json=config).json() == {"success": True}, user


def test_config_in_a_payload_form_variable(sw):
    number = sw.allocate()
    import json

    response = sw.http.put(sw.config_url(number), data={"payload": json.dumps(SIP_DEFAULT)})
    assert response.json() == {"success": True}
    assert sw.http.get(sw.config_url(number)).json() == SIP_DEFAULT
    broken = sw.http.put(sw.config_url(number), content=b"{not json")
    assert errors_of(broken) == ["Configuration is not valid JSON."]


def test_config_errors_can_come_with_200(sw, sandbox_control):
    sandbox_control.patch(f"/_sandbox/accounts/{sw.sandbox_id}", json={"config_error_status": 200})
    number = sw.allocate()
    response = sw.http.put(sw.config_url(number), json={"meta": {}})
    assert response.status_code == 200
    assert response.json() == {"success": False, "errors": ["Section 'routing' is mandatory."]}


def test_rules_with_months_and_days_decide_which_routing_a_call_takes(sw, sandbox_control):
    """notes-simwood-surevoip.md §1.7: ``rules`` of periods (``dow`` ISO 1 = Monday, ``time``
    [start, end] HHMM, ``day``, ``month``, each an array); a rule matches if any period matches;
    a routing key named after a rule applies when it matches, ``default`` otherwise. The
    documents' own example is a day-and-month rule ("xmas")."""
    number = sw.allocate()
    holiday = [  # 24 Dec 18:00 to 2 Jan 08:00, as the portal's adapter writes it (no year)
        {"dow": [1, 2, 3, 4, 5, 6, 7], "month": [12], "day": [24], "time": [1800, 2359]},
        {"month": [12], "day": [25, 26, 27, 28, 29, 30, 31]},
        {"month": [1], "day": [1]},
        {"month": [1], "day": [2], "time": ["0000", "0800"]},
    ]
    config = {"rules": {"unconditional": holiday, "officehours": [{"dow": [1, 2, 3, 4, 5], "time": [900, 1730]}]},
              "routing": {"unconditional": [[{"type": "pstn", "number": "447700900123"}]],
                          "officehours": [[{"type": "sip", "endpoint": "%e164@pbx.example.com"}]],
                          "default": [[{"type": "busy"}]]}}
    assert sw.http.put(sw.config_url(number), json=config).json() == {"success": True}

    def routed(at: str) -> str:
        response = sandbox_control.get(f"/_sandbox/accounts/{sw.sandbox_id}/routing/{number}", params={"at": at})
        assert response.status_code == 200, response.text
        return response.json()["routing"]

    assert routed("2026-12-24T17:59") == "default"  # a Thursday after office hours, before the holiday
    assert routed("2026-12-24T12:00") == "officehours"
    assert routed("2026-12-24T18:00") == routed("2026-12-24T23:59") == "unconditional"  # 2359 runs to midnight
    assert routed("2026-12-29T10:00") == "unconditional"  # the holiday comes first in routing's order
    assert routed("2027-01-02T07:59") == "unconditional" and routed("2027-01-02T08:00") == "default"  # a Saturday
    assert routed("2027-12-25T10:00") == "unconditional"  # rules have no year: it comes round again
    assert routed("2026-11-30T09:00") == "officehours" and routed("2026-11-30T17:30") == "default"
    bad_day = sw.http.put(sw.config_url(number), json={**config, "rules": {"unconditional": [{"day": [32]}]}})
    assert "Rule 'unconditional' entry 0 parameter 'day' is invalid." in errors_of(bad_day)
    elsewhere = sandbox_control.get(f"/_sandbox/accounts/{sw.sandbox_id}/routing/441632960999", params={"at": "2026-12-24T18:00"})
    assert elsewhere.status_code == 404
    no_time = sandbox_control.get(f"/_sandbox/accounts/{sw.sandbox_id}/routing/{number}", params={"at": "Christmas"})
    assert no_time.status_code == 400


def test_config_of_a_number_not_on_the_account_is_404(sw):
    assert sw.http.put(sw.config_url("441632960000"), json=SIP_DEFAULT).status_code == 404
    assert sw.http.get(sw.config_url("441632960000")).status_code == 404


# ------------------------------------------------------------------ 999
ADDRESS = {"name": "Acme Widgets", "bussuffix": "Ltd", "premises": "104", "thoroughfare": "King Street",
           "locality": "Leeds", "postcode": "LS11 5DF"}


def test_999_address_is_stored_and_answered_as_one_record(sw):
    number = sw.allocate()
    url = f"numbers/{sw.account}/allocated/{number}/999"
    assert sw.http.get(url).json() == []
    response = sw.http.put(url, json=ADDRESS)
    assert response.status_code == 200
    [record] = response.json()
    assert {key: record[key] for key in ADDRESS} == ADDRESS
    assert record["title"] == "" and record["status"] == "submitted"
    assert sw.http.get(url).json() == [record]


def test_999_address_checks_mandatory_fields_lengths_and_postcode(sw):
    number = sw.allocate()
    url = f"numbers/{sw.account}/allocated/{number}/999"
    bad = {**ADDRESS, "locality": "L" * 31, "postcode": "ls115df", "premises": "", "floor": "2"}
    del bad["name"]
    response = sw.http.put(url, json=bad)
    assert response.status_code == 400
    assert errors_of(response) == [
        "Invalid parameter 'floor'",
        "Field 'name' is mandatory",
        "Field 'premises' is mandatory",
        "Field 'locality' must be at most 30 characters",
        "Field 'postcode' must be a full postcode in the form OUT IN, e.g. LS11 5DF",
    ]
    assert sw.http.get(url).json() == []


# ------------------------------------------------------------------ trunks
def test_auth_trunk_password_is_shown_on_create_only(sw):
    created = sw.http.put(sw.trunk_url("ACME"), json={"type": "auth"})
    assert created.status_code == 200 and "location" not in created.headers
    body = created.json()
    assert body["trunk"] == body["user"] == f"{sw.account}-ACME" and body["type"] == "auth"
    assert len(body["pass"]) == 24
    fetched = sw.http.get(sw.trunk_url("ACME")).json()
    assert "pass" not in fetched and fetched["trunk"] == body["trunk"]
    listed = sw.http.get(f"voice/{sw.account}/trunks").json()
    assert {"trunk": body["trunk"], "user": body["trunk"], "serviceLevel": 0, "type": "auth",
            "enabled_webrtc": "0"} in listed


def test_trunk_type_defaults_to_auth_and_ip_trunks_have_no_password(sw):
    assert sw.http.put(sw.trunk_url("DEFAULT")).json()["type"] == "auth"
    ip = sw.http.put(sw.trunk_url("PBX"), json={"type": "ip"}).json()
    assert ip["type"] == "IP" and "pass" not in ip
    assert sw.http.put(sw.trunk_url("ODD"), json={"type": "iax"}).status_code == 400


def test_password_reset_returns_a_new_password(sw):
    first = sw.http.put(sw.trunk_url("ACME")).json()["pass"]
    reset = sw.http.post(f"{sw.trunk_url('ACME')}/password_reset")
    assert reset.status_code == 200
    body = reset.json()
    assert body["updated"] is True and body["trunk"] == body["user"] == f"{sw.account}-ACME"
    assert len(body["pass"]) == 24 and body["pass"] != first
    sw.http.put(sw.trunk_url("PBX"), json={"type": "IP"})
    assert sw.http.post(f"{sw.trunk_url('PBX')}/password_reset").status_code == 400


def test_trunk_update_applies_valid_options_and_drops_the_rest(sw):
    number = sw.allocate()
    sw.http.put(sw.trunk_url("ACME"), json={"type": "IP"})
    update = {
        "enabled": 0, "enable_in": 1, "limit_concurrent_out": 5, "limit_concurrent_in": None,
        "limit_rate_out": "5/10s", "cli_default": "441632960123", "cli_force_default": 1,
        "nni_default": number, "max_cpm": "0.05", "max_cost": 2.5, "max_dur": 3600,
        "cli_format": "e164",
        # invalid or unknown: dropped without failing the update
        "limit_rate_out_international": "5/1m", "limit_concurrent_out_international": -1,
        "max_cpc": "cheap", "enabled_out": "yes", "colour": "blue",
    }
    response = sw.http.put(sw.trunk_url("ACME"), json=update)
    assert response.status_code == 200
    trunk = response.json()
    assert {key: trunk[key] for key in ("enabled", "enabled_in", "limit_concurrent_out", "limit_rate_out",
                                        "cli_default", "cli_force_default", "nni_default", "max_cpm",
                                        "max_cost", "max_dur")} == {
        "enabled": "0", "enabled_in": "1", "limit_concurrent_out": "5", "limit_rate_out": "5/10s",
        "cli_default": "441632960123", "cli_force_default": "1", "nni_default": number,
        "max_cpm": "0.05", "max_cost": "2.5", "max_dur": "3600",
    }
    assert trunk["limit_rate_out_international"] is None
    assert trunk["limit_concurrent_out_international"] is None
    assert trunk["max_cpc"] is None and trunk["enabled_out"] == "1" and "colour" not in trunk
    assert sw.http.get(sw.trunk_url("ACME")).json() == trunk
    not_ours = sw.http.put(sw.trunk_url("ACME"), json={"nni_default": "441632960999"}).json()
    assert not_ours["nni_default"] == number


@pytest.mark.parametrize(
    "name", ["{account}-acme", "{account}-", "{account}-ACME-LONDON", "123456-ACME", "ACME"]
)
def test_trunk_names_must_be_account_dash_id(sw, name):
    response = sw.http.put(f"voice/{sw.account}/trunks/{name.format(account=sw.account)}")
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("Trunk name must be")


def test_delete_trunk_and_the_default_trunk_stays(sw):
    sw.http.put(sw.trunk_url("ACME"))
    response = sw.http.delete(sw.trunk_url("ACME"))
    assert response.status_code == 200 and response.json() == {"success": True}
    assert sw.http.get(sw.trunk_url("ACME")).status_code == 404
    assert sw.http.delete(sw.trunk_url("ACME")).status_code == 404
    refused = sw.http.delete(sw.trunk_url("L001"))
    assert refused.status_code == 400 and "cannot be deleted" in refused.json()["errors"][0]


def test_outbound_is_an_alias_of_trunks(sw):
    sw.http.put(f"voice/{sw.account}/outbound/{sw.account}-OLD", json={"type": "IP"})
    assert sw.http.get(sw.trunk_url("OLD")).json()["type"] == "IP"
    assert len(sw.http.get(f"voice/{sw.account}/outbound").json()) == 2


def test_ip_acl_add_list_remove(sw):
    sw.http.put(sw.trunk_url("PBX"), json={"type": "IP"})
    acl = f"{sw.trunk_url('PBX')}/acl"
    assert sw.http.get(acl).json() == []
    assert sw.http.put(f"{acl}/192.0.2.10").json() == {"success": True}
    assert sw.http.put(f"{acl}/192.0.2.10").status_code == 200  # already listed: no second entry
    assert sw.http.put(f"{acl}/2001:db8::1").status_code == 200
    entries = sw.http.get(acl).json()
    assert [entry["ip"] for entry in entries] == ["192.0.2.10", "2001:db8::1"]
    assert all(entry["timestamp"] for entry in entries)
    assert sw.http.delete(f"{acl}/192.0.2.10").json() == {"success": True}
    assert [entry["ip"] for entry in sw.http.get(acl).json()] == ["2001:db8::1"]
    assert sw.http.delete(f"{acl}/192.0.2.10").status_code == 404
    assert sw.http.put(f"{acl}/192.0.2.0%2F24").status_code in (400, 404)
    assert sw.http.put(f"{acl}/not-an-ip").status_code == 400


def test_acl_belongs_to_ip_trunks_only(sw):
    sw.http.put(sw.trunk_url("ACME"), json={"type": "auth"})
    response = sw.http.put(f"{sw.trunk_url('ACME')}/acl/192.0.2.10")
    assert response.status_code == 400 and "not IP-authenticated" in response.json()["errors"][0]


# ------------------------------------------------------------------ isolation, state
def test_accounts_never_see_each_others_objects(open_simwood, sandbox_control):
    first, second = open_simwood(), open_simwood()
    number = first.allocate()
    first.http.put(first.trunk_url("ACME"))
    assert second.http.get(f"numbers/{second.account}/allocated/{number}").status_code == 404
    assert second.http.put(f"numbers/{second.account}/allocated/{number}").status_code == 404
    assert second.http.get(f"voice/{second.account}/trunks/{first.account}-ACME").status_code == 404
    assert [t["trunk"] for t in second.http.get(f"voice/{second.account}/trunks").json()] == [
        f"{second.account}-L001"
    ]
    second_rows = second.http.get(f"numbers/{second.account}/available/all/100").json()
    second_stock = {row["number"] for row in second_rows}
    assert number[2:] not in second_stock
    state = sandbox_control.get(f"/_sandbox/accounts/{second.sandbox_id}/state").json()
    assert state["account"] == second.account and state["numbers"] == {}
    mine = sandbox_control.get(f"/_sandbox/accounts/{first.sandbox_id}/state").json()
    assert number in mine["numbers"] and f"{first.account}-ACME" in mine["trunks"]


# ------------------------------------------------------------------ injected faults
def test_injected_503_is_worded_as_simwood_errors(sw, sandbox_control):
    fault = {"carrier": "simwood", "fail_next": {"count": 1, "status": 503}}
    put = sandbox_control.put("/_sandbox/faults", json=fault)
    assert put.status_code == 200
    try:
        failed = sw.http.get(f"accounts/{sw.account}/prepay/balance")
    finally:
        sandbox_control.delete("/_sandbox/faults")
    assert failed.status_code == 503
    assert failed.headers["content-type"] == "application/json"
    assert failed.json() == {"success": False, "errors": ["Service Unavailable"]}
    assert sw.http.get(f"accounts/{sw.account}/prepay/balance").status_code == 200


def test_injected_429_has_retry_after(sw, sandbox_faults):
    sandbox_faults({"carrier": "simwood", "account": sw.sandbox_id,
                    "rate_limit": {"requests": 1, "window_seconds": 30}})
    assert sw.http.get(f"accounts/{sw.account}/prepay/balance").status_code == 200
    limited = sw.http.get(f"accounts/{sw.account}/prepay/balance")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 30
    assert limited.json() == {"success": False, "errors": ["Too many requests"]}


# ------------------------------------------------------- fidelity with real clients (#16)
def test_the_documents_advanced_config_example_is_accepted(sw):
    """notes-simwood-surevoip.md 1.7: the docs' own example, rule ``mon__fri_0700__1700`` with digits,
    a ``reg`` endpoint whose user is no trunk of this account (skipped at call time if unregistered),
    ``sip`` and ``pstn`` endpoints, and a default."""
    number = sw.allocate()
    example = {
        "options": {"enabled": True, "block_payphone": False, "acr": False},
        "rules": {"mon__fri_0700__1700": [{"dow": [1, 2, 3, 4, 5], "time": ["0700", "1700"]}]},
        "routing": {
            "mon__fri_0700__1700": [
                [{"type": "reg", "user": "930000-FREDTEST"},
                 {"type": "sip", "endpoint": "%e164@sip.example.com:5060", "timeout": 20}],
                [{"type": "pstn", "number": "447700900123"}],
            ],
            "default": [[{"type": "pstn", "number": "447700900123"}]],
        },
    }  # fmt: skip
    assert sw.http.put(sw.config_url(number), json=example).json() == {"success": True}
    assert sw.http.get(sw.config_url(number)).json() == example


def test_999_takes_null_in_its_optional_fields(sw):
    """notes 1.6: title, forename and bussuffix are optional; the Java client sends null for them."""
    number = sw.allocate()
    address = {"title": None, "forename": None, "name": "Acme Ltd", "bussuffix": None, "premises": "1",
               "thoroughfare": "High Street", "locality": "Leeds", "postcode": "LS1 1AA"}  # fmt: skip
    response = sw.http.put(f"numbers/{sw.account}/allocated/{number}/999", json=address)
    assert response.status_code == 200, response.text
    [record] = response.json()
    assert (record["title"], record["forename"], record["bussuffix"], record["name"]) == ("", "", "", "Acme Ltd")
    mandatory_null = sw.http.put(f"numbers/{sw.account}/allocated/{number}/999", json={**address, "name": None})
    assert mandatory_null.status_code == 400 and errors_of(mandatory_null) == ["Field 'name' is mandatory"]


@pytest.mark.parametrize("path", ["numbers/{A}/allocated/default/config", "numbers/{A}/default/config"])
def test_the_accounts_default_config_is_served_on_both_paths(sw, path):
    """notes 1.6 and open question 2: the default-config path is unconfirmed; the PowerShell client
    reads ``numbers/{A}/default/config`` and writes ``numbers/{A}/allocated/default/config``."""
    url = path.format(A=sw.account)
    assert sw.http.get(url).json() == []
    assert sw.http.put(url, json=SIP_DEFAULT).json() == {"success": True}
    for either in ("numbers/{A}/allocated/default/config", "numbers/{A}/default/config"):
        assert sw.http.get(either.format(A=sw.account)).json() == SIP_DEFAULT
    bad = sw.http.put(url, json={"routing": {"default": [[{"type": "nonsense"}]]}})
    assert bad.status_code == 400 and sw.http.get(url).json() == SIP_DEFAULT  # all or nothing
    billing_trunk = {**SIP_DEFAULT, "options": {"trunk": f"{sw.account}-L001"}}  # number-level only
    assert errors_of(sw.http.put(url, json=billing_trunk)) == ["Invalid parameter 'trunk' in settings"]
    assert sw.http.delete(url).json() == {"success": True}
    assert sw.http.get(url).json() == []


def test_consecutive_available_numbers_are_a_report(sw):
    """notes 1.6: ``available/consecutive/[10..100 step 10]`` is a report (hash, then the file);
    GET is tolerated for report POSTs (1.1, method leniency)."""
    requested = sw.http.post(f"numbers/{sw.account}/available/consecutive/10", data={"pattern": "*"})
    assert requested.status_code == 200
    summary = requested.json()
    assert summary["quantity"] == 10 and summary["account"] == sw.account and len(summary["hash"]) == 32
    tolerated = sw.http.get(f"numbers/{sw.account}/available/consecutive/10", params={"pattern": "*"})
    assert tolerated.json()["hash"] == summary["hash"]  # the same request: the same report
    rows = wait_for_file(sw, summary["hash"])
    numbers = [int(row["country_code"] + row["number"]) for row in rows]
    assert len(numbers) == 10 and numbers == list(range(numbers[0], numbers[0] + 10))
    assert sw.http.post(f"numbers/{sw.account}/available/consecutive/15").status_code == 404
    assert sw.http.post(f"numbers/{sw.account}/available/consecutive/110").status_code == 404


def wait_for_file(sw, digest: str) -> list[dict]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = sw.http.get(f"files/{sw.account}/{digest}")
        if response.status_code == 200:
            return response.json()
        assert response.status_code == 204
        time.sleep(0.05)
    raise AssertionError("the report never became ready")


@pytest.mark.parametrize("body", [b"System.Collections.Hashtable", b"[1, 2]", b'"auth"'])
def test_a_trunk_put_whose_body_is_not_json_is_refused(sw, body):
    """notes 1.8: a trunk PUT failure is 400 ``{"errors": [...]}``; a body that is no JSON object and
    no form is not read as "no options" (a client sent ``System.Collections.Hashtable``)."""
    response = sw.http.put(sw.trunk_url("HASH1"), content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["errors"]
    assert sw.http.get(sw.trunk_url("HASH1")).status_code == 404  # nothing was created
    assert sw.http.put(sw.trunk_url("HASH1"), content=b"type=auth").status_code == 200  # a form still works


def test_stock_numbers_are_london_0203_and_the_accounts_last_five_digits(sw):
    """docs/sandbox/simwood.md: the stock is ``44 20 3 {last five digits of the account} NN``."""
    rows = sw.http.get(f"numbers/{sw.account}/available/all/100").json()
    assert len(rows) == 100
    assert {row["country_code"] + row["number"][:-2] for row in rows} == {f"44203{sw.account[-5:]}"}
