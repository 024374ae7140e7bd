"""SureVoIP emulator: a partner's view of the SureVoIP REST hypermedia API (v3.50).

Served under ``/surevoip/`` in place of ``https://api.surevoip.co.uk/``. What it emulates,
following ``002_4b662a5ee44388b6.txt`` (S2) and ``notes-simwood-surevoip.md`` part 2:

* HTTP Basic auth with the partner's control-panel login; 401 ``{"error": …}`` with a
  ``WWW-Authenticate: Basic`` challenge; ``X-SureVoIP-API-Auth-User`` (``no-auth`` when
  unauthenticated), ``X-SureVoIP-API-Version``, ``X-Catalyst-Version``, ``Vary`` on every answer.
* Content negotiation in the documented order: request ``Content-Type``, then (GET only)
  ``?content-type=``, then ``Accept``. ``?callback=`` wraps JSON as JSONP.
* ``OPTIONS`` on any resource: 200, ``text/plain``, ``Allow``; ``HEAD`` wherever GET is.
* Hypermedia: ``resources`` on every successful JSON object unless ``?hypermedia=no``;
  list envelopes with ``page_links`` (``null`` when ``hypermedia=no``), ``page``/``offset``/``limit``.
* Customers: ``GET /customers`` (302 to the partner's own account), ``POST /customers``,
  ``GET``/``PUT /customers/{account}``, the list ``GET /partners/{partner}/customers``; every
  ``/customers/{account}/…`` path is also served under ``/partners/{partner}/customers/{account}/…``.
* A customer's numbers: list, read, ``PUT`` of ``destination``/``activated``/``voip_call``
  (``ported`` for numbers from outside the stock), the partner's ``POST`` of several numbers.
* Number search ``GET /numbers`` (``areacode``, ``number_filter``, ``number_range``) over the
  partner's stock (logged in) or every unused number (no login), and the SIP account
  ``GET /customers/{account}/sip``.
* The support resources S2 lists as needing no login: ``support/echo`` (POST/PUT),
  ``support/ip-address`` and ``support/service-status`` (also at ``/ip-address`` and
  ``/service-status``).
* Errors: 404 ``{"error": "Cannot find what you were looking for!"}``; 400
  ``{"errors": [{"message": [...], "field": ...}]}``; 5xx ``{"message": …}``.
* The rate limit: ``X-SureVoIP-API-RateLimit-*`` on every answer and 429 once it is spent.

Choices where the documents are silent (also in ``docs/sandbox/surevoip.md``):

* Customer ids (``{account}``) are integers (the OpenAPI types them so), unique across every
  sandbox account of this carrier. A customer's ``username`` is its control-panel login
  (``cust<hex>``; the partner's own account shows the partner's login), never its id.
  ``POST /customers`` answers ``Location: …/customers/{id}`` (the form the vendor's PHP
  library parses) with ``{"location", "customer"}``, like the
  number PUT's ``{"location", "number"}``. Required on POST/PUT: the ten fields the vendor's
  PHP library requires; ``email`` needs an ``@``, ``country`` three capital letters, ``phone``
  and ``fax`` digits and spaces only (no ``+``). ``PUT`` replaces the writable fields and
  answers 200 ``{"updated using": {…}}`` like the billing-contact PUT. There is no DELETE (405).
* Creating a customer creates its SIP account (S2: "creates a customer account, SIP account
  and billing account"): ``sip_username`` is the account id, ``sip_password`` a fresh secret,
  caller id the customer's phone without spaces, ``dtmf`` RFC2833, codecs ``ulaw,alaw,gsm,g729``.
* Each sandbox account has a stock of 60 consecutive UK numbers (one block of one area code,
  never shared with another account); together the blocks are SureVoIP's pool of unused
  numbers. A logged-in search shows the partner's own block, a search without login the whole
  pool (oldest block first). A partner can POST or PUT any unused pool number to a customer
  (it leaves its block), or any number nobody in the sandbox stocks or holds with
  ``ported: "1"``. A number someone else holds is "not available" (400), never revealed. Tiers are invented:
  ``platinum`` (£500; three equal trailing digits), ``gold`` (£250; two), ``standard`` (£0).
* Numbers are international digits without ``+`` (``441224900999``), else 400 with the
  documented wording. ``activated``/``voip_call``/``ported`` take ``"0"``/``"1"`` (0/1 too) and are
  returned as strings. ``destination`` is stored exactly as given; it may be empty (the number
  is held unrouted) or a SIP URI, ``user@host``, ``SIP/user@host`` or international digits; with
  ``voip_call: "0"`` it must be digits. ``sent_via_sip`` on GET mirrors ``voip_call``. PUT keeps
  fields it is not given. POST is all-or-nothing: 201, ``Location`` of the customer's number
  list and ``{"numbers": [{"location", "number"}, …]}``.
* Paging: the first item shown is ``offset + (page - 1) * limit``; values given in the query
  are echoed as strings (as in S2's examples), ``total_entries`` is a string; lists default to
  50 a page, number search to 10; page/limit below 1 or offset below 0 is a 400 field error.
* The rate limit is a fixed window per sandbox account that starts with its first request:
  ``config.rate_limit_per_hour`` requests (5000) per ``config.rate_limit_window_secs`` (3600).
  Unauthenticated and failed-auth requests count against the client IP with the defaults.
  The 429 body is ``{"error": …}`` with ``Retry-After``; a refused request does not count.
* Types S2 lists but the sandbox does not render (XML, HTML, text, Perl/PHP serialisations),
  request bodies that are not JSON and unparsable JSON are refused: 415 / 400 ``{"error": …}``.
  Unknown paths are 404 and unsupported methods 405 with ``Allow``, both ``{"error": …}``.
* ``GET /numbers`` and the support resources need no login; wrong credentials there are still
  a 401. Support answers carry no ``resources`` (S2's examples show none); the service-status
  feed has no entries (no incident in the sandbox).
* Error bodies carry no hypermedia; conditional GET and gzip are not emulated.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..base import (
    Account,
    CarrierEmulator,
    basic_credentials,
    new_secret,
    seconds_knob,
    whole_number_knob,
    whole_seconds_left,
)

API_VERSION = "3.50"
CATALYST_VERSION = "5.90112"
AUTH_CHALLENGE = 'Basic realm="SureVoIP API"'
NOT_FOUND = "Cannot find what you were looking for!"
UNAUTHORIZED = "Unauthorized: send your control panel username and password (HTTP Basic)"
RATE_LIMITED = "Rate limit exceeded. Please wait until your limit resets."
NUMBER_FORMAT = "Format is 441224900999. No + allowed"
SERVICE_STATUS_TITLE = "SureVoIP Service Status"

DEFAULT_RATE_LIMIT = 5000
DEFAULT_WINDOW_SECS = 3600.0
LIST_DEFAULT_LIMIT = 50
SEARCH_DEFAULT_LIMIT = 10
MAX_RANGE = 50
STOCK_SIZE = 60
# Four-digit area codes with six-digit local numbers, so a stock block is easy to lay out.
STOCK_AREACODES = ("01224", "01223", "01382", "01865", "01452", "01603")

# Routes take every method so that a wrong one gets this carrier's 405, not Starlette's.
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
JSON_TYPE = "application/json"
JSONP_TYPES = frozenset({"text/javascript", "application/x-javascript", "application/javascript"})
JSON_WILDCARDS = frozenset({"*/*", "application/*"})
CALLBACK_NAME = re.compile(r"^[A-Za-z_$][\w$.]{0,63}$")

TOP_RESOURCES = (
    ("calls", "calls"),
    ("sms", "sms"),
    ("numbers", "numbers"),
    ("contact", "contact"),
    ("sip", "sip"),
    ("partners", "partners"),
    ("faxes", "faxes"),
    ("areacodes", "numbers/areacodes"),
    ("service-status", "support/service-status"),
    ("porting", "porting"),
    ("customers", "customers"),
    ("ip-address", "support/ip-address"),
    ("echo", "support/echo"),
    ("billing", "billing"),
)
CUSTOMER_LINKS = (
    ("calls", "calls"),
    ("call stats", "calls/stats"),
    ("billing invoices", "billing/invoices"),
    ("billing contact details", "billing/contact"),
    ("999 address", "999-address"),
    ("numbers", "numbers"),
    ("sip", "sip"),
)

CUSTOMER_FIELDS = (
    "firstname", "lastname", "company_name", "address", "city", "state",
    "postcode", "country", "email", "phone", "fax", "company_website",
)  # fmt: skip
REQUIRED_CUSTOMER_FIELDS = (
    "firstname", "lastname", "email", "phone", "address",
    "state", "city", "postcode", "country", "company_website",
)  # fmt: skip
FLAG_FIELDS = ("activated", "voip_call", "ported")

INTERNATIONAL_NUMBER = re.compile(r"^[1-9]\d{6,14}$")
PHONE_TEXT = re.compile(r"^[\d ]*$")
COUNTRY_CODE = re.compile(r"^[A-Z]{3}$")
SIP_DESTINATION = re.compile(r"^(?:sip:|SIP/)?[^@\s]+@[^@\s]+$")
DIGITS = re.compile(r"^\d+$")
KEYPAD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "22233344455566677778889999")


# ----------------------------------------------------------------- replies and errors
@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hypermedia: bool = True  # False: the documented answer has no ``resources`` (support/*)


class Refusal(Exception):
    """Raised by a handler to answer with one of the carrier's error replies."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def not_found() -> Refusal:
    return Refusal(Reply(404, {"error": NOT_FOUND}))


def general_error(status: int, message: str, headers: dict[str, str] | None = None) -> Refusal:
    return Refusal(Reply(status, {"error": message}, headers or {}))


class FieldErrors:
    """Collects the documented 400 body: one entry per field, messages as a list."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field_name: str, message: str) -> None:
        self.by_field.setdefault(field_name, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            errors = [{"message": msgs, "field": name} for name, msgs in self.by_field.items()]
            raise Refusal(Reply(400, {"errors": errors}))


def field_error(field_name: str, message: str) -> Refusal:
    return Refusal(Reply(400, {"errors": [{"message": [message], "field": field_name}]}))


# ------------------------------------------------------------------- one request
@dataclass
class Call:
    """One request as a handler sees it: who made it and how to build links."""

    request: Request
    account: Account | None
    root: str  # absolute URL of the API root, no trailing slash
    hypermedia: bool

    @property
    def params(self) -> dict[str, str]:
        return self.request.path_params

    @property
    def query(self):
        return self.request.query_params

    def url(self, path: str) -> str:
        return f"{self.root}/{path}"

    async def json_object(self) -> dict[str, Any]:
        body = await self.json_document()
        if not isinstance(body, dict):
            raise general_error(400, f"Content-Type {JSON_TYPE} had a problem with your request.")
        return body

    async def json_document(self) -> Any:
        """Any JSON document the request carries (None for an empty body)."""
        raw = await self.request.body()
        declared = _media_type(self.request.headers.get("content-type", "")) or JSON_TYPE
        if declared != JSON_TYPE and declared not in JSONP_TYPES:
            raise general_error(415, f"Content-Type {declared} is not supported")
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError:
            raise general_error(400, f"Content-Type {JSON_TYPE} had a problem with your request.") from None


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass
class RateWindow:
    started: float
    used: int = 0


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _now_text() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _time_to_reset_text(seconds: int) -> str:
    minutes, secs = divmod(max(seconds, 0), 60)
    return f"{minutes} mins {secs} secs"


def _flag(value: Any) -> str | None:
    """The carrier's boolean strings: "0"/"1" (0/1 accepted), None if anything else."""
    if isinstance(value, bool):
        return None
    text = str(value)
    return text if text in ("0", "1") else None


def _national(number: str) -> str:
    """A UK international number in the national form number search shows."""
    return "0" + number[2:] if number.startswith("44") else number


def account_id_of(customer: dict[str, Any]) -> str:
    """The ``{account}`` of a customer record (records from before it had one used the username)."""
    return customer.get("account") or customer["username"]


def _tier(local: str) -> tuple[str, int]:
    if local[-3:] == local[-1] * 3:
        return "platinum", 500
    if local[-2:] == local[-1] * 2:
        return "gold", 250
    return "standard", 0


# -------------------------------------------------------------------- the emulator
class SureVoIPEmulator(CarrierEmulator):
    name = "surevoip"
    prefix = "/surevoip"
    config_knobs = {
        "rate_limit_per_hour": whole_number_knob(0),
        "rate_limit_window_secs": seconds_knob(zero_allowed=False),
    }

    def __init__(self, store) -> None:
        super().__init__(store)
        self._account_id_by_username: dict[str, str] = {}
        self._rate_windows: dict[str, RateWindow] = {}

    # -- accounts ---------------------------------------------------------------
    def new_account(self, account: Account) -> None:
        partner_id = self._unused(lambda: f"partner{secrets.token_hex(4)}", self._partner_id_taken)
        username = self._unused(lambda: f"sv{secrets.token_hex(5)}", self._username_taken)
        account.settings = {"partner_id": partner_id, "username": username, "password": new_secret()}
        own = self._new_customer_record(
            self._new_customer_id(),
            username,
            {
                "firstname": "Partner",
                "lastname": "Admin",
                "company_name": f"{partner_id} Ltd.",
                "address": "1 Sandbox Street",
                "city": "Aberdeen",
                "state": "Aberdeenshire",
                "postcode": "AB10 1AA",
                "country": "GBR",
                "email": f"{partner_id}@example.com",
                "phone": "01224 000000",
                "fax": "",
                "company_website": "www.example.com",
            },
        )
        areacode, first = self._new_stock_block()
        account.data = {
            "own": own,
            "customers": {},
            "numbers": {},
            "stock_block": {"areacode": areacode, "first": first, "count": STOCK_SIZE},
            "stock": [f"44{areacode[1:]}{first + i}" for i in range(STOCK_SIZE)],
        }
        self._account_id_by_username[username] = account.id

    def _others(self) -> Iterable[Account]:
        return self.store.by_carrier(self.name)

    @staticmethod
    def _unused(make: Callable[[], str], taken: Callable[[str], bool]) -> str:
        while True:
            candidate = make()
            if not taken(candidate):
                return candidate

    def _partner_id_taken(self, partner_id: str) -> bool:
        return any(a.settings.get("partner_id") == partner_id for a in self._others())

    def _username_taken(self, username: str) -> bool:
        return any(a.settings.get("username") == username for a in self._others())

    def _customer_id_taken(self, customer_id: str) -> bool:
        return any(
            customer_id in a.data.get("customers", {}) or account_id_of(a.data.get("own", {})) == customer_id
            for a in self._others()
        )

    def _customer_username_taken(self, username: str) -> bool:
        return self._username_taken(username) or any(
            c.get("username") == username for a in self._others() for c in a.data.get("customers", {}).values()
        )

    def _new_customer_id(self) -> str:
        return self._unused(lambda: str(secrets.randbelow(90_000_000) + 10_000_000), self._customer_id_taken)

    def _new_stock_block(self) -> tuple[str, int]:
        taken = {(a.data["stock_block"]["areacode"], a.data["stock_block"]["first"]) for a in self._others()}
        while True:
            block = (secrets.choice(STOCK_AREACODES), (secrets.randbelow(8000) + 2000) * 100)
            if block not in taken:
                return block

    def _number_held_anywhere(self, number: str) -> bool:
        """Whether any sandbox account stocks or holds this number (ours included)."""
        for account in self._others():
            if number in account.data.get("numbers", {}):
                return True
            block = account.data.get("stock_block")
            if block:
                prefix = f"44{block['areacode'][1:]}"
                local = number[len(prefix) :]
                if number.startswith(prefix) and local.isdigit() and len(local) == 6:
                    if block["first"] <= int(local) < block["first"] + block["count"]:
                        return True
        return False

    # -- identity -----------------------------------------------------------------
    def identify(self, request: Request) -> Account | None:
        credentials = basic_credentials(request)
        return self._account_for_username(credentials[0]) if credentials else None

    def _account_for_username(self, username: str) -> Account | None:
        account_id = self._account_id_by_username.get(username)
        account = self.store.get(account_id) if account_id else None
        if account is not None and account.settings.get("username") == username:
            return account
        # Accounts loaded from a state file or removed by a reset: rebuild the index.
        self._account_id_by_username = {a.settings.get("username"): a.id for a in self._others()}
        account_id = self._account_id_by_username.get(username)
        return self.store.get(account_id) if account_id else None

    def _authenticate(self, request: Request) -> tuple[bool, Account | None]:
        """(credentials were sent, the account they prove) — account None if they are wrong."""
        credentials = basic_credentials(request)
        if credentials is None:
            return bool(request.headers.get("authorization")), None
        username, password = credentials
        account = self._account_for_username(username)
        if account is None or not secrets.compare_digest(
            password.encode(), account.settings["password"].encode()
        ):
            return True, None
        return True, account

    def public_state(self, account: Account) -> dict[str, Any]:
        window = self._rate_windows.get(account.id)
        limit, length = self._rate_settings(account)
        return {
            **account.data,
            "rate_limit": {
                "limit": limit,
                "window_secs": length,
                "used": window.used if window and time.monotonic() - window.started < length else 0,
            },
        }

    # -- the rate limit ---------------------------------------------------------------
    @staticmethod
    def _rate_settings(account: Account | None) -> tuple[int, float]:
        config = account.config if account else {}
        limit = int(config.get("rate_limit_per_hour", DEFAULT_RATE_LIMIT))
        return limit, float(config.get("rate_limit_window_secs", DEFAULT_WINDOW_SECS))

    def _window(self, key: str, length: float) -> RateWindow:
        now = time.monotonic()
        window = self._rate_windows.get(key)
        if window is None or now - window.started >= length:
            window = self._rate_windows[key] = RateWindow(started=now)
        return window

    def _rate_headers(self, limit: int, used: int, window: RateWindow, length: float) -> dict[str, str]:
        reset = whole_seconds_left(window.started, length, time.monotonic())
        return {
            "X-SureVoIP-API-RateLimit-Limit": str(limit),
            "X-SureVoIP-API-RateLimit-Remaining": str(max(limit - used, 0)),
            "X-SureVoIP-API-RateLimit-TimeToReset": _time_to_reset_text(reset),
            "X-SureVoIP-API-RateLimit-TimeToResetSecs": str(reset),
        }

    @staticmethod
    def _rate_key(request: Request, account: Account | None) -> str:
        # S2: "keyed off either your login, your OAuth 2.0 token, or request IP".
        return account.id if account else f"ip:{request.client.host if request.client else '-'}"

    def _spend(self, request: Request, account: Account | None) -> tuple[bool, dict[str, str]]:
        """Count one request; (allowed, rate-limit headers)."""
        limit, length = self._rate_settings(account)
        window = self._window(self._rate_key(request, account), length)
        allowed = window.used < limit
        if allowed:
            window.used += 1
        headers = self._rate_headers(limit, window.used, window, length)
        if not allowed:
            headers["Retry-After"] = str(max(1, int(headers["X-SureVoIP-API-RateLimit-TimeToResetSecs"])))
        return allowed, headers

    def _peek_rate_headers(self, request: Request, account: Account | None) -> dict[str, str]:
        limit, length = self._rate_settings(account)
        window = self._window(self._rate_key(request, account), length)
        return self._rate_headers(limit, window.used, window, length)

    # -- how this carrier words injected faults -------------------------------------
    def _base_headers(self, auth_user: str) -> dict[str, str]:
        return {
            "Vary": "Content-Type",
            "X-Catalyst-Version": CATALYST_VERSION,
            "X-SureVoIP-API-Auth-User": auth_user,
            "X-SureVoIP-API-Version": API_VERSION,
        }

    def _json_response(self, status: int, body: Any, headers: dict[str, str]) -> Response:
        return Response(json.dumps(body, separators=(",", ":")), status, headers, media_type=JSON_TYPE)

    def rate_limited_response(self, request: Request, retry_after: int) -> Response:
        account = self.identify(request)
        limit, _ = self._rate_settings(account)
        headers = self._base_headers(account.settings["username"] if account else "no-auth")
        headers.update(
            {
                "X-SureVoIP-API-RateLimit-Limit": str(limit),
                "X-SureVoIP-API-RateLimit-Remaining": "0",
                "X-SureVoIP-API-RateLimit-TimeToReset": _time_to_reset_text(retry_after),
                "X-SureVoIP-API-RateLimit-TimeToResetSecs": str(retry_after),
                "Retry-After": str(retry_after),
            }
        )
        return self._json_response(429, {"error": RATE_LIMITED}, headers)

    def error_response(self, request: Request, status: int) -> Response:
        account = self.identify(request)
        headers = self._base_headers(account.settings["username"] if account else "no-auth")
        headers.update(self._peek_rate_headers(request, account))
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return self._json_response(status, {"message": phrase}, headers)

    # -- routes -------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        customer = "/customers/{customer}"
        partner_customer = "/partners/{partner}/customers/{customer}"
        table: list[tuple[str, dict[str, Handler], bool]] = [
            ("/", {"GET": self.root}, False),
            ("/customers", {"GET": self.find_own_account, "POST": self.create_customer}, True),
            ("/partners/{partner}/customers", {"GET": self.list_customers, "POST": self.create_customer}, True),
            ("/numbers", {"GET": self.search_numbers}, False),
            ("/support/echo", {"POST": self.echo, "PUT": self.echo}, False),
            ("/support/ip-address", {"GET": self.ip_address}, False),
            ("/ip-address", {"GET": self.ip_address}, False),
            ("/support/service-status", {"GET": self.service_status}, False),
            ("/service-status", {"GET": self.service_status}, False),
        ]
        for base in (customer, partner_customer):
            table += [
                (base, {"GET": self.read_customer, "PUT": self.update_customer}, True),
                (f"{base}/numbers", {"GET": self.list_numbers, "POST": self.add_numbers}, True),
                (f"{base}/numbers/{{number}}", {"GET": self.read_number, "PUT": self.put_number}, True),
                (f"{base}/sip", {"GET": self.read_sip}, True),
            ]
        routes: list[BaseRoute] = []
        for path, handlers, needs_login in table:
            endpoint = self._endpoint(handlers, needs_login)
            routes.append(Route(path, endpoint, methods=ALL_METHODS))
            if path != "/":  # S2's examples use both ".../numbers" and ".../numbers/"
                routes.append(Route(path + "/", endpoint, methods=ALL_METHODS))
        routes.append(Route("/{rest:path}", self._endpoint({}, False), methods=ALL_METHODS))
        return routes

    def _endpoint(self, handlers: dict[str, Handler], needs_login: bool):
        if "GET" in handlers:
            handlers = {**handlers, "HEAD": handlers["GET"]}
        allow = ", ".join([*handlers, "OPTIONS"])

        async def endpoint(request: Request) -> Response:
            return await self._serve(request, handlers, allow, needs_login)

        return endpoint

    async def _serve(
        self, request: Request, handlers: dict[str, Handler], allow: str, needs_login: bool
    ) -> Response:
        sent_credentials, account = self._authenticate(request)
        if request.method == "OPTIONS":  # S2 shows OPTIONS answered without authenticating
            headers = self._base_headers("no-auth")
            headers.update(self._spend(request, None)[1])
            headers["Allow"] = allow
            return Response("", 200, headers, media_type="text/plain; charset=UTF-8")
        allowed, rate_headers = self._spend(request, account)
        headers = self._base_headers(account.settings["username"] if account else "no-auth")
        headers.update(rate_headers)
        if not allowed:
            return self._json_response(429, {"error": RATE_LIMITED}, headers)
        if account is None and (needs_login or sent_credentials):
            headers["WWW-Authenticate"] = AUTH_CHALLENGE
            return self._json_response(401, {"error": UNAUTHORIZED}, headers)
        try:
            media = self._negotiate(request)
            call = Call(
                request=request,
                account=account,
                root=str(request.base_url).rstrip("/") + self.prefix,
                hypermedia=request.query_params.get("hypermedia") != "no",
            )
            handler = handlers.get(request.method)
            if handler is None:
                if not handlers:
                    raise not_found()
                raise general_error(
                    405, f"Method {request.method} not implemented for {request.url.path}", {"Allow": allow}
                )
            reply = await handler(call)
        except Refusal as refusal:
            reply, media = refusal.reply, JSON_TYPE
            call = None
        return self._render(reply, media, headers, call)

    def _negotiate(self, request: Request) -> str:
        """The response type, in S2's order: Content-Type, ?content-type= (GET), Accept."""
        declared = request.headers.get("content-type")
        if declared:
            chosen = _media_type(declared)
        elif request.method in ("GET", "HEAD") and "content-type" in request.query_params:
            chosen = _media_type(request.query_params["content-type"])
        else:
            chosen = self._best_accepted(request.headers.get("accept", ""))
        if chosen != JSON_TYPE and chosen not in JSONP_TYPES:
            raise general_error(415, f"Content-Type {chosen} is not supported")
        return chosen

    @staticmethod
    def _best_accepted(accept: str) -> str:
        if not accept:
            return JSON_TYPE
        ranked: list[tuple[float, int, str]] = []
        for position, part in enumerate(accept.split(",")):
            media, _, params = part.partition(";")
            quality = 1.0
            for param in params.split(";"):
                key, _, value = param.partition("=")
                if key.strip() == "q":
                    try:
                        quality = float(value)
                    except ValueError:
                        quality = 0.0
            if media.strip() and quality > 0:
                ranked.append((-quality, position, media.strip().lower()))
        ranked.sort()
        for _, _, media in ranked:
            if media == JSON_TYPE or media in JSONP_TYPES:
                return media
            if media in JSON_WILDCARDS:
                return JSON_TYPE
        return ranked[0][2] if ranked else JSON_TYPE

    def _render(self, reply: Reply, media: str, headers: dict[str, str], call: Call | None) -> Response:
        headers.update(reply.headers)
        if reply.body is None:
            return Response(b"", reply.status, headers, media_type=media)
        body = reply.body
        if call is not None and call.hypermedia and reply.hypermedia and reply.status < 400 and isinstance(body, dict):
            body = {"resources": self._resources(call), **body}
        text = json.dumps(body, separators=(",", ":"))
        if media in JSONP_TYPES and call is not None:
            callback = call.query.get("callback")
            if callback:
                if not CALLBACK_NAME.match(callback):
                    return self._json_response(400, {"error": "Invalid callback name"}, headers)
                text = f"{callback}({text});"
        return Response(text, reply.status, headers, media_type=media)

    def _resources(self, call: Call) -> dict[str, str]:
        return {name: call.url(path) for name, path in TOP_RESOURCES}

    # -- lookups ------------------------------------------------------------------------
    def _partner_scope(self, call: Call) -> Account:
        """The caller's account; a /partners/{partner}/ path must name the caller's partner."""
        account = call.account
        assert account is not None  # routes that reach here need a login
        partner = call.params.get("partner")
        if partner is not None and partner != account.settings["partner_id"]:
            raise not_found()
        return account

    def _customer(self, call: Call) -> dict[str, Any]:
        account = self._partner_scope(call)
        customer_id = call.params["customer"]
        own = account.data["own"]
        if customer_id == account_id_of(own):
            return own
        customer = account.data["customers"].get(customer_id)
        if customer is None:
            raise not_found()
        return customer

    def _customer_url(self, call: Call, customer_id: str) -> str:
        return call.url(f"customers/{customer_id}")

    def _number_url(self, call: Call, customer_id: str, number: str) -> str:
        return call.url(f"customers/{customer_id}/numbers/{number}")

    # -- paging -------------------------------------------------------------------------
    def _page(self, call: Call, items: list[Any], list_path: str, default_limit: int) -> dict[str, Any]:
        query = call.query
        page, raw_page = self._paging_value(query, "page", 1, minimum=1)
        limit, raw_limit = self._paging_value(query, "limit", default_limit, minimum=1)
        offset, _ = self._paging_value(query, "offset", 0, minimum=0)
        start = offset + (page - 1) * limit
        total = len(items)
        last_page = max(1, math.ceil(max(total - offset, 0) / limit))
        envelope: dict[str, Any] = {
            "entries_per_page": raw_limit if raw_limit is not None else limit,
            "last_page": last_page,
            "current_page": raw_page if raw_page is not None else page,
            "page_links": None,
            "next_page": page + 1 if page < last_page else None,
            "previous_page": page - 1 if page > 1 else None,
            "total_entries": str(total),
            "first_page": 1,
            "limit": raw_limit if raw_limit is not None else limit,
            "offset": offset,
            "list": items[start : start + limit],
        }
        if call.hypermedia:
            envelope["page_links"] = self._page_links(call, list_path, page, last_page, limit, offset)
        return envelope

    @staticmethod
    def _paging_value(query, name: str, default: int, *, minimum: int) -> tuple[int, str | None]:
        raw = query.get(name)
        if raw is None or raw == "":
            return default, None
        if not raw.isdigit() or int(raw) < minimum:
            raise field_error(name, f"Must be a whole number of at least {minimum}")
        return int(raw), raw

    def _page_links(
        self, call: Call, list_path: str, page: int, last_page: int, limit: int, offset: int
    ) -> list[dict[str, str]]:
        def link(number: int, title: str) -> dict[str, str]:
            return {"href": call.url(f"{list_path}?page={number}&limit={limit}&offset={offset}"), "title": title}

        return [
            link(1, "first_page"),
            link(max(page - 1, 1), "previous_page"),
            link(page, "current_page"),
            link(min(page + 1, last_page), "next_page"),
            link(last_page, "last_page"),
        ]

    # -- handlers: root and customers --------------------------------------------------------
    async def root(self, call: Call) -> Reply:
        return Reply(200, {} if call.hypermedia else {"resources": self._resources(call)})

    async def find_own_account(self, call: Call) -> Reply:
        own_id = account_id_of(self._partner_scope(call).data["own"])
        location = self._customer_url(call, own_id)
        body: dict[str, Any] = {"location": location}
        if call.hypermedia:
            body["customer_resources"] = self._customer_links(call, own_id)
        return Reply(302, body, {"Location": location})

    def _customer_links(self, call: Call, customer_id: str) -> dict[str, list[dict[str, str]]]:
        base = self._customer_url(call, customer_id)
        return {"urls": [{"href": f"{base}/{path}", "title": title} for title, path in CUSTOMER_LINKS]}

    @staticmethod
    def _customer_doc(customer: dict[str, Any]) -> dict[str, Any]:
        doc = {name: customer[name] for name in CUSTOMER_FIELDS}
        doc.update(username=customer["username"], balance=customer["balance"], creditlimit=customer["creditlimit"])
        return doc

    async def list_customers(self, call: Call) -> Reply:
        account = self._partner_scope(call)
        items = [
            {
                **self._customer_doc(customer),
                "url": {"href": self._customer_url(call, customer_id), "title": customer_id},
            }
            for customer_id, customer in account.data["customers"].items()
        ]
        list_path = f"partners/{account.settings['partner_id']}/customers"
        return Reply(200, self._page(call, items, list_path, LIST_DEFAULT_LIMIT))

    async def read_customer(self, call: Call) -> Reply:
        customer = self._customer(call)
        body = self._customer_doc(customer)
        if call.hypermedia:
            body["customer_resources"] = self._customer_links(call, account_id_of(customer))
        return Reply(200, body)

    @staticmethod
    def _validated_customer_fields(body: dict[str, Any]) -> dict[str, str]:
        errors = FieldErrors()
        values: dict[str, str] = {}
        for name in CUSTOMER_FIELDS:
            value = body.get(name, "")
            if value is None:
                value = ""
            if not isinstance(value, str):
                errors.add(name, "Must be text")
                continue
            values[name] = value
            if name in REQUIRED_CUSTOMER_FIELDS and not value.strip():
                errors.add(name, f"{name.replace('_', ' ').capitalize()} field is required")
        if values.get("email") and "@" not in values["email"]:
            errors.add("email", "Must be a valid email address")
        if values.get("country") and not COUNTRY_CODE.match(values["country"]):
            errors.add("country", "Must be a 3 letter country code, e.g. GBR")
        for name in ("phone", "fax"):
            if values.get(name) and not PHONE_TEXT.match(values[name]):
                errors.add(name, "Must contain only digits and spaces. No + allowed")
        errors.raise_if_any()
        return values

    def _new_customer_record(self, customer_id: str, username: str, values: dict[str, str]) -> dict[str, Any]:
        caller_id = values["phone"].replace(" ", "")
        return {
            **values,
            "account": customer_id,
            "username": username,
            "balance": "0.00000",
            "creditlimit": "0",
            "created_date": _now_text(),
            "numbers": [],
            "sip": {
                "caller_id_name": caller_id,
                "sip_password": new_secret(12),
                "caller_id_number": caller_id,
                "dtmf": "RFC2833",
                "sip_username": customer_id,
                "sip_codecs": "ulaw,alaw,gsm,g729",
            },
        }

    async def create_customer(self, call: Call) -> Reply:
        account = self._partner_scope(call)
        values = self._validated_customer_fields(await call.json_object())
        customer_id = self._new_customer_id()
        username = self._unused(lambda: f"cust{secrets.token_hex(4)}", self._customer_username_taken)
        account.data["customers"][customer_id] = self._new_customer_record(customer_id, username, values)
        self.store.save(account)
        location = self._customer_url(call, customer_id)
        return Reply(201, {"location": location, "customer": customer_id}, {"Location": location})

    async def update_customer(self, call: Call) -> Reply:
        account = self._partner_scope(call)
        customer = self._customer(call)
        values = self._validated_customer_fields(await call.json_object())
        customer.update(values)
        self.store.save(account)
        return Reply(200, {"updated using": values})

    async def read_sip(self, call: Call) -> Reply:
        customer = self._customer(call)
        items = [dict(customer["sip"])] if "sip" in customer else []
        return Reply(200, self._page(call, items, f"customers/{account_id_of(customer)}/sip", LIST_DEFAULT_LIMIT))

    # -- handlers: a customer's numbers ----------------------------------------------------
    async def list_numbers(self, call: Call) -> Reply:
        account = self._partner_scope(call)
        customer = self._customer(call)
        customer_id = account_id_of(customer)
        numbers = account.data["numbers"]
        items = [
            {
                "country": self._country(number)[0],
                "activated": numbers[number]["activated"],
                "number": number,
                "url": {"href": self._number_url(call, customer_id, number), "title": number},
                "created_date": numbers[number]["number_created_date"],
            }
            for number in customer["numbers"]
        ]
        return Reply(200, self._page(call, items, f"customers/{customer_id}/numbers", LIST_DEFAULT_LIMIT))

    @staticmethod
    def _country(number: str) -> tuple[str, str, str]:
        """(country, country_code, country_prefix) of an international number."""
        if number.startswith("44"):
            return "United Kingdom", "GBR", "44"
        return "", "", ""

    async def read_number(self, call: Call) -> Reply:
        account = self._partner_scope(call)
        customer = self._customer(call)
        number = call.params["number"]
        if number not in customer["numbers"]:
            raise not_found()
        held = account.data["numbers"][number]
        country, country_code, country_prefix = self._country(number)
        doc = {
            "priority": "1",
            "country": country,
            "activated": held["activated"],
            "number": number,
            "destination": held["destination"],
            "country_code": country_code,
            "number_created_date": held["number_created_date"],
            "sent_via_sip": held["voip_call"],
            "destination_created_date": held["destination_created_date"],
            "country_prefix": country_prefix,
            "total_call_time_secs": "0",
        }
        return Reply(200, {"numbers": [doc]})

    @staticmethod
    async def _number_entries(call: Call) -> list[dict[str, Any]]:
        entries = (await call.json_object()).get("numbers")
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise field_error("numbers", "Numbers field is required: a list of numbers")
        return entries

    def _validate_number_entry(
        self, entry: dict[str, Any], existing: dict[str, Any] | None, errors: FieldErrors
    ) -> dict[str, str]:
        """The stored fields after applying ``entry`` (PUT keeps what it is not given)."""
        number = str(entry.get("number", ""))
        if not INTERNATIONAL_NUMBER.match(number):
            errors.add("number", NUMBER_FORMAT)
        current = existing or {"destination": "", "activated": "1", "voip_call": "1", "ported": "0"}
        fields: dict[str, str] = {}
        for name in FLAG_FIELDS:
            value = _flag(entry[name]) if name in entry else current[name]
            if value is None:
                errors.add(name, "Must be 0 or 1")
            else:
                fields[name] = value
        destination = entry.get("destination", current["destination"])
        if destination is None:
            destination = ""
        if not isinstance(destination, str):
            errors.add("destination", "Must be text")
            destination = ""
        elif destination and fields.get("voip_call") == "0" and not DIGITS.match(destination):
            errors.add("destination", NUMBER_FORMAT)
        elif destination and not (DIGITS.match(destination) or SIP_DESTINATION.match(destination)):
            errors.add("destination", "Must be sip:user@host, user@host or a number like 441224900999")
        fields["destination"] = destination
        return fields

    def _unused_pool(self) -> list[str]:
        return [number for account in self._others() for number in account.data.get("stock", [])]

    def _stock_holder(self, number: str) -> Account | None:
        """The sandbox account whose unused stock holds ``number`` (SureVoIP's one pool)."""
        return next((a for a in self._others() if number in a.data.get("stock", [])), None)

    def _number_available(self, account: Account, number: str, ported: bool) -> bool:
        if number in account.data["numbers"]:
            return False
        if self._stock_holder(number) is not None:
            return True
        return ported and not self._number_held_anywhere(number)

    def _hold_number(self, account: Account, customer: dict[str, Any], number: str, fields: dict[str, str]) -> None:
        now = _now_text()
        holder = self._stock_holder(number)
        if holder is not None:
            holder.data["stock"].remove(number)
            if holder is not account:
                self.store.save(holder)
        account.data["numbers"][number] = {
            "customer": account_id_of(customer),
            **fields,
            "number_created_date": now,
            "destination_created_date": now,
        }
        customer["numbers"].append(number)

    async def add_numbers(self, call: Call) -> Reply:
        """The partner's POST of several numbers to a customer (all or nothing)."""
        account = self._partner_scope(call)
        customer = self._customer(call)
        entries = await self._number_entries(call)
        errors = FieldErrors()
        accepted: list[tuple[str, dict[str, str]]] = []
        seen: set[str] = set()
        for entry in entries:
            fields = self._validate_number_entry(entry, None, errors)
            number = str(entry.get("number", ""))
            if not INTERNATIONAL_NUMBER.match(number):
                continue
            if number in seen or not self._number_available(account, number, fields.get("ported") == "1"):
                errors.add("number", f"Number {number} is not available")
            seen.add(number)
            accepted.append((number, fields))
        errors.raise_if_any()
        for number, fields in accepted:
            self._hold_number(account, customer, number, fields)
        self.store.save(account)
        created = [
            {"location": self._number_url(call, account_id_of(customer), number), "number": number}
            for number, _ in accepted
        ]
        location = call.url(f"customers/{account_id_of(customer)}/numbers")
        return Reply(201, {"numbers": created}, {"Location": location})

    async def put_number(self, call: Call) -> Reply:
        """Update a customer's number, or (partner) provision one to it."""
        account = self._partner_scope(call)
        customer = self._customer(call)
        number = call.params["number"]
        entries = await self._number_entries(call)
        entry = {"number": number, **entries[0]}
        errors = FieldErrors()
        if len(entries) != 1:
            errors.add("numbers", "Only one number can be PUT to a number resource")
        if str(entry["number"]) != number:
            errors.add("number", "Must match the number in the URL")
        existing = account.data["numbers"].get(number) if number in customer["numbers"] else None
        fields = self._validate_number_entry(entry, existing, errors)
        if existing is None and INTERNATIONAL_NUMBER.match(number):
            if not self._number_available(account, number, fields.get("ported") == "1"):
                errors.add("number", f"Number {number} is not available")
        errors.raise_if_any()
        if existing is None:
            self._hold_number(account, customer, number, fields)
        else:
            if fields["destination"] != existing["destination"]:
                existing["destination_created_date"] = _now_text()
            existing.update(fields)
        self.store.save(account)
        location = self._number_url(call, account_id_of(customer), number)
        return Reply(201, {"location": location, "number": number}, {"Location": location})

    # -- handlers: support (no login needed) ---------------------------------------------------
    async def echo(self, call: Call) -> Reply:
        return Reply(200, {"echoed": await call.json_document()}, hypermedia=False)

    async def ip_address(self, call: Call) -> Reply:
        client = call.request.client
        return Reply(200, {"ip-address": client.host if client else ""}, hypermedia=False)

    async def service_status(self, call: Call) -> Reply:
        # No incident in the sandbox: the feed is there, with no entries in it.
        return Reply(200, {"feed_title": SERVICE_STATUS_TITLE, "entries": []}, hypermedia=False)

    # -- handlers: number search -------------------------------------------------------------
    async def search_numbers(self, call: Call) -> Reply:
        # Logged in, a partner sees its own stock block; without a login (S2: the search
        # "does not need authentication"), every partner's unused numbers, oldest stock first.
        stock = call.account.data["stock"] if call.account else self._unused_pool()
        matches = self._stock_matching(stock, call.query)
        items = []
        for number in matches:
            national = _national(number)
            areacode, local = national[:5], national[5:]
            quality, price = _tier(local)
            items.append(
                {
                    "number_complete": national,
                    "number": int(local),
                    "number_areacode": areacode,
                    "number_one_off_price": price,
                    "number_detail": f"{local} is a <strong>{quality}</strong> number (£{price} one-off)",
                    "number_quality": quality,
                }
            )
        return Reply(200, self._page(call, items, "numbers", SEARCH_DEFAULT_LIMIT))

    def _stock_matching(self, stock: list[str], query) -> list[str]:
        areacode = query.get("areacode", "")
        if areacode and not areacode.isdigit():
            raise field_error("areacode", "Must be numeric")
        number_filter = query.get("number_filter", "")
        if number_filter and not number_filter.isalnum():
            raise field_error("number_filter", "Must be made up of letters and digits")
        wanted_digits = number_filter.upper().translate(KEYPAD)
        in_range = self._range_set(query.get("number_range", ""))
        matches = []
        for number in stock:
            national = _national(number)
            if areacode and not national.startswith(areacode):
                continue
            if wanted_digits and wanted_digits not in national[5:]:
                continue
            if in_range is not None and national not in in_range:
                continue
            matches.append(number)
        return matches

    @staticmethod
    def _range_set(number_range: str) -> set[str] | None:
        """The national numbers a ``number_range`` names (comma list or dash range)."""
        if not number_range:
            return None
        too_many = field_error("number_range", f"We only allow {MAX_RANGE} in a range to be checked")
        if "-" in number_range:
            first, _, last = number_range.partition("-")
            if not (first.isdigit() and last.isdigit() and len(first) == len(last) and first <= last):
                raise field_error("number_range", "Use first-last, e.g. 01224900100-01224900109")
            if int(last) - int(first) + 1 > MAX_RANGE:
                raise too_many
            return {str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)}
        numbers = {part.strip() for part in number_range.split(",") if part.strip()}
        if len(numbers) > MAX_RANGE:
            raise too_many
        if not all(n.isdigit() for n in numbers):
            raise field_error("number_range", "Use numbers separated by commas, e.g. 01224900111,01224900120")
        return numbers
