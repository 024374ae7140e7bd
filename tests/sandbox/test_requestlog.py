"""Masking in the request log, in process, for the shapes a live request rarely takes.

The live check (every carrier, over HTTP) is ``test_control.py::test_log_masks_every_credential``.
"""

from __future__ import annotations

import json

from portal.sandbox.requestlog import MAX_BODY, masked_body, masked_headers, masked_query


def test_a_body_too_long_to_parse_is_scrubbed_as_text():
    body = b'{"username": "u", "password": "hunter2-long-secret", "filler": "' + b"x" * (5 * MAX_BODY) + b'"}'
    logged = masked_body(body)
    assert "hunter2-long-secret" not in logged and '"password": "*****"' in logged
    assert len(logged.encode()) <= MAX_BODY


def test_a_json_body_cut_short_keeps_its_secrets_masked():
    assert masked_body(b'{"secret": "abc123", "name": "t1", "desc') == '{"secret": "*****", "name": "t1", "desc'


def test_search_terms_are_not_mistaken_for_secrets():
    # Simwood's allocated-numbers report filters by a meta "key" (notes-simwood-surevoip.md 1.6).
    assert masked_query("pattern=4420*&key=cust-403010") == "pattern=4420*&key=cust-403010"
    body = b'{"email": "ann@example.com", "meta": {"key": "cust-1"}}'
    assert masked_body(body) == body.decode()  # untouched, byte for byte


def test_nested_and_patch_secrets_are_masked():
    operations = [
        {"op": "replace", "path": "/webpassword", "value": "w-secret"},
        {"op": "add", "path": "/alias_numbers", "value": [{"cc": "44", "ac": "113", "sn": "4960001"}]},
    ]
    logged = json.loads(masked_body(json.dumps(operations).encode()))
    assert logged[0]["value"] == "*****" and logged[1] == operations[1]
    sip_uri = masked_body(b'{"destination": "https://user:pw-secret@pbx.example.com/x"}')
    assert "pw-secret" not in sip_uri


def test_headers_keep_only_the_scheme_of_a_credential():
    sent = [(b"Authorization", b"Bearer abc.def"), (b"X-APIKEY", b"k-1"), (b"Cookie", b"s=1")]
    sent.append((b"Prefer", b"return=minimal"))
    assert masked_headers(sent) == {
        "authorization": "Bearer *****", "x-apikey": "*****", "cookie": "*****", "prefer": "return=minimal",
    }  # fmt: skip
