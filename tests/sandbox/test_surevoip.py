"""The SureVoIP emulator, spoken to over raw HTTP as S2 and the notes describe the real API."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.fresh_numbers import fresh_e164

NOT_FOUND = {"error": "Cannot find what you were looking for!"}
NUMBER_FORMAT = "Format is 441224900999. No + allowed"
BAD_DESTINATION = "Must be sip:user@host, user@host or a number like 441224900999"
RATE_HEADERS = (
    "X-SureVoIP-API-RateLimit-Limit",
    "X-SureVoIP-API-RateLimit-Remaining",
    "X-SureVoIP-API-RateLimit-TimeToReset",
    "X-SureVoIP-API-RateLimit-TimeToResetSecs",
)
TIME_TO_RESET = re.compile(r"^\d+ mins \d+ secs$")


def customer_body(**overrides: str) -> dict[str, str]:
    body = {
        "country": "GBR",
        "firstname": "Gavin",
        "company_name": "Suretec Systems Ltd. - API Test",
        "lastname": "Henry",
        "phone": "01224 279484",
        "state": "Aberdeenshire",
        "email": "user@example.com",
        "city": "Inverurie",
        "fax": "",
        "address": "24 Cormack Park, Rothienorman",
        "company_website": "www.example.com",
        "postcode": "AB51 8GL",
    }
    body.update(overrides)
    return body


class SureVoIPAccount:
    """A sandbox SureVoIP partner account and raw HTTP calls to it."""

    def __init__(self, doc: dict, control: httpx.Client) -> None:
        self.doc = doc
        self.settings = doc["settings"]
        self.partner = self.settings["partner_id"]
        self.control = control
        self.auth = (self.settings["username"], self.settings["password"])
        self.http = httpx.Client(base_url=doc["base_url"], timeout=10)

    def call(self, method: str, path: str, *, auth: object = True, **kwargs) -> httpx.Response:
        chosen = self.auth if auth is True else auth
        return self.http.request(method, path, auth=chosen or None, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def create_customer(self, **overrides: str) -> str:
        response = self.call("POST", "customers", json=customer_body(**overrides))
        assert response.status_code == 201, response.text
        return response.json()["customer"]

    def stock(self, limit: int = 60) -> list[str]:
        """The partner's unallocated numbers, international form."""
        found = self.get("numbers", params={"limit": limit, "hypermedia": "no"}).json()["list"]
        return ["44" + entry["number_complete"][1:] for entry in found]

    def add_numbers(self, customer: str, *entries: dict) -> httpx.Response:
        return self.call("POST", f"customers/{customer}/numbers", json={"numbers": list(entries)})

    def put_number(self, customer: str, number: str, **fields: object) -> httpx.Response:
        entry = {"number": number, **fields}
        return self.call("PUT", f"customers/{customer}/numbers/{number}", json={"numbers": [entry]})

    def configure(self, **config: object) -> None:
        response = self.control.patch(f"/_sandbox/accounts/{self.doc['id']}", json=config)
        assert response.status_code == 200, response.text

    def state(self) -> dict:
        return self.control.get(f"/_sandbox/accounts/{self.doc['id']}/state").json()


@pytest.fixture
def surevoip_account(new_sandbox_account, sandbox_control) -> Iterator[Callable[[], SureVoIPAccount]]:
    opened: list[SureVoIPAccount] = []

    def create() -> SureVoIPAccount:
        account = SureVoIPAccount(new_sandbox_account("surevoip"), sandbox_control)
        opened.append(account)
        return account

    yield create
    for account in opened:
        account.http.close()


@pytest.fixture
def partner(surevoip_account) -> SureVoIPAccount:
    return surevoip_account()


# ------------------------------------------------------------------------ accounts
def test_new_account_settings_are_fresh_credentials(surevoip_account):
    first, second = surevoip_account(), surevoip_account()
    assert set(first.settings) == {"partner_id", "username", "password"}
    for key in ("partner_id", "username", "password"):
        assert first.settings[key] != second.settings[key]
    assert len(first.settings["password"]) >= 16
    assert len(first.stock()) == 60


# ------------------------------------------------------------------ authentication
@pytest.mark.parametrize("auth", [None, ("nobody", "wrong"), "wrong-password"])
def test_authentication_failures_get_401_with_a_basic_challenge(partner, auth):
    if auth == "wrong-password":
        auth = (partner.settings["username"], "not-the-password")
    response = partner.get("customers", auth=auth)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="SureVoIP API"'
    assert response.headers["X-SureVoIP-API-Auth-User"] == "no-auth"
    assert set(response.json()) == {"error"} and response.json()["error"]
    for header in RATE_HEADERS:
        assert header in response.headers


def test_another_partners_login_cannot_open_this_partners_paths(surevoip_account):
    first, second = surevoip_account(), surevoip_account()
    response = second.get(f"partners/{first.partner}/customers")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_successful_answers_carry_the_documented_headers(partner):
    first = partner.get("customers/", follow_redirects=False)
    second = partner.get("")
    assert second.status_code == 200
    assert second.headers["X-SureVoIP-API-Version"] == "3.50"
    assert second.headers["X-SureVoIP-API-Auth-User"] == partner.settings["username"]
    assert second.headers["Vary"] == "Content-Type"
    assert second.headers["X-SureVoIP-API-RateLimit-Limit"] == "5000"
    remaining = [int(r.headers["X-SureVoIP-API-RateLimit-Remaining"]) for r in (first, second)]
    assert remaining[1] == remaining[0] - 1
    assert TIME_TO_RESET.match(second.headers["X-SureVoIP-API-RateLimit-TimeToReset"])
    assert 0 < int(second.headers["X-SureVoIP-API-RateLimit-TimeToResetSecs"]) <= 3600


# ----------------------------------------------------- hypermedia and negotiation
def test_root_lists_the_top_level_resources(partner):
    resources = partner.get("", auth=None).json()["resources"]
    assert resources["customers"] == partner.doc["base_url"] + "customers"
    assert resources["areacodes"] == partner.doc["base_url"] + "numbers/areacodes"
    assert {"calls", "sms", "numbers", "sip", "partners", "billing"} <= set(resources)


def test_hypermedia_no_drops_the_resources_block(partner):
    customer = partner.create_customer()
    with_links = partner.get(f"customers/{customer}").json()
    without = partner.get(f"customers/{customer}", params={"hypermedia": "no"}).json()
    assert "resources" in with_links and "customer_resources" in with_links
    assert "resources" not in without and "customer_resources" not in without
    assert without["company_name"] == with_links["company_name"]


def test_content_type_query_parameter_beats_accept_on_get(partner):
    response = partner.get("customers/x", params={"content-type": "application/json"}, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"


def test_request_content_type_beats_the_query_parameter(partner):
    response = partner.get(
        "", params={"content-type": "application/json"}, headers={"Content-Type": "application/x-storable"}
    )
    assert response.status_code == 415
    assert response.json() == {"error": "Content-Type application/x-storable is not supported"}


def test_accept_is_ranked_by_quality(partner):
    ranked = partner.get("", headers={"Accept": "text/html;q=0.9, application/json;q=1.0"})
    assert ranked.status_code == 200 and ranked.headers["Content-Type"] == "application/json"
    html_only = partner.get("", headers={"Accept": "text/html"})
    assert html_only.status_code == 415


def test_jsonp_wraps_the_document_in_the_callback(partner):
    response = partner.get("", params={"callback": "show", "content-type": "text/javascript"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert response.text.startswith('show({"resources":') and response.text.endswith(");")


def test_options_lists_the_allowed_methods_without_authenticating(partner):
    customer = partner.create_customer()
    response = partner.call("OPTIONS", f"customers/{customer}", auth=None)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "PUT", "OPTIONS"}


def test_head_answers_headers_only(partner):
    response = partner.call("HEAD", "customers", follow_redirects=False)
    assert response.status_code == 302
    assert response.content == b""
    assert "X-SureVoIP-API-RateLimit-Remaining" in response.headers


def test_unsupported_method_is_405_with_allow(partner):
    customer = partner.create_customer()
    response = partner.call("DELETE", f"customers/{customer}")
    assert response.status_code == 405
    assert "PUT" in response.headers["Allow"] and "DELETE" not in response.headers["Allow"]
    assert "error" in response.json()


def test_unknown_resource_is_the_documented_404(partner):
    response = partner.get("no/such/resource")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# ------------------------------------------------------------------------ customers
def test_get_customers_redirects_to_the_partners_own_account(partner):
    response = partner.get("customers", follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert re.fullmatch(re.escape(partner.doc["base_url"]) + r"customers/\d+", location)
    body = response.json()
    assert body["location"] == location
    assert {"href": f"{location}/numbers", "title": "numbers"} in body["customer_resources"]["urls"]
    own = partner.get(location)
    # S2: ``username`` is the control-panel login, not the ``{account}`` in the path.
    assert own.status_code == 200 and own.json()["username"] == partner.settings["username"]


def test_create_customer_answers_201_with_location(partner):
    response = partner.call("POST", "customers", json=customer_body())
    assert response.status_code == 201
    customer = response.json()["customer"]
    assert customer.isdigit()
    assert response.headers["Location"] == f"{partner.doc['base_url']}customers/{customer}"
    assert response.json()["location"] == response.headers["Location"]


def test_a_created_customer_reads_back_under_both_paths(partner):
    customer = partner.create_customer()
    direct = partner.get(f"customers/{customer}", params={"hypermedia": "no"}).json()
    scoped = partner.get(f"partners/{partner.partner}/customers/{customer}/", params={"hypermedia": "no"}).json()
    assert direct == scoped
    expected = {key: value for key, value in customer_body().items()}
    assert {key: direct[key] for key in expected} == expected
    assert direct["username"] and direct["username"] != customer  # a login name, not the account id
    assert isinstance(direct["balance"], str) and isinstance(direct["creditlimit"], str)


def test_partner_can_create_under_the_partner_path_too(partner):
    response = partner.call("POST", f"partners/{partner.partner}/customers", json=customer_body())
    assert response.status_code == 201
    assert partner.get(f"customers/{response.json()['customer']}").status_code == 200


def test_creating_a_customer_creates_its_sip_account(partner):
    customer = partner.create_customer(phone="01224 900123")
    response = partner.get(f"customers/{customer}/sip", params={"hypermedia": "no"})
    assert response.status_code == 200
    doc = response.json()
    assert doc["total_entries"] == "1" and doc["page_links"] is None
    (sip,) = doc["list"]
    assert sip["sip_username"] == customer
    assert sip["caller_id_number"] == sip["caller_id_name"] == "01224900123"
    assert sip["dtmf"] == "RFC2833" and sip["sip_codecs"] == "ulaw,alaw,gsm,g729"
    assert len(sip["sip_password"]) >= 12
    assert partner.state()["customers"][customer]["sip"] == sip


def test_create_customer_validation_errors_are_field_level(partner):
    body = customer_body(firstname="", phone="+44 1224 279484", country="UK")
    del body["email"]
    response = partner.call("POST", "customers", json=body)
    assert response.status_code == 400
    errors = {entry["field"]: entry["message"] for entry in response.json()["errors"]}
    assert errors == {
        "firstname": ["Firstname field is required"],
        "email": ["Email field is required"],
        "phone": ["Must contain only digits and spaces. No + allowed"],
        "country": ["Must be a 3 letter country code, e.g. GBR"],
    }
    assert partner.state()["customers"] == {}


def test_unparsable_json_is_a_400(partner):
    response = partner.call("POST", "customers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "error" in response.json()


def test_update_customer_replaces_the_writable_fields(partner):
    customer = partner.create_customer()
    changed = customer_body(email="new@example.com", company_name="Renamed Ltd", username="999")
    response = partner.call("PUT", f"partners/{partner.partner}/customers/{customer}", json=changed)
    assert response.status_code == 200
    assert response.json()["updated using"]["email"] == "new@example.com"
    doc = partner.get(f"customers/{customer}").json()
    assert doc["email"] == "new@example.com" and doc["company_name"] == "Renamed Ltd"
    assert doc["username"] != "999"  # read-only


def test_update_customer_with_missing_fields_is_a_400(partner):
    customer = partner.create_customer()
    response = partner.call("PUT", f"customers/{customer}", json={"email": "only@example.com"})
    assert response.status_code == 400
    assert {entry["field"] for entry in response.json()["errors"]} >= {"firstname", "country"}
    assert partner.get(f"customers/{customer}").json()["email"] == "user@example.com"


def test_unknown_customer_is_404(partner):
    assert partner.get("customers/12345").json() == NOT_FOUND
    assert partner.get(f"partners/{partner.partner}/customers/12345/numbers").status_code == 404


# ------------------------------------------------------------------------ pagination
def listed_ids(entries: list[dict]) -> list[str]:
    """Each list entry's ``{account}``, read from its ``url`` (S2 shows no id field)."""
    return [entry["url"]["href"].rstrip("/").rsplit("/", 1)[1] for entry in entries]


def test_customer_list_pages_with_hypermedia_links(partner):
    created = [partner.create_customer(company_name=f"Company {i}") for i in range(3)]
    first = partner.get(f"partners/{partner.partner}/customers", params={"limit": "2"}).json()
    assert listed_ids(first["list"]) == created[:2]
    assert first["entries_per_page"] == "2" and first["limit"] == "2"
    assert first["total_entries"] == "3"
    assert (first["current_page"], first["last_page"], first["next_page"], first["previous_page"]) == (1, 2, 2, None)
    links = {link["title"]: link["href"] for link in first["page_links"]}
    list_url = f"{partner.doc['base_url']}partners/{partner.partner}/customers"
    assert links["next_page"] == f"{list_url}?page=2&limit=2&offset=0"
    assert links["last_page"] == f"{list_url}?page=2&limit=2&offset=0"
    assert first["list"][0]["url"] == {"href": f"{partner.doc['base_url']}customers/{created[0]}", "title": created[0]}

    second = partner.get(links["next_page"]).json()
    assert listed_ids(second["list"]) == created[2:]
    assert (second["current_page"], second["next_page"], second["previous_page"]) == ("2", None, 1)


def test_offset_shifts_the_pages_and_hypermedia_no_nulls_page_links(partner):
    created = [partner.create_customer(company_name=f"Company {i}") for i in range(3)]
    page = partner.get(
        f"partners/{partner.partner}/customers", params={"offset": "1", "limit": "5", "hypermedia": "no"}
    ).json()
    assert listed_ids(page["list"]) == created[1:]
    assert page["page_links"] is None and "resources" not in page


@pytest.mark.parametrize("param", [{"page": "0"}, {"limit": "abc"}, {"offset": "-1"}])
def test_bad_paging_values_are_field_errors(partner, param):
    response = partner.get(f"partners/{partner.partner}/customers", params=param)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == next(iter(param))


# --------------------------------------------------------------------- number search
def test_number_search_defaults_to_ten_a_page(partner):
    doc = partner.get("numbers/", params={"hypermedia": "no"}).json()
    assert doc["entries_per_page"] == 10 and len(doc["list"]) == 10
    assert doc["total_entries"] == "60" and doc["last_page"] == 6
    entry = doc["list"][0]
    assert entry["number_complete"].startswith("0") and len(entry["number_complete"]) == 11
    assert entry["number_areacode"] == entry["number_complete"][:5]
    assert entry["number"] == int(entry["number_complete"][5:])
    assert entry["number_quality"] in {"platinum", "gold", "standard"}
    assert str(entry["number"]) in entry["number_detail"]


def test_number_search_filters(partner):
    stock = partner.get("numbers", params={"limit": "60"}).json()["list"]
    areacode = stock[0]["number_areacode"]
    assert partner.get("numbers", params={"areacode": areacode, "limit": "60"}).json()["total_entries"] == "60"
    assert partner.get("numbers", params={"areacode": "0999"}).json()["list"] == []

    local = str(stock[7]["number"])
    letters = local[-2:].translate(str.maketrans("23456789", "adgjmptw"))  # keypad letters
    filtered = partner.get("numbers", params={"number_filter": letters, "limit": "60"}).json()["list"]
    assert stock[7] in filtered
    assert all(local[-2:] in str(entry["number"]) for entry in filtered)

    wanted = [stock[3]["number_complete"], stock[5]["number_complete"]]
    listed = partner.get("numbers", params={"number_range": ",".join(wanted)}).json()["list"]
    assert [entry["number_complete"] for entry in listed] == wanted

    span = f"{stock[2]['number_complete']}-{stock[4]['number_complete']}"
    ranged = partner.get("numbers", params={"number_range": span}).json()["list"]
    assert [entry["number_complete"] for entry in ranged] == [e["number_complete"] for e in stock[2:5]]


def test_number_range_is_limited_to_fifty(partner):
    response = partner.get("numbers", params={"number_range": "01224900100-01224900150"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"message": ["We only allow 50 in a range to be checked"], "field": "number_range"}
    ]


def test_number_search_without_login_shows_every_unused_number(partner, surevoip_account):
    """S2, number search: "do not need authentication"; "Only unused numbers are returned";
    paging (default limit 10), ``areacode``, ``number_filter`` and ``number_range`` as when logged in."""
    other = surevoip_account()
    taken = partner.stock(1)[0]
    partner.add_numbers(partner.create_customer(), {"number": taken})
    anonymous = partner.get("numbers", auth=None, params={"limit": 10**6, "hypermedia": "no"})
    assert anonymous.status_code == 200 and anonymous.headers["X-SureVoIP-API-Auth-User"] == "no-auth"
    pool = ["44" + entry["number_complete"][1:] for entry in anonymous.json()["list"]]
    assert set(partner.stock()) | set(other.stock()) <= set(pool) and taken not in pool
    first_page = partner.get("numbers", auth=None).json()
    assert len(first_page["list"]) == 10 and first_page["total_entries"] == str(len(pool))
    assert first_page["page_links"] and "resources" in first_page  # the paging envelope, hypermedia on

    mine = other.stock()[5]
    national = "0" + mine[2:]
    exact = partner.get("numbers", auth=None, params={"number_range": f"{national}-{national}"}).json()["list"]
    assert [entry["number_complete"] for entry in exact] == [national]
    by_area = partner.get("numbers", auth=None, params={"areacode": national[:5], "limit": 100}).json()["list"]
    assert by_area and all(entry["number_areacode"] == national[:5] for entry in by_area)
    digits = national[-3:]
    # every match, not a page of them: the shared sandbox's pool grows with each account the suite opens
    filtered = partner.get("numbers", auth=None, params={"number_filter": digits, "limit": 10**6}).json()["list"]
    assert national in [e["number_complete"] for e in filtered] and all(digits in str(e["number"]) for e in filtered)
    assert partner.get("numbers", auth=("nobody", "nothing")).status_code == 401


def test_a_number_found_without_login_can_be_bought_by_any_partner(partner, surevoip_account):
    """S2: the search shows the unused numbers SureVoIP sells; a partner provisions one (POST)."""
    seller = surevoip_account()
    wanted = seller.stock()[0]
    customer = partner.create_customer()
    assert partner.add_numbers(customer, {"number": wanted}).status_code == 201
    assert wanted not in seller.stock() and wanted not in partner.stock()
    again = seller.add_numbers(seller.create_customer(), {"number": wanted})
    assert again.status_code == 400  # now held: "not available"


# ----------------------------------------------------------------- support resources
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_echo_answers_what_was_sent_without_a_login(partner, method):
    """S2, echo: "POST or PUT data and get the same data back", ``{"echoed": {...}}``; no -u in the example."""
    sent = {"message": "This is what you sent", "unicode": "Gr\u00fc\u00dfe \u2603"}
    response = partner.call(method, "support/echo", auth=None, json=sent)
    assert response.status_code == 200 and response.json() == {"echoed": sent}
    assert partner.call(method, "support/echo", json=[1, "two"]).json() == {"echoed": [1, "two"]}
    assert partner.call(method, "support/echo", auth=None, content=b"{broken").status_code == 400


@pytest.mark.parametrize("path", ["support/ip-address", "ip-address"])
def test_ip_address_answers_the_callers_address(partner, path):
    """S2, ip-address: ``{"ip-address": "80.68.84.28"}``, no authentication needed."""
    response = partner.get(path, auth=None)
    assert response.status_code == 200 and response.json() == {"ip-address": "127.0.0.1"}
    assert response.headers["X-SureVoIP-API-Auth-User"] == "no-auth"


@pytest.mark.parametrize("path", ["support/service-status", "service-status"])
def test_service_status_is_a_feed(partner, path):
    """S2 lists service-status with IP Address as needing no login; its body is the status feed
    (notes 2.3: ``{"feed_title", "entries": [{issued, status, title, url}]}``)."""
    doc = partner.get(path, auth=None).json()
    assert isinstance(doc["feed_title"], str) and doc["feed_title"] and doc["entries"] == []


def test_the_roots_resources_all_answer(partner):
    """S2: the root's ``resources`` advertise echo, ip-address and service-status under support/."""
    resources = partner.get("", auth=None).json()["resources"]
    base = partner.doc["base_url"]
    assert resources["echo"] == f"{base}support/echo"
    for name in ("ip-address", "service-status"):
        assert partner.get(resources[name].removeprefix(base), auth=None).status_code == 200
    assert partner.call("OPTIONS", "support/echo").headers["Allow"] == "POST, PUT, OPTIONS"


# ----------------------------------------------------------------- customer numbers
def test_partner_posts_several_numbers_to_a_customer(partner):
    customer = partner.create_customer()
    first, second = partner.stock()[:2]
    response = partner.add_numbers(
        customer,
        {"number": first, "destination": "sip:01224900999@pbx.example.com", "activated": "1"},
        {"number": second, "destination": "441224824887", "activated": "0", "voip_call": "0"},
    )
    assert response.status_code == 201, response.text
    base = f"{partner.doc['base_url']}customers/{customer}/numbers"
    assert response.headers["Location"] == base
    assert response.json()["numbers"] == [
        {"location": f"{base}/{first}", "number": first},
        {"location": f"{base}/{second}", "number": second},
    ]
    assert first not in partner.stock() and second not in partner.stock()

    listed = partner.get(f"customers/{customer}/numbers", params={"hypermedia": "no"}).json()
    assert listed["total_entries"] == "2"
    assert [(e["number"], e["activated"], e["country"]) for e in listed["list"]] == [
        (first, "1", "United Kingdom"),
        (second, "0", "United Kingdom"),
    ]
    assert listed["list"][0]["url"] == {"href": f"{base}/{first}", "title": first}


def test_a_number_reads_back_as_documented(partner):
    customer = partner.create_customer()
    (number,) = partner.stock()[:1]
    partner.add_numbers(customer, {"number": number, "destination": "441224824887", "voip_call": "0"})
    response = partner.get(f"partners/{partner.partner}/customers/{customer}/numbers/{number}")
    assert response.status_code == 200
    (doc,) = response.json()["numbers"]
    assert doc["number"] == number
    assert doc["destination"] == "441224824887"
    assert (doc["activated"], doc["sent_via_sip"], doc["priority"]) == ("1", "0", "1")
    assert (doc["country_code"], doc["country_prefix"]) == ("GBR", "44")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", doc["number_created_date"])


def test_post_is_all_or_nothing_with_field_errors(partner):
    customer = partner.create_customer()
    good = partner.stock()[0]
    response = partner.add_numbers(
        customer,
        {"number": good, "destination": "sip:a@pbx.example.com"},
        {"number": "+441224900999", "destination": "sip:b@pbx.example.com"},
        {"number": "449999999999", "activated": "yes"},
    )
    assert response.status_code == 400
    errors = {entry["field"]: entry["message"] for entry in response.json()["errors"]}
    assert errors == {
        "number": [NUMBER_FORMAT, "Number 449999999999 is not available"],
        "activated": ["Must be 0 or 1"],
    }
    assert partner.state()["numbers"] == {} and good in partner.stock()


def test_posting_an_allocated_number_again_is_refused(partner):
    customer = partner.create_customer()
    number = partner.stock()[0]
    assert partner.add_numbers(customer, {"number": number}).status_code == 201
    again = partner.add_numbers(customer, {"number": number})
    assert again.status_code == 400
    assert again.json()["errors"] == [{"message": [f"Number {number} is not available"], "field": "number"}]


def test_put_updates_destination_activated_and_voip_call(partner):
    customer = partner.create_customer()
    number = partner.stock()[0]
    partner.add_numbers(customer, {"number": number, "destination": "sip:a@pbx.example.com"})
    path = f"customers/{customer}/numbers/{number}"
    response = partner.put_number(customer, number, destination="441224824887", activated="0", voip_call="0")
    assert response.status_code == 201
    assert response.headers["Location"] == partner.doc["base_url"] + path
    assert response.json()["number"] == number
    (doc,) = partner.get(path).json()["numbers"]
    assert (doc["destination"], doc["activated"], doc["sent_via_sip"]) == ("441224824887", "0", "0")

    kept = partner.put_number(customer, number, activated=1)
    assert kept.status_code == 201
    (doc,) = partner.get(path).json()["numbers"]
    assert (doc["destination"], doc["activated"], doc["sent_via_sip"]) == ("441224824887", "1", "0")


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ({"destination": "sip:a@pbx.example.com", "voip_call": "0"}, "destination", NUMBER_FORMAT),
        ({"destination": "not a destination"}, "destination", BAD_DESTINATION),
        ({"voip_call": "true"}, "voip_call", "Must be 0 or 1"),
        ({"number": "441224000000"}, "number", "Must match the number in the URL"),
    ],
)
def test_put_validation(partner, entry, field, message):
    customer = partner.create_customer()
    number = partner.stock()[0]
    partner.add_numbers(customer, {"number": number})
    body = {"numbers": [{"number": number, **entry}]}
    response = partner.call("PUT", f"customers/{customer}/numbers/{number}", json=body)
    assert response.status_code == 400
    assert {"message": [message], "field": field} in response.json()["errors"]


def test_put_of_a_stock_number_provisions_it(partner):
    customer = partner.create_customer()
    number = partner.stock()[5]
    response = partner.put_number(customer, number, destination="a@b.example")
    assert response.status_code == 201
    assert partner.state()["numbers"][number]["customer"] == customer
    assert number not in partner.stock()


def test_put_of_a_number_outside_the_stock_needs_ported(partner):
    customer = partner.create_customer()
    outside = fresh_e164()[1:]  # no stock holds it, and no earlier run against this sandbox ported it
    path = f"customers/{customer}/numbers/{outside}"
    refused = partner.put_number(customer, outside)
    assert refused.status_code == 400
    assert refused.json()["errors"] == [{"message": [f"Number {outside} is not available"], "field": "number"}]
    ported = partner.put_number(customer, outside, ported="1")
    assert ported.status_code == 201
    assert partner.get(path).status_code == 200


def test_numbers_are_only_found_under_their_own_customer(partner):
    owner, other = partner.create_customer(), partner.create_customer()
    number = partner.stock()[0]
    partner.add_numbers(owner, {"number": number})
    assert partner.get(f"customers/{other}/numbers/{number}").json() == NOT_FOUND
    assert partner.get(f"customers/{owner}/numbers/441224000000").json() == NOT_FOUND


# ------------------------------------------------------------------------ isolation
def test_two_accounts_never_see_each_others_objects(surevoip_account):
    first, second = surevoip_account(), surevoip_account()
    customer = first.create_customer()
    number = first.stock()[0]
    first.add_numbers(customer, {"number": number})
    their_customer = second.create_customer()

    assert customer != their_customer
    assert second.get(f"customers/{customer}").json() == NOT_FOUND
    assert second.get(f"customers/{customer}/numbers/{number}").status_code == 404
    assert second.get(f"partners/{second.partner}/customers/{customer}/sip").status_code == 404
    listed = second.get(f"partners/{second.partner}/customers").json()["list"]
    assert listed_ids(listed) == [their_customer]
    assert not set(first.stock()) & set(second.stock())

    taken = second.add_numbers(their_customer, {"number": number})
    assert taken.status_code == 400  # another partner's customer holds it: "not available"
    ported = second.put_number(their_customer, number, ported="1")
    assert ported.status_code == 400
    assert customer not in second.state()["customers"]
    assert number not in second.state()["numbers"]


# ------------------------------------------------------------------------ rate limit
def test_rate_limit_counts_down_then_answers_429(partner):
    partner.configure(rate_limit_per_hour=3, rate_limit_window_secs=1)
    remaining = [partner.get("").headers["X-SureVoIP-API-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    refused = partner.get("")
    assert refused.status_code == 429
    assert refused.headers["X-SureVoIP-API-RateLimit-Limit"] == "3"
    assert refused.headers["X-SureVoIP-API-RateLimit-Remaining"] == "0"
    assert refused.headers["Retry-After"] == refused.headers["X-SureVoIP-API-RateLimit-TimeToResetSecs"] == "1"
    assert set(refused.json()) == {"error"}

    time.sleep(1.05)  # the window configured above
    assert partner.get("").status_code == 200


def test_rate_limit_is_per_account(surevoip_account):
    first, second = surevoip_account(), surevoip_account()
    first.configure(rate_limit_per_hour=1)
    assert first.get("").status_code == 200
    assert first.get("").status_code == 429
    assert second.get("").status_code == 200


# ---------------------------------------------------------------------- injected faults
def test_injected_server_error_is_worded_like_surevoip(partner, sandbox_control):
    spec = {"carrier": "surevoip", "account": partner.doc["id"], "fail_next": {"count": 1, "status": 503}}
    assert sandbox_control.put("/_sandbox/faults", json=spec).status_code == 200
    try:
        failed = partner.get("customers", follow_redirects=False)
    finally:
        sandbox_control.delete("/_sandbox/faults")
    assert failed.status_code == 503
    assert failed.json() == {"message": "Service Unavailable"}
    assert failed.headers["Content-Type"] == "application/json"
    assert failed.headers["X-SureVoIP-API-Version"] == "3.50"
    assert failed.headers["X-SureVoIP-API-Auth-User"] == partner.settings["username"]
    for header in RATE_HEADERS:
        assert header in failed.headers
    assert partner.get("customers", follow_redirects=False).status_code == 302


def test_injected_rate_limit_is_worded_like_surevoip(partner, sandbox_faults):
    rate_limit = {"requests": 0, "window_seconds": 30}
    sandbox_faults({"carrier": "surevoip", "account": partner.doc["id"], "rate_limit": rate_limit})
    refused = partner.get("")
    assert refused.status_code == 429
    assert set(refused.json()) == {"error"}
    assert refused.headers["X-SureVoIP-API-RateLimit-Remaining"] == "0"
    assert refused.headers["Retry-After"] == refused.headers["X-SureVoIP-API-RateLimit-TimeToResetSecs"]
    assert 0 < int(refused.headers["Retry-After"]) <= 30


# ----------------------------------------------------------------- state and speed
def test_public_state_holds_everything_of_this_account_only(surevoip_account):
    first, second = surevoip_account(), surevoip_account()
    customer = first.create_customer()
    second.create_customer()
    state = first.state()
    assert list(state["customers"]) == [customer]
    assert len(state["stock"]) == 60 and state["own"]["username"]
    assert state["rate_limit"]["limit"] == 5000 and state["rate_limit"]["used"] == 1  # the one POST above


def test_a_simple_get_is_answered_quickly(partner, sandbox_control):
    customer = partner.create_customer()
    since = time.time()
    for _ in range(40):
        assert partner.get(f"customers/{customer}").status_code == 200
    logged = sandbox_control.get("/_sandbox/requests", params={"account": partner.doc["id"], "since": since}).json()
    durations = [entry["duration_ms"] for entry in logged["requests"] if entry["method"] == "GET"]
    assert len(durations) == 40
    assert statistics.median(durations) < 2.0
