"""Simwood API v3, as its documents (v3.20) and our research notes describe it.

Served under ``/simwood/v3/`` (the real ``https://api.simwood.com/v3/``). Emulated:

* ``tools/time``, ``tools/myip`` (no authentication);
* ``accounts/{A}/prepay/balance``;
* ``numbers/{A}/available/{all|gold|standard}/{1|10|100}`` with ``pattern`` and
  ``country_code``: a bare array, cheapest first;
* ``numbers/{A}/allocated/{all|10|100|1000|10000}`` (a report: hash, then ``files``),
  ``numbers/{A}/available/consecutive/{10|20|…|100}`` (a report of one run of that many
  consecutive available numbers);
  ``numbers/{A}/allocated/{N}`` GET / PUT (allocate, no body) / DELETE (release);
* ``numbers/{A}/allocated/{N}/config`` GET / PUT / DELETE with the full validation of
  ``options``, ``rules``, ``routing`` and ``meta`` (all-or-nothing, documented texts);
* the account's default config, GET / PUT / DELETE at both ``numbers/{A}/default/config``
  and ``numbers/{A}/allocated/default/config`` (the path is unconfirmed; clients use both);
* ``numbers/{A}/allocated/{N}/999`` GET / PUT;
* ``files/{A}`` and ``files/{A}/{HASH}`` (204 until ready, 200 once, then 404);
* ``voice/{A}/trunks`` (and the deprecated alias ``voice/{A}/outbound``): list, GET /
  PUT (create or update) / DELETE, ``acl``, ``acl/{IP}``, ``password_reset``.

Each account is one Simwood account: a unique six-digit account number, an API user and
key, a prepay balance, its own stock of available numbers (unique across the sandbox,
built from the account number) and its default ``{A}-L001`` IP trunk.

Per-account knobs (``account.config``, set through ``PATCH /_sandbox/accounts/{id}``):
``report_ready_seconds`` (default 0.2), ``report_expiry_seconds`` (default 300) and
``config_error_status`` (default 400; 200 answers config errors the way the RS client
models them).

Choices made where the documents and research notes are silent (also in
``docs/sandbox/simwood.md``):

* Order of checks: tools need nothing; otherwise credentials (401 with
  ``WWW-Authenticate: Basic realm="Simwood API"``), then the path (404), then the
  ``{ACCOUNT}`` in the path against the credentials' account (403 ``Access denied``),
  then the method (405), then the operation.
* Every error the sandbox words itself is ``{"success": false, "errors": ["..."]}``
  (the documented number-config shape) with ``Content-Type: application/json``; trunk
  errors are ``{"errors": [...]}`` with 400, as the RS client models them.
* Method leniency: ``?_method=`` overrides the verb; POST is taken for PUT and GET for
  POST where the endpoint has no handler of its own for that verb. DELETE is strict.
* Enumerated path segments outside their lists, unknown paths, numbers not on the
  account (or not in the stock, for PUT) and unknown trunks or files: 404.
* A repeat allocate of one's own number answers 200 with the number's link object.
  Released numbers do not return to the stock ("irrevocably removed").
  Allocating a gold number takes its ``wholesale_gold_premium`` off the prepay balance.
* Reports are snapshots taken when first requested; an identical request (same
  account, kind, parameters and day) returns the same hash until the file is
  collected or has expired. The file is ready ``report_ready_seconds`` after the
  request and expires ``report_expiry_seconds`` after it became ready. ``link`` points
  at the sandbox path (``/simwood/v3/files/...``). The ``callback`` parameter is
  accepted and ignored (the sandbox makes no outbound requests).
* Report rows: ``country_code``, ``number`` (national, no country code), ``block``,
  ``bill_class``, ``SMS``. The report request answers ``mode`` (``all`` or
  ``quantity``), ``quantity`` (for the numbered forms), ``type``
  (``numbers_allocated``), ``account``, ``format``, ``hash``, ``link`` and
  ``include_mobile_ott`` (false). An empty file list is ``[]`` (PHP's empty array).
* Number config: GET on a number without config answers ``[]``. A PUT body that is
  not JSON (or has no JSON ``payload`` form field) answers ``Configuration is not
  valid JSON.``. ``routing`` must hold ``default``; every step and every block list
  must be non-empty; unknown block parameters, ``timeout`` on ``busy``/``fax`` and
  missing mandatory parameters are errors worded ``Routing block 'NAME' step S
  endpoint E parameter 'P' is invalid.`` (indices count from 0, as do the documented
  rule entries). Rule names may use ``a-z``, ``0-9`` and ``_`` (the documented example
  has digits); a period must be a non-empty object of ``dow``/``time``/``day``/
  ``month`` arrays; ``time`` is two HHMM values (00:00-23:59) with start before end.
  ``pstn`` numbers and ``cli`` are E.164 digits without ``+``; ``maxcpm``/``maxcpc``
  are non-negative numbers; ``trunk`` (number options and pstn blocks) must be a trunk
  of the account, and the account default config takes no ``options.trunk`` (a
  number-level association); a ``reg`` user is any SIP user name (1-64 characters, no
  space, ``@``, ``:`` or ``;``): an unregistered one is skipped at call time; a ``sip``
  endpoint is ``user@host[:port][;|:transport=udp|tcp|tls]``. ``meta`` is an object (or ``[]``) of
  at most 512 bytes as JSON, whose ``key`` is a string of at most 40 characters.
* Consecutive report: the first run (by number) of N consecutive stock numbers that all
  match ``pattern``, rows as the search shows them; ``[]`` when there is none. The request
  answers ``mode`` ``consecutive``, ``quantity``, ``type`` ``numbers_available_consecutive``
  and the usual ``account``, ``format``, ``hash``, ``link``.
* Where a call goes at a moment (the control API's ``routing``, ``routing_at``): a rule
  period matches when each of its fields does (``dow``/``day``/``month`` as sets, ``time``
  from its start to before its end, 2359 to midnight); the routing block taken is the first
  of ``routing``'s keys whose rule matches, else ``default`` (precedence is undocumented).
* Trunk and 999 PUTs: a body that is neither a JSON object (``[]`` counts as none) nor
  well-formed form parameters is a 400 (trunks ``{"errors": [...]}``, 999 the
  ``success: false`` shape), never read as "no parameters".
* 999: a ``null`` field is an absent one (optional fields may be null). PUT takes JSON
  (or form fields), rejects unknown fields, needs the five mandatory fields, the
  documented lengths and an upper-case ``OUT IN`` postcode.
  Answers are arrays of one record with ``status`` (``submitted``), ``from`` and ``to``.
  GET on a number without 999 details answers ``[]``.
* Trunks: names are ``{ACCOUNT}-{ID}`` with ID of 1-24 upper-case letters and digits
  (all the documented examples). PUT on a new name creates it with ``type`` (``IP`` or
  ``auth``, any case, default ``auth``; another value is a 400) and ignores the other
  options ("only to be used when updating"); PUT on an existing trunk applies the
  valid options and silently drops invalid or unknown ones. Flags take 0/1, limits a
  non-negative integer or null, rates ``N/(1s|10s|12h)`` or null, costs a
  non-negative number, ``max_dur`` a positive integer, ``cli_default`` E.164 digits,
  ``nni_default`` a number on the account. Values come back as strings (or null), as
  the RS client models them. The password of an auth trunk (24 hex digits) is in
  ``pass`` on create and on ``password_reset`` only; IP trunks have none (reset: 400).
  DELETE answers ``{"success": true}``; the default L001 trunk cannot be deleted (400).
* ACLs belong to IP trunks only (400 otherwise); ``acl/{IP}`` takes one IPv4 or IPv6
  address (400 otherwise); adding a listed address again is a no-op; removing an
  unlisted one is a 404. PUT and DELETE answer ``{"success": true}``.
* No rate limit or rate-limit headers are documented, so the sandbox sends none;
  injected faults use the error shape above: 429 ``Too many requests`` with
  ``Retry-After``, 5xx with the status's reason phrase.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import random
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..base import Account, CarrierEmulator, basic_credentials, new_secret, seconds_knob, whole_number_knob

REPORT_READY_SECONDS = 0.2
REPORT_EXPIRY_SECONDS = 300.0
CONFIG_ERROR_STATUS = 400
OPENING_BALANCE = "100.00000"
CURRENCY = "GBP"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
UK = "44"
# Gold numbers are the repdigit endings (…00, …11, …); their set-up fee rises with the digit.
GOLD_PREMIUMS = {digit: (2.5 * (1 + digit // 2), 5.0 * (1 + digit // 2)) for digit in range(10)}
REPORT_SIZES = ("all", "10", "100", "1000", "10000")
REPORT_CRITERIA = ("pattern", "key", "filter_config")
SEARCH_TIERS = ("all", "gold", "standard")
SEARCH_COUNTS = ("1", "10", "100")
CONSECUTIVE_COUNTS = tuple(str(n) for n in range(10, 101, 10))
META_MAX_BYTES = 512
META_KEY_MAX = 40
E164_DIGITS = re.compile(r"[1-9]\d{6,14}")
RULE_NAME = re.compile(r"[a-z0-9_]+")
REG_USER = re.compile(r"[^\s@:;]{1,64}")
TRUNK_ID = re.compile(r"[A-Z0-9]{1,24}")
SIP_ENDPOINT = re.compile(
    r"[^@\s:;]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?(?:[:;]transport=(?:udp|tcp|tls))?"
)
UK_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}")
RATE_LIMIT = re.compile(r"\d+/(?:1s|10s|12h)")


# ------------------------------------------------------------------ rendering
def encode(payload: Any, pretty: bool = False) -> bytes:
    """JSON as PHP's json_encode writes it: compact, ASCII, ``/`` escaped as ``\\/``."""
    if pretty:
        text = json.dumps(payload, indent=4)
    else:
        text = json.dumps(payload, separators=(",", ":"))
    # "/" can only occur inside JSON strings, so escaping it textually is safe.
    return text.replace("/", "\\/").encode("ascii")


def wants_pretty(request: Request) -> bool:
    return request.query_params.get("pretty") == "true"


def json_response(request: Request, payload: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        encode(payload, wants_pretty(request)),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def error_response(request: Request, status: int, *messages: str, headers: dict | None = None) -> Response:
    return json_response(request, {"success": False, "errors": list(messages)}, status, headers)


def trunk_error(request: Request, message: str, status: int = 400) -> Response:
    return json_response(request, {"errors": [message]}, status)


def success(request: Request) -> Response:
    return json_response(request, {"success": True})


def now_text(moment: float | None = None) -> str:
    stamp = datetime.fromtimestamp(moment if moment is not None else time.time(), timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S")


# ------------------------------------------------------------------ request input
class UnreadableBody(ValueError):
    """A body that is neither a JSON object nor form parameters."""


UNREADABLE_BODY = "Request body must be a JSON object or form parameters (name=value&...)."


async def request_params(request: Request, *, strict: bool = False) -> dict[str, Any]:
    """GET/POST/PUT parameters: the query string, overlaid by a JSON or form body.

    ``strict``: a body that is neither a JSON object (or ``[]``, PHP's empty array) nor
    well-formed form parameters raises :class:`UnreadableBody` instead of being read as
    no parameters at all (a client once sent the text ``System.Collections.Hashtable``).
    """
    params: dict[str, Any] = dict(request.query_params)
    params.pop("pretty", None)
    params.pop("_method", None)
    raw = await request.body()
    if not raw.strip():
        return params
    try:
        body = json.loads(raw)
    except ValueError:
        text = raw.decode("utf-8", "replace").strip()
        try:
            params.update(parse_qsl(text, keep_blank_values=strict, strict_parsing=strict))
        except ValueError:
            raise UnreadableBody(UNREADABLE_BODY) from None
        return params
    if isinstance(body, dict):
        params.update(body)
    elif strict and body != []:
        raise UnreadableBody(UNREADABLE_BODY)
    return params


def parse_json(raw: bytes) -> Any:
    """The JSON document in ``raw`` (whatever the Content-Type says), or None."""
    try:
        return json.loads(raw)
    except ValueError:
        return None


class Invalid(ValueError):
    """A field value outside its documented form."""


# ------------------------------------------------------------------ numbers
def national(e164_digits: str) -> str:
    return e164_digits[len(UK):]


def number_row(e164_digits: str) -> dict[str, Any]:
    """The fields Simwood shows for a number in searches, reports and link objects."""
    nsn = national(e164_digits)
    return {"country_code": UK, "number": nsn, "block": nsn[:-2], "bill_class": "geo", "SMS": 0}


def offer_row(e164_digits: str, offer: dict[str, Any]) -> dict[str, Any]:
    """A number as the available-numbers search (and the consecutive report) shows it."""
    return {
        **number_row(e164_digits),
        "recommended_gold_premium": offer["recommended_gold_premium"],
        "wholesale_gold_premium": offer["wholesale_gold_premium"],
    }


def pattern_matcher(pattern: str) -> Callable[[str], bool]:
    """Wildcard (``*``) match against the national number; a leading 44 is dropped."""
    if not pattern:
        return lambda nsn: True
    if pattern.startswith(UK):
        pattern = pattern[len(UK):]
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
    return lambda nsn: regex.fullmatch(nsn) is not None


def build_stock(account_number: str) -> dict[str, dict[str, Any]]:
    """One hundred London numbers 020 3{account's last five digits} NN: repdigit endings are gold.

    020 3 is an allocated London range, so every stocked number is one a real number
    plan (and the portal's validation) accepts; account numbers are unique, so stocks
    never overlap.
    """
    stock = {}
    for ending in range(100):
        tens, units = divmod(ending, 10)
        wholesale, recommended = GOLD_PREMIUMS[tens] if tens == units else (0.0, 0.0)
        stock[f"{UK}203{account_number[-5:]}{ending:02d}"] = {
            "tier": "gold" if wholesale else "standard",
            "wholesale_gold_premium": wholesale,
            "recommended_gold_premium": recommended,
        }
    return stock


# ------------------------------------------------------------------ number config
@dataclass
class ConfigContext:
    """What validating a config needs to know about the account."""

    trunks: dict[str, dict[str, Any]]
    number_level: bool = True  # options.trunk is a number's own billing association only


BOOLEAN_OPTIONS = ("enabled", "block_payphone", "acr", "icr", "beta_in")
PERIOD_RANGES = {"dow": (1, 7), "day": (1, 31), "month": (1, 12)}
BLOCK_TYPES = ("sip", "reg", "pstn", "teams", "fax", "busy")
NO_TIMEOUT_TYPES = ("busy", "fax")
MANDATORY_BLOCK_PARAMS = {
    "sip": ("endpoint",), "reg": ("user",), "pstn": ("number",), "fax": ("method", "endpoint"),
}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_non_negative_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value >= 0 and value != float("inf")
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return False
        return number.is_finite() and number >= 0
    return False


def one_of(*allowed: str) -> Callable[[Any, ConfigContext], bool]:
    return lambda value, ctx: value in allowed


def positive_int(value: Any, ctx: ConfigContext) -> bool:
    return is_int(value) and value >= 1


def e164_digits(value: Any, ctx: ConfigContext) -> bool:
    return isinstance(value, str) and E164_DIGITS.fullmatch(value) is not None


def sip_endpoint(value: Any, ctx: ConfigContext) -> bool:
    return isinstance(value, str) and SIP_ENDPOINT.fullmatch(value) is not None


def account_trunk(value: Any, ctx: ConfigContext) -> bool:
    return value in ctx.trunks


def registration_user(value: Any, ctx: ConfigContext) -> bool:
    # Whether the user is registered is judged at call time (an unregistered one is
    # skipped), so any SIP user name is accepted, a trunk of another account included.
    return isinstance(value, str) and REG_USER.fullmatch(value) is not None


def cost(value: Any, ctx: ConfigContext) -> bool:
    return is_non_negative_number(value)


def fax_endpoint(value: Any, ctx: ConfigContext) -> bool:
    return isinstance(value, str) and bool(value.strip()) and " " not in value


OPUS = one_of("never", "always", "only", "default")
BLOCK_PARAMS: dict[str, dict[str, Callable[[Any, ConfigContext], bool]]] = {
    "sip": {"endpoint": sip_endpoint, "sdes": one_of("none", "optional", "required"), "opus": OPUS,
            "zone": one_of("slo", "lon", "ny", "sj")},
    "reg": {"user": registration_user, "sdes": one_of("optional", "required"), "opus": OPUS},
    "pstn": {"number": e164_digits, "maxcpm": cost, "maxcpc": cost, "cli": e164_digits,
             "trunk": account_trunk},
    "teams": {},
    "fax": {"method": one_of("http", "mail"), "endpoint": fax_endpoint},
    "busy": {},
}


def validate_config(config: Any, ctx: ConfigContext) -> list[str]:
    """Every error Simwood would list for this config (empty: the config is valid)."""
    if not isinstance(config, dict):
        return ["Configuration must be an object."]
    errors = [f"Unknown section '{name}' in configuration." for name in config
              if name not in ("options", "rules", "routing", "meta")]
    if "options" in config:
        errors += validate_options(config["options"], ctx)
    rules = config.get("rules", {})
    errors += validate_rules(rules)
    if "routing" not in config:
        errors.append("Section 'routing' is mandatory.")
    else:
        errors += validate_routing(config["routing"], rules if isinstance(rules, dict) else {}, ctx)
    if "meta" in config:
        errors += validate_meta(config["meta"])
    return errors


def validate_options(options: Any, ctx: ConfigContext) -> list[str]:
    if not isinstance(options, dict):
        return ["Section 'options' must be an array."]
    errors = []
    for name, value in options.items():
        if name in BOOLEAN_OPTIONS:
            if not isinstance(value, bool):
                errors.append(f"Setting '{name}' must be true or false")
        elif name == "trunk" and ctx.number_level:
            if value not in ctx.trunks:
                errors.append(f"Setting 'trunk' must be {' or '.join(sorted(ctx.trunks))}")
        else:
            errors.append(f"Invalid parameter '{name}' in settings")
    return errors


def validate_rules(rules: Any) -> list[str]:
    if not isinstance(rules, dict):
        return ["Rule must be an array."]
    errors = []
    for name, periods in rules.items():
        if RULE_NAME.fullmatch(name) is None or name == "default":
            errors.append(f"Rule name '{name}' is invalid.")
        if not isinstance(periods, list) or not periods:
            errors.append("Rule must be an array.")
            continue
        for index, period in enumerate(periods):
            if not isinstance(period, dict) or not period:
                errors.append(f"Rule '{name}' entry {index} is invalid.")
                continue
            errors += [f"Rule '{name}' entry {index} parameter '{param}' is invalid."
                       for param, value in period.items() if not valid_period_param(param, value)]
    return errors


def valid_period_param(param: str, value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    if param == "time":
        minutes = [hhmm_minutes(item) for item in value]
        return len(minutes) == 2 and None not in minutes and minutes[0] < minutes[1]
    bounds = PERIOD_RANGES.get(param)
    if bounds is None:
        return False
    low, high = bounds
    return all(is_int(item) and low <= item <= high for item in value)


def hhmm_minutes(value: Any) -> int | None:
    """Minutes after midnight of a 24 h HHMM value (int or digit string), or None."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 4:
        value = int(value)
    if not is_int(value) or value < 0:
        return None
    hours, minutes = divmod(value, 100)
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def rule_matches(periods: list[dict[str, Any]], at: datetime) -> bool:
    """Notes §1.7: a rule matches if any period matches; a period when each of its fields
    does: ``dow`` (ISO, 1 = Monday), ``day`` and ``month`` as sets of values, ``time`` from
    its start up to its end (2359, the last HHMM there is, runs to midnight)."""
    return any(period_matches(period, at) for period in periods)


def period_matches(period: dict[str, Any], at: datetime) -> bool:
    if "dow" in period and at.isoweekday() not in period["dow"]:
        return False
    if "day" in period and at.day not in period["day"]:
        return False
    if "month" in period and at.month not in period["month"]:
        return False
    if "time" in period:
        start, end = (hhmm_minutes(value) for value in period["time"])
        minute = at.hour * 60 + at.minute
        if not start <= minute < (end + 1 if end == 23 * 60 + 59 else end):
            return False
    return True


def validate_routing(routing: Any, rules: dict[str, Any], ctx: ConfigContext) -> list[str]:
    if not isinstance(routing, dict):
        return ["Routing Block must be an array."]
    errors = []
    if "default" not in routing:
        errors.append("Routing block 'default' is mandatory.")
    for name, steps in routing.items():
        if name != "default" and name not in rules:
            errors.append(f"Routing block '{name}' does not match any specified rules (or default)")
        errors += validate_steps(name, steps, ctx)
    errors += validate_fax_alone(routing)
    return errors


def validate_steps(name: str, steps: Any, ctx: ConfigContext) -> list[str]:
    if not isinstance(steps, list) or not steps:
        return ["Routing Block must be an array."]
    errors = []
    for step_index, step in enumerate(steps):
        if not isinstance(step, list) or not step:
            errors.append("Routing Block must be an array.")
            continue
        for block_index, block in enumerate(step):
            where = f"Routing block '{name}' step {step_index} endpoint {block_index}"
            bad = invalid_block_params(block, ctx)
            errors += [f"{where} parameter '{param}' is invalid." for param in bad]
        if all(isinstance(b, dict) and "zone" in b for b in step):
            errors.append(f"Routing block '{name}' step {step_index} needs one endpoint with no zone.")
    return errors


def invalid_block_params(block: Any, ctx: ConfigContext) -> list[str]:
    """The parameters of one endpoint block that are wrong, missing or not allowed."""
    if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
        return ["type"]
    kind = block["type"]
    allowed = BLOCK_PARAMS[kind]
    bad = [param for param in MANDATORY_BLOCK_PARAMS.get(kind, ()) if param not in block]
    for param, value in block.items():
        if param == "type":
            continue
        if param in ("delay", "timeout"):
            if not positive_int(value, ctx) or (param == "timeout" and kind in NO_TIMEOUT_TYPES):
                bad.append(param)
        elif param not in allowed or not allowed[param](value, ctx):
            bad.append(param)
    return bad


def validate_fax_alone(routing: dict[str, Any]) -> list[str]:
    blocks = [(name, block) for name, steps in routing.items() if isinstance(steps, list)
              for step in steps if isinstance(step, list) for block in step]
    has_fax = any(isinstance(block, dict) and block.get("type") == "fax" for _, block in blocks)
    if not has_fax:
        return []
    per_key = {name: sum(1 for key, _ in blocks if key == name) for name, _ in blocks}
    mixed = any(isinstance(b, dict) and b.get("type") != "fax" for _, b in blocks) or any(
        count > 1 for count in per_key.values()
    )
    return ["Endpoint 'fax' cannot be used in conjunction with any other endpoint."] if mixed else []


def validate_meta(meta: Any) -> list[str]:
    if meta == []:
        return []
    if not isinstance(meta, dict):
        return ["Section 'meta' must be an array."]
    errors = []
    key = meta.get("key")
    if key is not None and not (isinstance(key, str) and len(key) <= META_KEY_MAX):
        errors.append(f"Meta 'key' must be a string of at most {META_KEY_MAX} characters.")
    if len(encode(meta)) > META_MAX_BYTES:
        errors.append(f"Section 'meta' must not exceed {META_MAX_BYTES} bytes.")
    return errors


# ------------------------------------------------------------------ 999
EMERGENCY_FIELDS = {
    "title": 20, "forename": 20, "name": 50, "bussuffix": 50,
    "premises": 60, "thoroughfare": 55, "locality": 30, "postcode": 12,
}
EMERGENCY_MANDATORY = ("name", "premises", "thoroughfare", "locality", "postcode")


def validate_emergency(fields: dict[str, Any]) -> list[str]:
    errors = [f"Invalid parameter '{name}'" for name in fields if name not in EMERGENCY_FIELDS]
    for name, max_length in EMERGENCY_FIELDS.items():
        value = fields.get(name, "")
        if not isinstance(value, str):
            errors.append(f"Field '{name}' must be text")
        elif name in EMERGENCY_MANDATORY and not value.strip():
            errors.append(f"Field '{name}' is mandatory")
        elif len(value) > max_length:
            errors.append(f"Field '{name}' must be at most {max_length} characters")
    postcode = fields.get("postcode")
    if isinstance(postcode, str) and postcode.strip() and UK_POSTCODE.fullmatch(postcode) is None:
        errors.append("Field 'postcode' must be a full postcode in the form OUT IN, e.g. LS11 5DF")
    return errors


# ------------------------------------------------------------------ trunks
FLAG_FIELDS = ("enabled", "enabled_in", "enabled_out", "cli_force_default", "emergency_enabled")
FIELD_ALIASES = {"enable_in": "enabled_in"}
CONCURRENCY_FIELDS = tuple(
    f"limit_concurrent_{kind}" for kind in ("out", "out_international", "out_international_hotspot",
                                            "out_per_number", "in")
)
RATE_FIELDS = tuple(
    f"limit_rate_{kind}" for kind in ("out", "out_international", "out_international_hotspot")
)
COST_FIELDS = ("max_cpm", "max_cpc", "max_cost")
CLI_FORMATS = ("e164", "+164", "uk", "us")


def flag(value: Any, numbers: dict) -> str:
    if value in (0, 1, "0", "1") and not isinstance(value, bool):
        return str(value)
    raise Invalid


def concurrency(value: Any, numbers: dict) -> str | None:
    if value is None:
        return None
    if is_int(value) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return str(int(value))
    raise Invalid


def rate(value: Any, numbers: dict) -> str | None:
    if value is None or (isinstance(value, str) and RATE_LIMIT.fullmatch(value)):
        return value
    raise Invalid


def money(value: Any, numbers: dict) -> str | None:
    if value is None:
        return None
    if is_non_negative_number(value):
        return str(value)
    raise Invalid


def duration(value: Any, numbers: dict) -> str | None:
    if value is None:
        return None
    text = str(value) if is_int(value) else value
    if isinstance(text, str) and text.isascii() and text.isdigit() and int(text) > 0:
        return str(int(text))
    raise Invalid


def cli_format(value: Any, numbers: dict) -> str:
    if value in CLI_FORMATS:
        return value
    raise Invalid


def cli_default(value: Any, numbers: dict) -> str | None:
    if value is None or (isinstance(value, str) and E164_DIGITS.fullmatch(value)):
        return value
    raise Invalid


def network_number(value: Any, numbers: dict) -> str | None:
    if value is None or value in numbers:
        return value
    raise Invalid


TRUNK_FIELDS: dict[str, Callable[[Any, dict], Any]] = {
    **{name: flag for name in FLAG_FIELDS},
    **{name: concurrency for name in CONCURRENCY_FIELDS},
    **{name: rate for name in RATE_FIELDS},
    **{name: money for name in COST_FIELDS},
    "max_dur": duration,
    "cli_format": cli_format,
    "cli_default": cli_default,
    "nni_default": network_number,
}


def new_trunk(name: str, kind: str) -> dict[str, Any]:
    trunk: dict[str, Any] = {
        "trunk": name,
        "user": name if kind == "auth" else None,
        "type": kind,
        "serviceLevel": 0,
        "quality": "gold",
        "enabled_webrtc": "0",
        "enabled": "1",
        "enabled_in": "1",
        "enabled_out": "1",
        "cli_format": "e164",
        "cli_default": None,
        "cli_force_default": "0",
        "nni_default": None,
        "emergency_enabled": "0",
        "max_dur": None,
    }
    trunk.update({name: None for name in CONCURRENCY_FIELDS + RATE_FIELDS + COST_FIELDS})
    return trunk


def trunk_summary(trunk: dict[str, Any]) -> dict[str, Any]:
    return {key: trunk[key] for key in ("trunk", "user", "serviceLevel", "type", "enabled_webrtc")}


def normalised_ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def new_trunk_password() -> str:
    return secrets.token_hex(12)


def password_digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


# ------------------------------------------------------------------ routing table
Handler = Callable[..., Awaitable[Response]]


@dataclass
class Endpoint:
    pattern: re.Pattern[str]
    handlers: dict[str, Handler]
    public: bool = False  # answers without credentials


class SimwoodEmulator(CarrierEmulator):
    name = "simwood"
    prefix = "/simwood/v3"
    config_knobs = {
        "report_ready_seconds": seconds_knob(zero_allowed=True),
        "report_expiry_seconds": seconds_knob(zero_allowed=False),
        "config_error_status": whole_number_knob(400, 599, also=(200,)),
    }

    def __init__(self, store) -> None:
        super().__init__(store)
        # API user -> sandbox account id: identifying a request is one dict lookup.
        self._by_user: dict[str, str] = {}
        for account in store.by_carrier(self.name):
            self._by_user[account.settings["api_user"]] = account.id
        self.endpoints = self._endpoints()

    # -- accounts -----------------------------------------------------------------
    def new_account(self, account: Account) -> None:
        number = self._fresh_account_number()
        account.settings = {
            "account": number,
            "api_user": f"api-{secrets.token_hex(6)}",
            "api_key": new_secret(24),
        }
        default_trunk = f"{number}-L001"
        account.data = {
            "balance": OPENING_BALANCE,
            "currency": CURRENCY,
            "stock": build_stock(number),
            "numbers": {},
            "released": [],
            "trunks": {default_trunk: new_trunk(default_trunk, "IP")},
            "acls": {default_trunk: []},
            "trunk_passwords": {},
            "files": {},
            "default_config": None,
        }
        self._by_user[account.settings["api_user"]] = account.id

    def _fresh_account_number(self) -> str:
        taken = {a.settings.get("account") for a in self.store.by_carrier(self.name)}
        while True:
            candidate = str(random.randint(900000, 999999))
            if candidate not in taken:
                return candidate

    def identify(self, request: Request) -> Account | None:
        credentials = basic_credentials(request)
        if credentials is None:
            return None
        account_id = self._by_user.get(credentials[0])
        return self.store.get(account_id) if account_id else None

    def public_state(self, account: Account) -> dict[str, Any]:
        return {"account": account.settings["account"], **account.data}

    def routing_at(self, account: Account, owner: str, at: datetime) -> dict[str, Any]:
        """The routing block a call to the number would take at ``at`` (UK time), by its
        config's rules; the account default config when the number has none."""
        held = account.data["numbers"].get(owner)
        if held is None:
            raise LookupError(f"number {owner} is not on the account")
        config = held["config"] if isinstance(held["config"], dict) else account.data["default_config"] or {}
        rules = config.get("rules") or {}
        routing = config.get("routing") or {}
        matching = [name for name, periods in rules.items() if rule_matches(periods, at)]
        chosen = next((name for name in routing if name != "default" and name in matching), "default")
        return {"number": owner, "at": at.isoformat(timespec="minutes"), "rules": matching, "routing": chosen,
                "steps": routing.get(chosen, [])}

    # -- faults, worded as the sandbox words Simwood's errors ---------------------
    def rate_limited_response(self, request: Request, retry_after: int) -> Response:
        return error_response(request, 429, "Too many requests", headers={"Retry-After": str(retry_after)})

    def error_response(self, request: Request, status: int) -> Response:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return error_response(request, status, phrase)

    # -- request pipeline ---------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [Route("/{path:path}", self.dispatch, methods=ALL_METHODS)]

    def _endpoints(self) -> list[Endpoint]:
        account = r"(?P<account>[^/]+)"
        trunks = rf"voice/{account}/(?:trunks|outbound)"
        trunk = rf"{trunks}/(?P<trunk>[^/]+)"
        number = rf"numbers/{account}/allocated/(?P<number>[^/]+)"
        table: list[tuple[str, dict[str, Handler], bool]] = [
            ("tools/time", {"GET": self.tools_time}, True),
            ("tools/myip", {"GET": self.tools_myip}, True),
            (rf"accounts/{account}/prepay/balance", {"GET": self.balance}, False),
            (rf"numbers/{account}/(?:allocated/)?default/config",
             {"GET": self.get_default_config, "PUT": self.put_default_config,
              "DELETE": self.delete_default_config}, False),
            (rf"numbers/{account}/available/consecutive/(?P<count>[^/]+)", {"POST": self.consecutive_report}, False),
            (rf"numbers/{account}/available/(?P<tier>[^/]+)/(?P<count>[^/]+)",
             {"GET": self.available}, False),
            (rf"numbers/{account}/allocated/(?P<size>{'|'.join(REPORT_SIZES)})",
             {"POST": self.report}, False),
            (number, {"GET": self.number_info, "PUT": self.allocate, "DELETE": self.release}, False),
            (rf"{number}/config",
             {"GET": self.get_config, "PUT": self.put_config, "DELETE": self.delete_config}, False),
            (rf"{number}/999", {"GET": self.get_emergency, "PUT": self.put_emergency}, False),
            (rf"files/{account}", {"GET": self.list_files}, False),
            (rf"files/{account}/(?P<hash>[^/]+)", {"GET": self.get_file}, False),
            (trunks, {"GET": self.list_trunks}, False),
            (trunk, {"GET": self.get_trunk, "PUT": self.put_trunk, "DELETE": self.delete_trunk}, False),
            (rf"{trunk}/acl", {"GET": self.get_acl}, False),
            (rf"{trunk}/acl/(?P<ip>[^/]+)", {"PUT": self.add_acl, "DELETE": self.remove_acl}, False),
            (rf"{trunk}/password_reset", {"POST": self.reset_password}, False),
        ]
        return [Endpoint(re.compile(path), handlers, public) for path, handlers, public in table]

    async def dispatch(self, request: Request) -> Response:
        path = request.path_params["path"].strip("/")
        match, endpoint = self._match(path)
        if endpoint is not None and endpoint.public:
            return await self._call(request, endpoint, None, {})
        account = self._authenticate(request)
        if isinstance(account, Response):
            return account
        if endpoint is None:
            return error_response(request, 404, "Not found")
        params = match.groupdict()
        if params.pop("account") != account.settings["account"]:
            return error_response(request, 403, "Access denied")
        return await self._call(request, endpoint, account, params)

    def _match(self, path: str) -> tuple[re.Match[str] | None, Endpoint | None]:
        for endpoint in self.endpoints:
            match = endpoint.pattern.fullmatch(path)
            if match:
                return match, endpoint
        return None, None

    def _authenticate(self, request: Request) -> Account | Response:
        challenge = {"WWW-Authenticate": 'Basic realm="Simwood API"'}
        credentials = basic_credentials(request)
        if credentials is None:
            return error_response(request, 401, "Authentication required", headers=challenge)
        account = self.identify(request)
        if account is None or not hmac.compare_digest(
            credentials[1].encode(), account.settings["api_key"].encode()
        ):
            return error_response(request, 401, "Invalid API credentials", headers=challenge)
        return account

    async def _call(
        self, request: Request, endpoint: Endpoint, account: Account | None, params: dict
    ) -> Response:
        handler = self._handler_for(request, endpoint)
        if handler is None:
            allow = ", ".join(sorted(endpoint.handlers))
            return error_response(request, 405, "Method not allowed", headers={"Allow": allow})
        if account is None:
            return await handler(request)
        return await handler(request, account, **params)

    @staticmethod
    def _handler_for(request: Request, endpoint: Endpoint) -> Handler | None:
        """The handler for the request's verb, with Simwood's documented leniency."""
        method = request.query_params.get("_method", request.method).upper()
        handlers = endpoint.handlers
        if method in handlers:
            return handlers[method]
        if method == "POST" and "PUT" in handlers:
            return handlers["PUT"]
        if method == "GET" and "POST" in handlers:
            return handlers["POST"]
        return None

    # -- tools --------------------------------------------------------------------
    async def tools_time(self, request: Request) -> Response:
        moment = time.time()
        rfc = datetime.fromtimestamp(moment, timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
        return json_response(request, {"timestamp": int(moment), "rfc": rfc})

    async def tools_myip(self, request: Request) -> Response:
        return json_response(request, {"ip": request.client.host if request.client else ""})

    # -- account ------------------------------------------------------------------
    async def balance(self, request: Request, account: Account) -> Response:
        data = account.data
        return json_response(request, [{"balance": data["balance"], "currency": data["currency"]}])

    # -- number inventory -----------------------------------------------------------
    async def available(self, request: Request, account: Account, tier: str, count: str) -> Response:
        if tier not in SEARCH_TIERS or count not in SEARCH_COUNTS:
            return error_response(request, 404, "Not found")
        country_code = request.query_params.get("country_code", UK)
        if country_code not in ("1", UK):
            return error_response(request, 400, "country_code must be one of 1, 44")
        if country_code != UK:
            return json_response(request, [])  # the sandbox stocks UK numbers only
        matches = pattern_matcher(request.query_params.get("pattern", ""))
        found = [
            (offer["wholesale_gold_premium"], number, offer)
            for number, offer in account.data["stock"].items()
            if tier in ("all", offer["tier"]) and matches(national(number))
        ]
        found.sort(key=lambda item: (item[0], item[1]))
        return json_response(request, [offer_row(number, offer) for _, number, offer in found[: int(count)]])

    def _link_object(self, account: Account, number: str) -> dict[str, Any]:
        link = f"{self.prefix}/numbers/{account.settings['account']}/allocated/{number}"
        return {
            "basic": {"link": link, **number_row(number)},
            "voice": {"link": f"{link}/voice"},
            "fax": {"link": f"{link}/fax"},
            "sms": {"link": f"{link}/sms"},
            "999": {"link": f"{link}/999"},
        }

    async def number_info(self, request: Request, account: Account, number: str) -> Response:
        if number not in account.data["numbers"]:
            return self._number_not_found(request)
        return json_response(request, self._link_object(account, number))

    async def allocate(self, request: Request, account: Account, number: str) -> Response:
        numbers = account.data["numbers"]
        if number not in numbers:
            offer = account.data["stock"].pop(number, None)
            if offer is None:
                return error_response(request, 404, "Number not available")
            numbers[number] = {"allocated": now_text(), "tier": offer["tier"], "config": None, "999": None}
            self._charge(account, offer["wholesale_gold_premium"])
            self.store.save(account)
        return json_response(request, self._link_object(account, number))

    @staticmethod
    def _charge(account: Account, amount: float) -> None:
        balance = Decimal(account.data["balance"]) - Decimal(str(amount))
        account.data["balance"] = f"{balance:.5f}"

    async def release(self, request: Request, account: Account, number: str) -> Response:
        if account.data["numbers"].pop(number, None) is None:
            return self._number_not_found(request)
        account.data["released"].append(number)
        self.store.save(account)
        return success(request)

    @staticmethod
    def _number_not_found(request: Request) -> Response:
        return error_response(request, 404, "Number not allocated to this account")

    # -- reports and files ----------------------------------------------------------
    async def report(self, request: Request, account: Account, size: str) -> Response:
        params = await request_params(request)
        criteria = {key: params[key] for key in REPORT_CRITERIA if params.get(key) not in (None, "")}
        summary: dict[str, Any] = {"mode": "all" if size == "all" else "quantity"}
        if size != "all":
            summary["quantity"] = int(size)
        summary["type"] = "numbers_allocated"
        rows = lambda: self._allocated_rows(account, size, criteria)  # noqa: E731
        return self._report(request, account, ["allocated", size, criteria], summary, rows)

    async def consecutive_report(self, request: Request, account: Account, count: str) -> Response:
        if count not in CONSECUTIVE_COUNTS:
            return error_response(request, 404, "Not found")
        pattern = str((await request_params(request)).get("pattern") or "")
        summary = {"mode": "consecutive", "quantity": int(count), "type": "numbers_available_consecutive"}
        rows = lambda: self._consecutive_rows(account, int(count), pattern)  # noqa: E731
        return self._report(request, account, ["consecutive", count, pattern], summary, rows)

    def _report(
        self, request: Request, account: Account, what: list[Any], summary: dict[str, Any], rows: Callable[[], list]
    ) -> Response:
        """Answer a report request: the same hash for the same request on the same day."""
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        fingerprint = json.dumps([account.settings["account"], *what, today], sort_keys=True)
        digest = hashlib.md5(fingerprint.encode()).hexdigest()
        files = account.data["files"]
        self._expire_files(account)
        if digest not in files:
            requested = time.time()
            ready = requested + float(account.config.get("report_ready_seconds", REPORT_READY_SECONDS))
            files[digest] = {"requested": requested, "ready": ready, "rows": rows()}
            self.store.save(account)
        answer = {
            **summary,
            "account": account.settings["account"],
            "format": "json",
            "hash": digest,
            "link": self._file_link(account, digest),
            "include_mobile_ott": False,
        }
        return json_response(request, answer)

    @staticmethod
    def _consecutive_rows(account: Account, count: int, pattern: str) -> list[dict[str, Any]]:
        """The first run of ``count`` consecutive available numbers matching ``pattern``."""
        matches = pattern_matcher(pattern)
        stock = account.data["stock"]
        run: list[str] = []
        for number in sorted(stock):
            if not matches(national(number)):
                run = []
                continue
            if run and int(number) != int(run[-1]) + 1:
                run = []
            run.append(number)
            if len(run) == count:
                return [offer_row(n, stock[n]) for n in run]
        return []

    def _file_link(self, account: Account, digest: str) -> str:
        return f"{self.prefix}/files/{account.settings['account']}/{digest}"

    @staticmethod
    def _allocated_rows(account: Account, size: str, criteria: dict[str, Any]) -> list[dict[str, Any]]:
        matches = pattern_matcher(str(criteria.get("pattern", "")))
        key = str(criteria.get("key", "")).lower()
        only_configured = str(criteria.get("filter_config", "")).lower() not in ("", "0", "false")
        rows = []
        for number in sorted(account.data["numbers"]):
            held = account.data["numbers"][number]
            meta = (held["config"] or {}).get("meta") if isinstance(held["config"], dict) else None
            meta_key = str(meta.get("key", "")).lower() if isinstance(meta, dict) else ""
            if not matches(national(number)) or (key and meta_key != key):
                continue
            if only_configured and not held["config"]:
                continue
            rows.append(number_row(number))
        return rows if size == "all" else rows[: int(size)]

    def _expire_files(self, account: Account) -> None:
        expiry = float(account.config.get("report_expiry_seconds", REPORT_EXPIRY_SECONDS))
        now = time.time()
        expired = [digest for digest, file in account.data["files"].items() if now >= file["ready"] + expiry]
        for digest in expired:
            del account.data["files"][digest]
        if expired:
            self.store.save(account)

    async def list_files(self, request: Request, account: Account) -> Response:
        self._expire_files(account)
        now = time.time()
        listing = {}
        for digest, file in account.data["files"].items():
            if now >= file["ready"]:
                listing[digest] = {
                    "name": digest,
                    "content_type": "application/json",
                    "length": len(encode(file["rows"])),
                    "uri": self._file_link(account, digest),
                }
        return json_response(request, listing or [])

    async def get_file(self, request: Request, account: Account, hash: str) -> Response:
        self._expire_files(account)
        file = account.data["files"].get(hash)
        if file is None:
            return error_response(request, 404, "File not found")
        if time.time() < file["ready"]:
            return Response(status_code=204)
        del account.data["files"][hash]
        self.store.save(account)
        return json_response(request, file["rows"])

    # -- number config ----------------------------------------------------------------
    def _held_number(self, account: Account, number: str) -> dict[str, Any] | None:
        return account.data["numbers"].get(number)

    async def get_config(self, request: Request, account: Account, number: str) -> Response:
        held = self._held_number(account, number)
        if held is None:
            return self._number_not_found(request)
        return json_response(request, held["config"] if held["config"] is not None else [])

    async def put_config(self, request: Request, account: Account, number: str) -> Response:
        held = self._held_number(account, number)
        if held is None:
            return self._number_not_found(request)
        return await self._store_config(request, account, held, "config", number_level=True)

    async def _store_config(
        self, request: Request, account: Account, holder: dict[str, Any], key: str, *, number_level: bool
    ) -> Response:
        """Validate the body as a whole config and keep it in ``holder[key]`` (all or nothing)."""
        config = await self._config_body(request)
        status = int(account.config.get("config_error_status", CONFIG_ERROR_STATUS))
        if config is None:
            return error_response(request, status, "Configuration is not valid JSON.")
        errors = validate_config(config, ConfigContext(trunks=account.data["trunks"], number_level=number_level))
        if errors:
            return error_response(request, status, *errors)
        holder[key] = config
        self.store.save(account)
        return success(request)

    # The account's default config applies to numbers with neither their own config nor
    # an associated trunk's (notes 1.6). Its path is unconfirmed: both forms are served.
    async def get_default_config(self, request: Request, account: Account) -> Response:
        config = account.data.get("default_config")
        return json_response(request, config if config is not None else [])

    async def put_default_config(self, request: Request, account: Account) -> Response:
        return await self._store_config(request, account, account.data, "default_config", number_level=False)

    async def delete_default_config(self, request: Request, account: Account) -> Response:
        account.data["default_config"] = None
        self.store.save(account)
        return success(request)

    @staticmethod
    async def _config_body(request: Request) -> Any:
        """The JSON config: the raw body, or the form variable ``payload``."""
        raw = await request.body()
        config = parse_json(raw)
        if config is None and raw:
            payload = dict(parse_qsl(raw.decode("utf-8", "replace"))).get("payload")
            config = parse_json(payload.encode()) if payload else None
        return config

    async def delete_config(self, request: Request, account: Account, number: str) -> Response:
        held = self._held_number(account, number)
        if held is None:
            return self._number_not_found(request)
        held["config"] = None
        self.store.save(account)
        return success(request)

    # -- 999 ----------------------------------------------------------------------------
    async def get_emergency(self, request: Request, account: Account, number: str) -> Response:
        held = self._held_number(account, number)
        if held is None:
            return self._number_not_found(request)
        return json_response(request, [held["999"]] if held["999"] else [])

    async def put_emergency(self, request: Request, account: Account, number: str) -> Response:
        held = self._held_number(account, number)
        if held is None:
            return self._number_not_found(request)
        try:
            fields = await request_params(request, strict=True)
        except UnreadableBody as exc:
            return error_response(request, 400, str(exc))
        # The notes make title, forename, bussuffix optional; a null is an absent value
        # (the Java client sends null for every field it was not given).
        fields = {name: "" if value is None else value for name, value in fields.items()}
        errors = validate_emergency(fields)
        if errors:
            return error_response(request, 400, *errors)
        record = {"status": "submitted", **{name: fields.get(name, "") for name in EMERGENCY_FIELDS},
                  "from": now_text(), "to": None}
        held["999"] = record
        self.store.save(account)
        return json_response(request, [record])

    # -- trunks ---------------------------------------------------------------------------
    async def list_trunks(self, request: Request, account: Account) -> Response:
        return json_response(request, [trunk_summary(t) for t in account.data["trunks"].values()])

    def _trunk_or_404(self, request: Request, account: Account, trunk: str) -> dict[str, Any] | Response:
        found = account.data["trunks"].get(trunk)
        return found if found is not None else trunk_error(request, f"Trunk {trunk} not found", 404)

    async def get_trunk(self, request: Request, account: Account, trunk: str) -> Response:
        found = self._trunk_or_404(request, account, trunk)
        if isinstance(found, Response):
            return found
        return json_response(request, found)

    async def put_trunk(self, request: Request, account: Account, trunk: str) -> Response:
        try:
            params = await request_params(request, strict=True)
        except UnreadableBody as exc:
            return trunk_error(request, str(exc))
        existing = account.data["trunks"].get(trunk)
        if existing is None:
            return self._create_trunk(request, account, trunk, params)
        for raw_name, value in params.items():
            name = FIELD_ALIASES.get(raw_name, raw_name)
            check = TRUNK_FIELDS.get(name)
            if check is None:
                continue  # unknown parameters are dropped, as the documents say
            try:
                existing[name] = check(value, account.data["numbers"])
            except Invalid:
                continue  # so are invalid values; the valid ones still apply
        self.store.save(account)
        return json_response(request, existing)

    def _create_trunk(self, request: Request, account: Account, trunk: str, params: dict) -> Response:
        prefix = f"{account.settings['account']}-"
        if not trunk.startswith(prefix) or TRUNK_ID.fullmatch(trunk[len(prefix):]) is None:
            return trunk_error(
                request, f"Trunk name must be {prefix}ID, ID being 1-24 characters A-Z and 0-9"
            )
        kind = str(params.get("type", "auth")).lower()
        if kind not in ("ip", "auth"):
            return trunk_error(request, "Trunk type must be IP or auth")
        kind = "IP" if kind == "ip" else "auth"
        created = new_trunk(trunk, kind)
        account.data["trunks"][trunk] = created
        answer = dict(created)
        if kind == "auth":
            answer["pass"] = self._new_password(account, trunk)
        else:
            account.data["acls"][trunk] = []
        self.store.save(account)
        return json_response(request, answer)

    @staticmethod
    def _new_password(account: Account, trunk: str) -> str:
        password = new_trunk_password()
        account.data["trunk_passwords"][trunk] = password_digest(password)
        return password

    async def delete_trunk(self, request: Request, account: Account, trunk: str) -> Response:
        found = self._trunk_or_404(request, account, trunk)
        if isinstance(found, Response):
            return found
        if trunk.endswith("-L001"):
            return trunk_error(request, f"The default trunk {trunk} cannot be deleted")
        del account.data["trunks"][trunk]
        account.data["acls"].pop(trunk, None)
        account.data["trunk_passwords"].pop(trunk, None)
        self.store.save(account)
        return success(request)

    async def reset_password(self, request: Request, account: Account, trunk: str) -> Response:
        found = self._trunk_or_404(request, account, trunk)
        if isinstance(found, Response):
            return found
        if found["type"] != "auth":
            return trunk_error(request, f"Trunk {trunk} is IP-authenticated and has no password")
        password = self._new_password(account, trunk)
        self.store.save(account)
        return json_response(request, {"updated": True, "trunk": trunk, "user": trunk, "pass": password})

    # -- trunk ACLs -------------------------------------------------------------------------
    def _ip_trunk_acl(
        self, request: Request, account: Account, trunk: str
    ) -> list[dict[str, str]] | Response:
        found = self._trunk_or_404(request, account, trunk)
        if isinstance(found, Response):
            return found
        if found["type"] != "IP":
            return trunk_error(request, f"Trunk {trunk} is not IP-authenticated")
        return account.data["acls"].setdefault(trunk, [])

    async def get_acl(self, request: Request, account: Account, trunk: str) -> Response:
        acl = self._ip_trunk_acl(request, account, trunk)
        if isinstance(acl, Response):
            return acl
        return json_response(request, acl)

    async def add_acl(self, request: Request, account: Account, trunk: str, ip: str) -> Response:
        acl = self._ip_trunk_acl(request, account, trunk)
        if isinstance(acl, Response):
            return acl
        address = normalised_ip(ip)
        if address is None:
            return trunk_error(request, f"Invalid IP address {ip}")
        if all(entry["ip"] != address for entry in acl):
            acl.append({"ip": address, "timestamp": now_text()})
            self.store.save(account)
        return success(request)

    async def remove_acl(self, request: Request, account: Account, trunk: str, ip: str) -> Response:
        acl = self._ip_trunk_acl(request, account, trunk)
        if isinstance(acl, Response):
            return acl
        address = normalised_ip(ip) or ip
        kept = [entry for entry in acl if entry["ip"] != address]
        if len(kept) == len(acl):
            return trunk_error(request, f"IP {ip} is not on the ACL of {trunk}", 404)
        account.data["acls"][trunk] = kept
        self.store.save(account)
        return success(request)
