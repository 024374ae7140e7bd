"""Bad input is a 4xx in the API's error shape, never a 500: wrong types, huge numbers, unknown ids,
malformed JSON, a list where an object is expected, the wrong media type, odd query strings."""

from __future__ import annotations

import pytest

from portal.customers.models import Customer

pytestmark = pytest.mark.django_db

HUGE = 10**30
SHAPE = {"code", "detail", "fields", "errors"}


def assert_refused(response, status: int = 400):
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert set(response.json()) == SHAPE
    return response.json()


@pytest.mark.parametrize("raw", [
    "{",  # malformed
    '{"name": NaN}',  # not JSON (NaN)
    "[" * 50_000 + "]" * 50_000,  # deeper than the recursion limit
    '"just a string"',
    "[1, 2, 3]",  # a list where an object is expected
    "null",
    "\xff\xfe",
])
def test_malformed_or_misshapen_bodies(api, world, raw):
    api.as_(world["a"]["token"])
    response = api.generic("POST", "/api/v1/customers/", raw.encode("utf-8", "surrogateescape")
                           if isinstance(raw, str) else raw, content_type="application/json")
    body = assert_refused(response)
    assert body["code"] in ("parse_error", "invalid")
    assert not Customer.objects.filter(reseller=world["a"]["reseller"]).exclude(pk=world["a"]["customer"].pk).exists()


def test_other_media_types_and_charsets(api, world):
    api.as_(world["a"]["token"])
    form = api.generic("POST", "/api/v1/customers/", "name=X", content_type="application/x-www-form-urlencoded")
    assert assert_refused(form, 415)["code"] == "unsupported_media_type"
    charset = api.generic("POST", "/api/v1/customers/", b'{"name": "X"}',
                          content_type="application/json; charset=no-such-charset")
    assert_refused(charset)  # read as UTF-8 (Django ignores the unknown charset): no carrier account given
    latin1 = api.generic("POST", "/api/v1/customers/", '{"name": "Caf\xe9"}'.encode("latin-1"),
                         content_type="application/json")
    assert assert_refused(latin1)["code"] == "parse_error"
    too_big = api.generic("POST", "/api/v1/customers/", b'{"name": "' + b"x" * (1024 * 1024) + b'"}',
                          content_type="application/json")
    assert assert_refused(too_big)["code"] == "parse_error"


@pytest.mark.parametrize("value", [HUGE, -HUGE, "12", "x", [], {}, True, 1.5, None, "1e400"])
def test_wrong_types_and_huge_numbers_in_fields(api, world, value):
    a = world["a"]
    api.as_(a["token"])
    trunk = {"customer": a["customer"].pk, "name": "PBX", "type": "ip", "allowed_ips": ["192.0.2.10"],
             "channels_in": value, "max_cost_per_minute": value}
    response = api.post("/api/v1/trunks/", trunk)
    if value in ("12", None):  # a number as a string, and null, are fine for an optional count
        assert response.status_code in (201, 400)
        if response.status_code == 400:
            assert set(response.json()["fields"]) <= {"channels_in", "max_cost_per_minute"}
        return
    body = assert_refused(response)
    assert set(body["fields"]) & {"channels_in", "max_cost_per_minute"}


@pytest.mark.parametrize("value", [HUGE, -1, 0, "abc", [1], {"id": 1}, 2**63, 2**63 - 1, True])
def test_unknown_or_impossible_ids_in_fields(api, world, value):
    api.as_(world["a"]["token"])
    body = assert_refused(api.post("/api/v1/customers/", {"name": "X", "carrier_account": value}))
    assert list(body["fields"]) == ["carrier_account"]


def test_ids_in_paths_and_query_strings(api, world):
    api.as_(world["a"]["token"])
    for path in (f"/api/v1/customers/{HUGE}/", "/api/v1/customers/-1/", "/api/v1/customers/abc/",
                 f"/api/v1/customers/{2**63}/", "/api/v1/customers/0/", f"/api/v1/subscribers/{HUGE}/forwards/",
                 "/api/v1/nowhere/", "/api/v1/customers/1/nothing/"):
        assert_refused(api.get(path), 404)
    for query in (f"customer={HUGE}", "customer=abc", f"carrier_account={2**63}", "status=sleeping",
                  "sync_state=%00", "q=%00", "routed=everywhere"):
        response = api.get(f"/api/v1/numbers/?{query}")
        assert response.status_code in (200, 400), query
        if response.status_code == 400:
            assert_refused(response)
    assert_refused(api.get(f"/api/v1/customers/?page={HUGE}"), 404)
    assert_refused(api.get("/api/v1/customers/?page=abc"), 404)
    assert api.get(f"/api/v1/customers/?page_size={HUGE}").status_code == 200
    assert api.get("/api/v1/customers/?page_size=-5&ordering=no_such_field,-name").status_code == 200
    for query in ("since=99999-01-01", "since=yesterday", f"object_id={HUGE}", f"actor={HUGE}", f"actor={2**63}",
                  "object_type=x", "object_id=1.5", "action=explode"):
        assert_refused(api.get(f"/api/v1/audit-log/?{query}"))
    # ISO 8601 allows offsets up to ±23:59, PostgreSQL stores ±15:59: the instant is taken as UTC first.
    assert api.get("/api/v1/audit-log/?until=0279-04-17T15:24:24-16:31&since=0094-04-09T11:23:31Z").status_code == 200
    assert_refused(api.get("/api/v1/audit-log/?since=0001-01-01T00:00:00%2B05:00"))  # before year 1 in UTC


def test_null_bytes_and_very_long_text(api, world):
    a = world["a"]
    api.as_(a["token"])
    body = assert_refused(api.post("/api/v1/customers/", {"name": "Nul\x00l", "carrier_account": a["account"].pk}))
    assert "name" in body["fields"]
    body = assert_refused(api.post("/api/v1/customers/", {"name": "x" * 100_000, "carrier_account": a["account"].pk}))
    assert "name" in body["fields"]
    body = assert_refused(api.put(f"/api/v1/numbers/{a['number'].pk}/forwards/", {"forwards": [
        {"type": "unconditional", "destinations": [{"target": "\x00"}]}]}))
    assert list(body["fields"]) == ["forwards.0.destinations.0.target"]
    body = assert_refused(api.post("/api/v1/trunks/", {"customer": a["customer"].pk, "name": "P", "type": "ip",
                                                       "allowed_ips": ["\x00"]}))
    assert "allowed_ips.0" in body["fields"]


def test_a_list_where_an_object_is_expected_in_nested_fields(api, world):
    a = world["a"]
    api.as_(a["token"])
    body = assert_refused(api.put(f"/api/v1/numbers/{a['number'].pk}/forwards/", {"forwards": {"type": "busy"}}))
    assert "forwards" in body["fields"]
    body = assert_refused(api.put(f"/api/v1/numbers/{a['number'].pk}/forwards/", {"forwards": [[1, 2]]}))
    assert "forwards.0" in body["fields"]
    body = assert_refused(api.put(f"/api/v1/numbers/{a['number'].pk}/forwards/", {"forwards": [
        {"type": "busy", "windows": [{"weekdays": [9], "start": "25:00", "end": "x"}]}]}))
    assert {"forwards.0.windows.0.weekdays.0", "forwards.0.windows.0.start",
            "forwards.0.windows.0.end"} <= set(body["fields"])
    body = assert_refused(api.post("/api/v1/drift/1/resolve/", [1]), 404)
