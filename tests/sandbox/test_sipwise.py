"""The Sipwise C5 emulator, spoken to over raw HTTP as the notes describe the real NGCP API."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.fresh_numbers import fresh_sipwise_number

HAL_TYPE = 'application/hal+json; profile="http://purl.org/sipwise/ngcp-api/"'
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


class SipwiseReseller:
    """One sandbox account (a reseller's admin login) and raw calls to its API."""

    def __init__(self, doc: dict, control: httpx.Client) -> None:
        self.doc = doc
        self.settings = doc["settings"]
        self.control = control
        self.http = httpx.Client(
            base_url=doc["base_url"],
            auth=(self.settings["username"], self.settings["password"]),
            timeout=10,
        )

    def post(self, collection: str, body: dict) -> httpx.Response:
        return self.http.post(f"{collection}/", json=body)

    def created(self, collection: str, body: dict) -> int:
        """POST, check the platform's 201 answer and return the id parsed from Location."""
        response = self.post(collection, body)
        assert response.status_code == 201, response.text
        assert response.content == b""
        match = re.fullmatch(rf"/sipwise/api/{collection}/(\d+)", response.headers["location"])
        assert match, response.headers["location"]
        return int(match.group(1))

    def get(self, path: str, **kwargs) -> dict:
        response = self.http.get(path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def put(self, path: str, body: object, prefer: str | None = None) -> httpx.Response:
        headers = {"Prefer": prefer} if prefer else {}
        return self.http.put(path, json=body, headers=headers)

    def patch(self, path: str, operations: object, prefer: str | None = None) -> httpx.Response:
        headers = {"Content-Type": "application/json-patch+json", **({"Prefer": prefer} if prefer else {})}
        return self.http.patch(path, json=operations, headers=headers)

    def state(self) -> dict:
        response = self.control.get(f"/_sandbox/accounts/{self.doc['id']}/state")
        assert response.status_code == 200, response.text
        return response.json()

    # -- the handbook's life cycle, step by step
    def contact(self, email: str = "john.doe@example.com") -> int:
        return self.created("customercontacts", {"firstname": "John", "lastname": "Doe", "email": email})

    def customer(self, **overrides) -> int:
        body = {
            "status": "active",
            "contact_id": self.contact(),
            "billing_profile_id": self.settings["billing_profile_id"],
            "type": "sipaccount",
            "external_id": None,
            **overrides,
        }
        return self.created("customers", body)

    def subscriber_body(self, customer_id: int, username: str = "test_10001", sn: str | None = None, **extra) -> dict:
        """The handbook's subscriber; its number is this test's own (numbers are platform-wide)."""
        return {
            "status": "active",
            "customer_id": customer_id,
            "primary_number": {"cc": 43, "ac": 9876, "sn": sn or fresh_sipwise_number()["sn"]},
            "username": username,
            "domain": self.settings["domain"],
            "password": "secret subscriber pass",
            **extra,
        }

    def subscriber(self, customer_id: int | None = None, **kwargs) -> int:
        return self.created("subscribers", self.subscriber_body(customer_id or self.customer(), **kwargs))


def assert_error(response: httpx.Response, status: int, message: str | re.Pattern) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.text.endswith("}\n"), "the platform ends its error body with a newline"
    doc = response.json()
    assert doc["code"] == status
    if isinstance(message, re.Pattern):
        assert message.search(doc["message"]), doc["message"]
    else:
        assert doc["message"] == message


@pytest.fixture
def reseller(new_sandbox_account: Callable[[str], dict], sandbox_control: httpx.Client) -> Iterator[SipwiseReseller]:
    account = SipwiseReseller(new_sandbox_account("sipwise"), sandbox_control)
    yield account
    account.http.close()


# ------------------------------------------------------------------ authentication
@pytest.mark.parametrize("credentials", [None, "wrong-password", "unknown-user"])
def test_bad_credentials_get_401_in_the_admin_realm(reseller: SipwiseReseller, credentials: str | None) -> None:
    username, password = reseller.settings["username"], reseller.settings["password"]
    auth = {None: None, "wrong-password": (username, password + "x"), "unknown-user": ("nobody", password)}[credentials]
    response = httpx.get(reseller.doc["base_url"] + "customers/", auth=auth)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="api_admin_http"'
    assert response.text == "Authorization required."


def test_account_settings_are_fresh_per_account(new_sandbox_account: Callable[[str], dict]) -> None:
    first, second = new_sandbox_account("sipwise")["settings"], new_sandbox_account("sipwise")["settings"]
    assert set(first) == {"reseller_id", "username", "password", "billing_profile_id", "domain"}
    for key in first:
        assert first[key] != second[key], key


# ------------------------------------------------------------------- protocol basics
def test_unknown_paths_and_unimplemented_methods_answer_path_not_found(reseller: SipwiseReseller) -> None:
    customer_id = reseller.customer()
    assert_error(reseller.http.get("nosuchthing/"), 404, "Path not found")
    assert_error(reseller.http.delete(f"customers/{customer_id}"), 404, "Path not found")
    assert_error(reseller.http.post("callforwards/", json={}), 404, "Path not found")
    assert_error(reseller.http.put("domains/1", json={}), 404, "Path not found")
    assert reseller.get(f"customers/{customer_id}")["status"] == "active"


def test_request_errors_use_the_documented_statuses(reseller: SipwiseReseller) -> None:
    assert_error(reseller.http.get("customers/abc"), 400, "Invalid id in request URI")
    paging = "Query parameters 'page' and 'rows', when specified, must be greater than 0."
    assert_error(reseller.http.get("customers/", params={"rows": 0}), 400, paging)
    assert_error(reseller.http.get("customers/", params={"page": "x"}), 400, paging)
    linked = reseller.http.get("customers/", headers={"Link": "</api/x>; rel=y"})
    assert_error(linked, 400, re.compile(r"^The request must not contain 'Link' headers"))
    text = reseller.http.post("customercontacts/", content=b"{}", headers={"Content-Type": "text/plain"})
    assert_error(text, 415, "Unsupported media type 'text/plain', accepting application/json only.")
    empty = reseller.http.post("customercontacts/", content=b"", headers={"Content-Type": "application/json"})
    assert_error(empty, 400, "This request is missing a message body.")
    broken = reseller.http.post("customercontacts/", content=b"{", headers={"Content-Type": "application/json"})
    assert_error(broken, 400, re.compile(r"^The entity is not a well-formed 'application/json' document\. "))


def test_collection_without_trailing_slash_redirects(reseller: SipwiseReseller) -> None:
    response = reseller.http.get("customers", params={"rows": 5})
    assert response.status_code == 301
    assert response.headers["location"].endswith("/sipwise/api/customers/?rows=5")


def test_options_list_methods_in_body_and_allow_header(reseller: SipwiseReseller) -> None:
    collection = reseller.http.options("customers/")
    assert collection.status_code == 200
    assert collection.json() == {"methods": ["GET", "HEAD", "OPTIONS", "POST"]}
    assert collection.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert collection.headers["accept-post"] == (
        "application/hal+json; profile=http://purl.org/sipwise/ngcp-api/#rel-customers"
    )
    item = reseller.http.options(f"subscribers/{reseller.subscriber()}")
    assert item.json()["methods"] == ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"]
    assert item.headers["accept-patch"] == "application/json-patch+json"
    customer_item = reseller.http.options("customers/1")
    assert "DELETE" not in customer_item.json()["methods"] and "POST" not in customer_item.json()["methods"]


def test_accept_header_selects_json_or_hal(reseller: SipwiseReseller) -> None:
    path = f"billingprofiles/{reseller.settings['billing_profile_id']}"
    assert reseller.http.get(path, headers={"Accept": "application/hal+json"}).headers["content-type"] == HAL_TYPE
    assert reseller.http.get(path, headers={"Accept": "application/json"}).headers["content-type"] == "application/json"
    head = reseller.http.head(path)
    assert head.status_code == 200 and head.content == b""


# ----------------------------------------------------------------------- collections
def test_collections_are_hal_with_array_embeds_and_page_links(reseller: SipwiseReseller) -> None:
    emails = [f"c{n}@example.com" for n in range(5)]
    ids = [reseller.contact(email) for email in emails]
    first = reseller.get("customercontacts/", params={"rows": 2})
    assert first["total_count"] == 5
    assert [c["id"] for c in first["_embedded"]["ngcp:customercontacts"]] == ids[:2]
    assert first["_links"]["ngcp:customercontacts"] == [
        {"href": f"/sipwise/api/customercontacts/{i}"} for i in ids[:2]
    ]
    assert first["_links"]["self"] == {"href": "/sipwise/api/customercontacts/?page=1&rows=2"}
    assert first["_links"]["next"] == {"href": "/sipwise/api/customercontacts/?page=2&rows=2"}
    assert "prev" not in first["_links"]
    last = reseller.get("customercontacts/", params={"rows": 2, "page": 3})
    assert [c["id"] for c in last["_embedded"]["ngcp:customercontacts"]] == ids[4:]
    assert "next" not in last["_links"]
    assert last["_links"]["prev"]["href"].startswith("/sipwise/api/customercontacts/?page=2")
    one = reseller.get("customercontacts/", params={"email": emails[3]})
    assert isinstance(one["_embedded"]["ngcp:customercontacts"], list) and one["total_count"] == 1
    assert reseller.get("customercontacts/", params={"email": "c*@example.com"})["total_count"] == 5


def test_empty_collection_has_no_embedded(reseller: SipwiseReseller) -> None:
    doc = reseller.get("subscribers/")
    assert doc["total_count"] == 0
    assert "_embedded" not in doc and "ngcp:subscribers" not in doc["_links"]


def test_default_page_size_is_ten_and_order_by_is_honoured(reseller: SipwiseReseller) -> None:
    for n in range(11):
        reseller.contact(f"p{n:02d}@example.com")
    page = reseller.get("customercontacts/")
    assert len(page["_embedded"]["ngcp:customercontacts"]) == 10 and "next" in page["_links"]
    newest_first = reseller.get("customercontacts/", params={"order_by": "email", "order_by_direction": "desc"})
    assert newest_first["_embedded"]["ngcp:customercontacts"][0]["email"] == "p10@example.com"


# ------------------------------------------------------------------- the life cycle
def test_billing_profile_lookup_by_handle(reseller: SipwiseReseller) -> None:
    own = reseller.get(f"billingprofiles/{reseller.settings['billing_profile_id']}")
    found = reseller.get("billingprofiles/", params={"handle": own["handle"]})
    assert found["_embedded"]["ngcp:billingprofiles"][0]["id"] == reseller.settings["billing_profile_id"]
    duplicate = reseller.post("billingprofiles", {"name": "other", "handle": own["handle"]})
    assert_error(duplicate, 422, re.compile(r"^Reseller-Billing Profile handle '.*' already exists\.$"))


def test_contact_requires_email_and_reseller_is_forced(reseller: SipwiseReseller) -> None:
    missing = reseller.post("customercontacts", {"firstname": "John"})
    assert_error(missing, 422, re.compile(r"^Validation failed\. field='email', input='', errors='"))
    contact_id = reseller.created("customercontacts", {"email": "x@example.com", "reseller_id": 999999})
    assert reseller.get(f"customercontacts/{contact_id}")["reseller_id"] == reseller.settings["reseller_id"]


def test_customer_create_fetch_and_validation(reseller: SipwiseReseller) -> None:
    customer_id = reseller.customer(external_id="crm-1")
    customer = reseller.get(f"customers/{customer_id}")
    assert customer["status"] == "active" and customer["type"] == "sipaccount"
    assert customer["billing_profile_id"] == reseller.settings["billing_profile_id"]
    assert customer["external_id"] == "crm-1" and "product_id" not in customer
    assert TIMESTAMP.match(customer["create_timestamp"])
    contact_id = customer["contact_id"]
    base = {"status": "active", "contact_id": contact_id, "billing_profile_id": reseller.settings["billing_profile_id"]}
    assert_error(reseller.post("customers", {**base, "type": "invalid"}), 422, re.compile("is not a valid value"))
    bad_status = reseller.post("customers", {**base, "type": "sipaccount", "status": "x"})
    assert_error(bad_status, 422, re.compile("field='status'"))
    unknown_profile = reseller.post("customers", {**base, "type": "sipaccount", "billing_profile_id": 999999})
    assert_error(unknown_profile, 422, "Invalid 'billing_profile_id' (999999).")
    no_profile = reseller.post("customers", {"status": "active", "contact_id": contact_id, "type": "sipaccount"})
    assert_error(no_profile, 422, "Invalid 'billing_profile_id', not defined.")


def test_put_and_patch_answer_204_or_200_with_representation(reseller: SipwiseReseller) -> None:
    customer_id = reseller.customer()
    current = reseller.get(f"customers/{customer_id}")
    unchanged = reseller.put(f"customers/{customer_id}", current, prefer="return=representation")
    assert unchanged.status_code == 200
    assert unchanged.headers["preference-applied"] == "return=representation"
    assert {k: v for k, v in unchanged.json().items() if k != "modify_timestamp"} == {
        k: v for k, v in current.items() if k != "modify_timestamp"
    }
    minimal = reseller.patch(f"customers/{customer_id}", [{"op": "replace", "path": "/external_id", "value": "e2"}])
    assert minimal.status_code == 204 and minimal.content == b""
    assert minimal.headers["preference-applied"] == "return=minimal"
    assert reseller.get(f"customers/{customer_id}")["external_id"] == "e2"
    wrong_type = reseller.http.patch(f"customers/{customer_id}", json=[], headers={"Content-Type": "application/json"})
    expected = "Unsupported media type 'application/json', accepting application/json-patch+json only."
    assert_error(wrong_type, 415, expected)


@pytest.mark.parametrize(
    ("operations", "status", "message"),
    [
        ({"op": "replace"}, 400, "Body for PATCH must be an array."),
        (["x"], 400, "Array in body of PATCH must only contain hashes."),
        ([{"path": "/status"}], 400, "PATCH element must have an 'op' field."),
        (
            [{"op": "add", "path": "/status", "value": "x"}],
            400,
            "Invalid PATCH op 'add', must be one of 'replace', 'copy'",
        ),
        ([{"op": "replace", "path": "/status"}], 400, "Missing PATCH keys 'value' for op 'replace'"),
        ([{"op": "replace", "path": "/status", "value": "locked", "x": 1}], 400, re.compile(r"^Invalid PATCH key 'x'")),
        ([{"op": "replace", "path": "/nope", "value": 1}], 422, re.compile(r"^The entity could not be processed: ")),
    ],
)
def test_patch_document_errors(reseller: SipwiseReseller, operations: object, status: int, message) -> None:
    customer_id = reseller.customer()
    assert_error(reseller.patch(f"customers/{customer_id}", operations), status, message)


def test_customer_termination_cascades_and_blocks_changes(reseller: SipwiseReseller) -> None:
    customer_id = reseller.customer()
    subscriber_id = reseller.subscriber(customer_id)
    locked = reseller.patch(f"customers/{customer_id}", [{"op": "replace", "path": "/status", "value": "locked"}])
    assert locked.status_code == 204
    assert reseller.get(f"subscribers/{subscriber_id}")["status"] == "locked"
    terminated = reseller.patch(
        f"customers/{customer_id}",
        [{"op": "replace", "path": "/status", "value": "terminated"}],
        prefer="return=representation",
    )
    assert terminated.status_code == 200 and terminated.json()["status"] == "terminated"
    assert_error(reseller.http.get(f"subscribers/{subscriber_id}"), 404, "Entity 'subscriber' not found.")
    assert reseller.get("customers/", params={"status": "terminated"})["total_count"] == 1
    again = reseller.patch(f"customers/{customer_id}", [{"op": "replace", "path": "/status", "value": "active"}])
    assert_error(again, 422, "Customer is already terminated and cannot be changed.")


def test_contact_in_use_is_locked_423_until_customer_terminated(reseller: SipwiseReseller) -> None:
    customer_id = reseller.customer()
    contact_id = reseller.get(f"customers/{customer_id}")["contact_id"]
    assert_error(reseller.http.delete(f"customercontacts/{contact_id}"), 423, "Contact is still in use.")
    assert reseller.get(f"customercontacts/{contact_id}")["id"] == contact_id
    reseller.patch(f"customers/{customer_id}", [{"op": "replace", "path": "/status", "value": "terminated"}])
    assert reseller.http.delete(f"customercontacts/{contact_id}").status_code == 204
    assert_error(reseller.http.get(f"customercontacts/{contact_id}"), 404, "Entity 'customercontact' not found.")


def test_subscriber_create_fetch_and_representation(reseller: SipwiseReseller) -> None:
    primary, alias = fresh_sipwise_number(), fresh_sipwise_number(area_code="9877")
    body = reseller.subscriber_body(
        reseller.customer(), sn=primary["sn"], alias_numbers=[{**alias, "sn": int(alias["sn"])}], external_id="crm-42"
    )
    subscriber_id = reseller.created("subscribers", body)
    doc = reseller.get(f"subscribers/{subscriber_id}")
    assert doc["domain"] == reseller.settings["domain"] and doc["username"] == "test_10001"
    assert doc["webusername"] == "test_10001" and doc["password"] == "secret subscriber pass"
    assert {k: doc["primary_number"][k] for k in ("cc", "ac", "sn")} == primary
    assert isinstance(doc["primary_number"]["number_id"], int)
    aliases = [(n["cc"], n["ac"], n["sn"], n["is_devid"]) for n in doc["alias_numbers"]]
    assert aliases == [("43", "9877", alias["sn"], False)]
    assert doc["status"] == "active" and doc["external_id"] == "crm-42" and "webpassword" not in doc
    assert doc["_links"]["ngcp:callforwards"] == [{"href": f"/sipwise/api/callforwards/{subscriber_id}"}]
    found = reseller.get("subscribers/", params={"username": "test_10001", "domain": reseller.settings["domain"]})
    assert found["_embedded"]["ngcp:subscribers"][0]["id"] == subscriber_id
    by_alias = reseller.get("subscribers/", params={"alias": "439877" + alias["sn"]})
    assert by_alias["total_count"] == 1


def test_subscriber_semantic_errors(reseller: SipwiseReseller) -> None:
    customer_id = reseller.customer()
    held = fresh_sipwise_number()["sn"]
    reseller.subscriber(customer_id, sn=held)
    duplicate = reseller.post("subscribers", reseller.subscriber_body(customer_id))
    assert_error(duplicate, 422, "Subscriber already exists.")
    number_taken = reseller.post("subscribers", reseller.subscriber_body(customer_id, username="other", sn=held))
    assert_error(number_taken, 422, f"Number '43-9876-{held}' already exists.")
    unknown_customer = reseller.post("subscribers", reseller.subscriber_body(99999999, username="x"))
    assert_error(unknown_customer, 422, "Invalid 'customer_id', doesn't exist.")
    unknown_domain = reseller.post("subscribers", reseller.subscriber_body(customer_id, "y", domain="no.example"))
    assert_error(unknown_domain, 422, "Invalid 'domain', doesn't exist.")
    not_a_hash = reseller.post("subscribers", reseller.subscriber_body(customer_id, "z", primary_number=["123"]))
    assert_error(not_a_hash, 422, "Invalid primary_number parameter, must be a hash.")
    bad_name = reseller.post("subscribers", reseller.subscriber_body(customer_id, username="has space"))
    assert_error(bad_name, 422, re.compile(r"field='username'.*Cannot contain spaces\."))


def test_max_subscribers_is_403(reseller: SipwiseReseller) -> None:
    customer_id = reseller.customer(max_subscribers=1)
    reseller.subscriber(customer_id)
    second = reseller.post("subscribers", reseller.subscriber_body(customer_id, username="b"))
    assert_error(second, 403, "Maximum number of customer subscribers reached.")


def test_subscriber_put_replaces_numbers_and_guards_identity(reseller: SipwiseReseller) -> None:
    subscriber_id = reseller.subscriber()
    doc = reseller.get(f"subscribers/{subscriber_id}")
    alias = fresh_sipwise_number(country_code="1", area_code="5432")
    doc["alias_numbers"].append(alias)
    updated = reseller.put(f"subscribers/{subscriber_id}", doc, prefer="return=representation")
    assert updated.status_code == 200, updated.text
    assert [n["sn"] for n in updated.json()["alias_numbers"]] == [alias["sn"]]
    assert updated.json()["primary_number"]["number_id"] == doc["primary_number"]["number_id"]
    renamed = reseller.put(f"subscribers/{subscriber_id}", {**doc, "username": "renamed"})
    assert_error(renamed, 422, "Subscriber with this username does not exist in the domain.")
    moved = reseller.put(f"subscribers/{subscriber_id}", {**doc, "customer_id": reseller.customer()})
    assert_error(moved, 422, "customer_id can't be changed.")
    removed = reseller.patch(
        f"subscribers/{subscriber_id}", [{"op": "remove", "path": "/alias_numbers", "value": {"sn": alias["sn"]}}]
    )
    assert removed.status_code == 204
    assert reseller.get(f"subscribers/{subscriber_id}")["alias_numbers"] == []


def test_subscriber_delete_terminates_and_frees_username_and_numbers(reseller: SipwiseReseller) -> None:
    customer_id = reseller.customer()
    number = fresh_sipwise_number()["sn"]
    subscriber_id = reseller.subscriber(customer_id, sn=number)
    assert reseller.http.delete(f"subscribers/{subscriber_id}").status_code == 204
    assert_error(reseller.http.get(f"subscribers/{subscriber_id}"), 404, "Entity 'subscriber' not found.")
    assert_error(reseller.http.get(f"callforwards/{subscriber_id}"), 404, "Entity 'callforward' not found.")
    reused = reseller.subscriber(customer_id, sn=number)  # the same username and number, free again
    assert reused != subscriber_id
    assert reseller.state()["terminated_subscribers"][str(subscriber_id)]["status"] == "terminated"


# --------------------------------------------------------------------- call forwards
def test_callforwards_item_holds_seven_types(reseller: SipwiseReseller) -> None:
    subscriber_id = reseller.subscriber()
    doc = reseller.get(f"callforwards/{subscriber_id}")
    doc.pop("_links")
    assert doc == {cf: {} for cf in ("cfu", "cfb", "cft", "cfna", "cfs", "cfr", "cfo")}


def test_callforwards_put_replaces_all_types(reseller: SipwiseReseller) -> None:
    subscriber_id = reseller.subscriber()
    path = f"callforwards/{subscriber_id}"
    first = {
        "cfu": {"destinations": [{"destination": "4366610001", "timeout": 200}]},
        "cft": {
            "destinations": [{"destination": "5678"}, {"destination": "voicebox", "timeout": 500, "priority": 2}],
            "ringtimeout": 10,
        },
        "cfna": {
            "destinations": [{"destination": "sip:bob@example.org", "timeout": 10}],
            "times": [{"wday": "2-6", "hour": "8-17", "minute": None}],
        },
    }
    shown = reseller.put(path, first, prefer="return=representation")
    assert shown.status_code == 200, shown.text
    doc = shown.json()
    domain = reseller.settings["domain"]
    assert doc["cfu"]["destinations"][0]["timeout"] == 200
    assert doc["cft"]["destinations"][0]["destination"] == f"sip:5678@{domain}"
    assert doc["cft"]["destinations"][0]["simple_destination"] == "5678"
    assert doc["cft"]["destinations"][0]["priority"] == 1 and doc["cft"]["destinations"][0]["timeout"] == 300
    assert doc["cft"]["destinations"][1]["destination"] == "voicebox"
    assert doc["cft"]["ringtimeout"] == 10
    assert doc["cfna"]["destinations"][0]["simple_destination"] == "bob@example.org"
    office_hours = {"wday": "2-6", "hour": "8-17", "minute": None, "mday": None, "month": None, "year": None}
    assert doc["cfna"]["times"] == [office_hours]
    assert reseller.get(f"subscriberpreferences/{subscriber_id}")["ringtimeout"] == 10
    # A second PUT without cfu and cft deletes them (and the ring timeout with cft).
    assert reseller.put(path, {"cfna": first["cfna"]}).status_code == 204
    doc = reseller.get(path)
    assert doc["cfu"] == {} and doc["cft"] == {} and doc["cfna"]["destinations"]
    assert "ringtimeout" not in reseller.get(f"subscriberpreferences/{subscriber_id}")


def test_callforwards_validation_and_ids(reseller: SipwiseReseller) -> None:
    subscriber_id = reseller.subscriber()
    bad_timeout = reseller.put(
        f"callforwards/{subscriber_id}", {"cfu": {"destinations": [{"destination": "1", "timeout": "foobar"}]}}
    )
    assert_error(bad_timeout, 422, re.compile(r"^Validation failed\. field='cfu\.destinations\.0\.timeout'"))
    bad_time = reseller.put(
        f"callforwards/{subscriber_id}",
        {"cfu": {"destinations": [{"destination": "1"}], "times": [{"hour": "8-25"}]}},
    )
    assert_error(bad_time, 422, re.compile("Second value too big"))
    assert_error(reseller.http.get("callforwards/abc"), 400, "Invalid id in request URI")
    assert_error(reseller.http.get("callforwards/99987"), 404, "Entity 'callforward' not found.")
    patched = reseller.patch(
        f"callforwards/{subscriber_id}",
        [{"op": "replace", "path": "/cfb", "value": {"destinations": [{"destination": "voicebox"}]}}],
    )
    assert patched.status_code == 204
    assert reseller.get(f"callforwards/{subscriber_id}")["cfb"]["destinations"][0]["destination"] == "voicebox"
    assert reseller.http.delete(f"callforwards/{subscriber_id}").status_code == 204
    assert reseller.get(f"callforwards/{subscriber_id}")["cfb"] == {}


def test_callforward_times_hold_dates_and_decide_when_a_forward_applies(reseller: SipwiseReseller) -> None:
    """notes-sipwise.md 5.6: ``times`` entries of ``year``, ``month``, ``mday``, ``wday``, ``hour``,
    ``minute``, each a number or a range "a-b" (null: any), ranges cyclic when a > b, wday 1 =
    Sunday; no times: always; years 1990-3000."""
    subscriber_id = reseller.subscriber()
    path = f"callforwards/{subscriber_id}"
    holiday = [  # 24 Dec 2026 18:00 to 2 Jan 2027 08:00, as the portal's adapter writes it
        {"year": "2026", "month": "12", "mday": "24", "wday": "1-7", "hour": "18-23", "minute": None},
        {"year": "2026", "month": "12", "mday": "25-31", "wday": None, "hour": None, "minute": None},
        {"year": 2027, "month": 1, "mday": 1, "wday": None, "hour": None, "minute": None},
        {"year": "2027", "month": "1", "mday": "2", "wday": None, "hour": "0-7", "minute": None},
    ]
    night = [{"wday": "2-6", "hour": "18-8"}]  # weekdays, overnight: a cyclic hour range
    body = {"cfu": {"destinations": [{"destination": "4366610001"}], "times": holiday},
            "cfna": {"destinations": [{"destination": "voicebox"}], "times": night},
            "cfb": {"destinations": [{"destination": "voicebox"}]}}
    assert reseller.put(path, body).status_code == 204
    times = reseller.get(path)["cfu"]["times"]
    assert times[2] == {"year": "2027", "month": "1", "mday": "1", "wday": None, "hour": None, "minute": None}
    assert [t["mday"] for t in times] == ["24", "25-31", "1", "2"]

    def applies(at: str) -> dict[str, bool]:
        response = reseller.control.get(f"/_sandbox/accounts/{reseller.doc['id']}/routing/{subscriber_id}",
                                        params={"at": at})
        assert response.status_code == 200, response.text
        return {cf: forward["applies"] for cf, forward in response.json()["forwards"].items()}

    assert applies("2026-12-24T17:59") == {"cfu": False, "cfna": False, "cfb": True}  # a Thursday, before 18:00
    assert applies("2026-12-24T18:00") == {"cfu": True, "cfna": True, "cfb": True}
    assert applies("2026-12-31T23:59")["cfu"] and applies("2027-01-02T07:59")["cfu"]
    assert applies("2027-01-02T08:00")["cfu"] is False and applies("2027-12-25T12:00")["cfu"] is False
    assert applies("2026-12-28T03:00")["cfna"] is True  # Monday 03:00, in "18-8"
    assert applies("2026-12-27T03:00")["cfna"] is False  # Sunday (wday 1)
    too_late = reseller.put(path, {"cfu": {"destinations": [{"destination": "1"}], "times": [{"year": "3001"}]}})
    assert_error(too_late, 422, re.compile("First value too big"))
    unknown = reseller.control.get(f"/_sandbox/accounts/{reseller.doc['id']}/routing/99987", params={"at": "2026-12-24T18:00"})
    assert unknown.status_code == 404


def test_subscriber_preferences_put_and_patch(reseller: SipwiseReseller) -> None:
    subscriber_id = reseller.subscriber()
    path = f"subscriberpreferences/{subscriber_id}"
    prefs = reseller.get(path)
    prefs.pop("_links")
    prefs.update(allowed_ips=["192.0.2.0/24"], concurrent_max=4, block_in_clir=True, no_such_pref=1)
    assert reseller.put(path, prefs).status_code == 204
    doc = reseller.get(path)
    assert doc["allowed_ips"] == ["192.0.2.0/24"] and doc["concurrent_max"] == 4 and doc["block_in_clir"] is True
    assert "no_such_pref" not in doc
    added = reseller.patch(path, [{"op": "add", "path": "/allowed_ips", "value": ["198.51.100.7"], "mode": "append"}])
    assert added.status_code == 204
    assert reseller.get(path)["allowed_ips"] == ["192.0.2.0/24", "198.51.100.7"]
    wrong_shape = reseller.patch(path, [{"op": "add", "path": "/concurrent_max", "value": [1]}])
    assert_error(wrong_shape, 422, "Invalid data type 'ARRAY' for preference 'concurrent_max', expected flat value")


# ------------------------------------------------------------------------- isolation
def test_accounts_never_see_each_other(
    new_sandbox_account: Callable[[str], dict], sandbox_control: httpx.Client
) -> None:
    alice = SipwiseReseller(new_sandbox_account("sipwise"), sandbox_control)
    bob = SipwiseReseller(new_sandbox_account("sipwise"), sandbox_control)
    customer_id = alice.customer()
    subscriber_id = alice.subscriber(customer_id)
    assert_error(bob.http.get(f"customers/{customer_id}"), 404, "Entity 'customer' not found.")
    assert_error(bob.http.get(f"subscribers/{subscriber_id}"), 404, "Entity 'subscriber' not found.")
    assert_error(bob.http.delete(f"subscribers/{subscriber_id}"), 404, "Entity 'subscriber' not found.")
    assert bob.get("customers/")["total_count"] == 0
    foreign = bob.post("subscribers", alice.subscriber_body(customer_id, "x", domain=bob.settings["domain"]))
    assert_error(foreign, 422, "Invalid 'customer_id', doesn't exist.")
    bobs_customer = bob.customer()
    assert bobs_customer != customer_id
    assert alice.get(f"subscribers/{subscriber_id}")["status"] == "active"
    assert str(bobs_customer) not in alice.state()["customers"]
    # Bob's credentials against Alice's username are still a 401.
    mixed = httpx.get(alice.doc["base_url"] + "customers/", auth=(alice.settings["username"], bob.settings["password"]))
    assert mixed.status_code == 401


# ---------------------------------------------------------------------------- faults
def test_injected_fault_is_worded_like_the_platform(reseller: SipwiseReseller, sandbox_control: httpx.Client) -> None:
    fault = {"carrier": "sipwise", "fail_next": {"count": 1, "status": 503}}
    assert sandbox_control.put("/_sandbox/faults", json=fault).status_code == 200
    try:
        assert_error(reseller.http.get("customers/"), 503, "Service Unavailable")
        assert reseller.http.get("customers/").status_code == 200
    finally:
        sandbox_control.delete("/_sandbox/faults")


def test_injected_rate_limit_carries_retry_after(reseller: SipwiseReseller, sandbox_faults) -> None:
    limit = {"requests": 1, "window_seconds": 60}
    sandbox_faults({"carrier": "sipwise", "account": reseller.doc["id"], "rate_limit": limit})
    assert reseller.http.get("customers/").status_code == 200
    limited = reseller.http.get("customers/")
    assert_error(limited, 429, "Too Many Requests")
    assert 1 <= int(limited.headers["retry-after"]) <= 60


# -------------------------------------------- fidelity with the platform's own tests (#16)
def test_domain_names_may_hold_underscores(reseller: SipwiseReseller) -> None:
    """notes 5.4: ``domain`` is a host name; the platform takes ``_`` (upstream fixtures create such)."""
    name = f"api_test_{fresh_sipwise_number()['sn']}.example.org"
    domain_id = reseller.created("domains", {"domain": name})
    assert reseller.get(f"domains/{domain_id}")["domain"] == name
    assert_error(reseller.post("domains", {"domain": "-bad-.example"}), 422, re.compile("Invalid domain name"))


def test_billing_profiles_have_a_status(reseller: SipwiseReseller) -> None:
    """notes 5.3 and api-billingprofiles.t: a profile shows ``status``; PATCH to ``terminated`` answers
    200 and the profile is then gone (404)."""
    profile_id = reseller.created("billingprofiles", {"name": "Gold", "handle": "gold_1"})
    profile = reseller.get(f"billingprofiles/{profile_id}")
    assert profile["status"] == "active"
    profile.pop("_links")
    unchanged = reseller.put(f"billingprofiles/{profile_id}", profile, prefer="return=representation")
    assert unchanged.status_code == 200 and {k: v for k, v in unchanged.json().items() if k != "_links"} == profile
    terminated = reseller.patch(
        f"billingprofiles/{profile_id}", [{"op": "replace", "path": "/status", "value": "terminated"}],
        prefer="return=representation",
    )  # fmt: skip
    assert terminated.status_code == 200 and terminated.json()["status"] == "terminated"
    assert_error(reseller.http.get(f"billingprofiles/{profile_id}"), 404, "Entity 'billingprofile' not found.")
    wrong = reseller.post("billingprofiles", {"name": "X", "handle": "x_1", "status": "paused"})
    assert_error(wrong, 422, re.compile(r"field='status'"))


@pytest.mark.parametrize(
    ("field", "rows"),
    [
        ("peaktime_weekdays", [{"weekday": 1, "start": "08:00", "stop": "10:00"},
                               {"weekday": 1, "start": "10:00", "stop": "12:00"}]),
        ("peaktime_special", [{"start": "2016-01-01 08:00:00", "stop": "2016-01-02 08:00:00"},
                              {"start": "2016-01-02 08:00:00", "stop": "2016-01-02 08:00:01"}]),
    ],
)  # fmt: skip
def test_overlapping_peak_times_are_refused(reseller: SipwiseReseller, field: str, rows: list) -> None:
    """notes 7 (api-billingprofiles.t): "Overlapping peaktimes give 422 "overlap"", boundaries included."""
    response = reseller.post("billingprofiles", {"name": "Peak", "handle": "peak_1", field: rows})
    assert_error(response, 422, re.compile("overlap"))
    assert reseller.get("billingprofiles/", params={"handle": "peak_1"})["total_count"] == 0


def test_peak_times_round_trip(reseller: SipwiseReseller) -> None:
    weekdays = [{"weekday": 1, "start": "08:00", "stop": "10:00"}, {"weekday": 1, "start": "10:01", "stop": "12:00"},
                {"weekday": 2, "start": "10:00", "stop": "12:00"}]  # fmt: skip
    special = [{"start": "2016-01-01 08:00:00", "stop": "2016-01-02 07:59:59"}]
    body = {"name": "Peak", "handle": "peak_2", "peaktime_weekdays": weekdays, "peaktime_special": special}
    profile_id = reseller.created("billingprofiles", body)
    profile = reseller.get(f"billingprofiles/{profile_id}")
    assert profile["peaktime_weekdays"][0] == {"weekday": 1, "start": "08:00:00", "stop": "10:00:00"}
    assert profile["peaktime_special"] == special
    profile.pop("_links")
    again = reseller.put(f"billingprofiles/{profile_id}", profile, prefer="return=representation")
    assert again.status_code == 200 and {k: v for k, v in again.json().items() if k != "_links"} == profile
    out_of_range = reseller.put(f"billingprofiles/{profile_id}", {**profile, "peaktime_weekdays": [{"weekday": 7}]})
    assert_error(out_of_range, 422, re.compile("weekday"))


def test_a_callforwards_item_links_to_itself_by_its_relation(reseller: SipwiseReseller) -> None:
    """notes 3 and 5.6: every item carries ``ngcp:<its resource>`` links; a callforwards item too."""
    subscriber_id = reseller.subscriber()
    links = reseller.get(f"callforwards/{subscriber_id}")["_links"]
    assert links["ngcp:callforwards"] == [{"href": f"/sipwise/api/callforwards/{subscriber_id}"}]
    assert links["ngcp:subscribers"] == [{"href": f"/sipwise/api/subscribers/{subscriber_id}"}]
    listed = reseller.get("callforwards/")["_embedded"]["ngcp:callforwards"][0]["_links"]
    assert "ngcp:callforwards" in listed


def test_options_on_the_api_root_answers_like_a_collection(reseller: SipwiseReseller) -> None:
    """notes 2 (OPTIONS on a collection) and 7; the upstream root test reads ``methods``, ``Allow``
    and one ``Link`` per collection, ``</api/x/>; rel="collection …#rel-x"``."""
    for path in ("", "?foo=bar&bla"):
        response = reseller.http.options(path)
        assert response.status_code == 200
        assert response.json()["methods"] == ["GET", "HEAD", "OPTIONS"]
        assert [m.strip() for m in response.headers["allow"].split(",")] == ["GET", "HEAD", "OPTIONS"]
    links = response.headers.get_list("link")
    rels = [re.fullmatch(r'</sipwise/api/([a-z]+)/>; rel="collection http://purl\.org/sipwise/ngcp-api/#rel-\1"', link)
            for link in links]  # fmt: skip
    assert all(rels) and {"customers", "subscribers", "callforwards", "billingprofiles", "domains"} <= {
        m.group(1) for m in rels
    }
    for collection in {m.group(1) for m in rels}:
        assert reseller.http.get(f"{collection}/").status_code == 200
    assert reseller.http.get("").status_code == 200  # the documentation page


@pytest.mark.parametrize("path", ["//sipwise/api/customers/", "/sipwise//api/customers/", "/sipwise/api//customers/"])
def test_repeated_slashes_are_merged(reseller: SipwiseReseller, sandbox_url: str, path: str) -> None:
    """notes 1: the API is served by nginx (``etc/nginx/ngcp-panel``), which merges repeated slashes."""
    customer_id = reseller.customer()
    response = httpx.get(sandbox_url + path, auth=reseller.http.auth)
    assert response.status_code == 200, response.text
    assert [c["id"] for c in response.json()["_embedded"]["ngcp:customers"]] == [customer_id]


def test_numbers_are_unique_across_resellers(new_sandbox_account, sandbox_control) -> None:
    """notes 5.5: numbers are one table for the platform (unique key cc, ac, sn): another reseller's
    number is refused like one's own, and free again once its subscriber is terminated."""
    alice, bob = (SipwiseReseller(new_sandbox_account("sipwise"), sandbox_control) for _ in range(2))
    number = fresh_sipwise_number()["sn"]
    held_by_alice = alice.subscriber(sn=number)
    taken = bob.post("subscribers", bob.subscriber_body(bob.customer(), sn=number))
    assert_error(taken, 422, f"Number '43-9876-{number}' already exists.")
    as_alias = bob.post("subscribers", bob.subscriber_body(
        bob.customer(), username="b2", alias_numbers=[{"cc": "43", "ac": "9876", "sn": number}]))  # fmt: skip
    assert_error(as_alias, 422, f"Number '43-9876-{number}' already exists.")
    assert alice.http.delete(f"subscribers/{held_by_alice}").status_code == 204
    now_bobs = bob.subscriber(sn=number)
    assert bob.get(f"subscribers/{now_bobs}")["primary_number"]["sn"] == number


def test_a_master_platform_requires_a_primary_number(reseller: SipwiseReseller) -> None:
    """notes 5.5: on master, a sipaccount customer's subscriber needs a primary_number (422); the
    account knob ``require_primary_number`` makes the sandbox behave so."""
    customer_id = reseller.customer()
    without = {k: v for k, v in reseller.subscriber_body(customer_id).items() if k != "primary_number"}
    assert reseller.post("subscribers", without).status_code == 201  # released versions: optional
    response = reseller.control.patch(f"/_sandbox/accounts/{reseller.doc['id']}", json={"require_primary_number": True})
    assert response.status_code == 200
    refused = reseller.post("subscribers", {**without, "username": "second"})
    assert_error(refused, 422, "A primary_number is required for the SIP subscriber.")
    pbx = reseller.customer(type="pbxaccount")
    assert reseller.post("subscribers", {**without, "username": "third", "customer_id": pbx}).status_code == 201
    assert reseller.subscriber(customer_id, username="fourth")
