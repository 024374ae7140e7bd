"""Simotel API v4 ("SA", Nasim Telecom's call-centre PBX), as its documents describe it.

Served under ``/simotel/api/v4/``. Every service is ``POST <group>/<resource>/<action>``
with a JSON object body, and every JSON answer is the envelope
``{"success": 1|0, "message": ..., "data": ...}``; an operation that fails (a missing
field, a duplicate, an unknown ``_id``) comes back with HTTP **200** and ``success: 0``.

Emulated services: ``setting/ping/act``, ``pbx/users/{add,update,remove,search}`` and
``pbx/trunks/{add,update,remove,search}``. Objects get 24-hex ``_id``s (Simotel keeps
them in MongoDB) that are unique across every account of the sandbox.

Per account (``account.config``, set through ``PATCH /_sandbox/accounts/{id}``):
``auth_mode`` ("basic", "apikey" or "both", default "both"), ``allowed_ips`` (empty
or missing: every address may call) and ``search_pagination`` (below).

Choices made where the documents and research notes are silent (also in
``docs/sandbox/simotel.md``):

* Order of checks: account from the credentials → IP allow-list (403) → credentials
  present (401 missing) → credentials valid (401 invalid) → service exists (501) →
  method (405) → ``Content-Type`` (415) → body parses to a JSON object (400) →
  the operation (200 with ``success`` 1 or 0). On a real server the allow-list is
  server-wide and checked first; here it belongs to an account, so a request whose
  credentials name no account gets the 401 "invalid" answer.
* The account's mode says which credentials must be present; "missing" means none of
  them was sent, "invalid" means one is wrong or (mode "both") one of the two is absent.
  A credential the mode does not need is still checked when sent: it must be right,
  and Basic and API key must belong to the same account.
* No ``WWW-Authenticate`` header on 401 (none is documented), no ``Location`` header
  (new ids are in ``data._id``) and no rate-limit headers (none are documented).
* Error envelopes carry ``"data": null``.
* Only POST is accepted, except ``setting/ping/act`` which also takes PUT (its
  documented JS and curl samples use PUT). Any other verb: 405 ``Method not allowed``.
  A ``Content-Type`` other than ``application/json`` (parameters allowed), or none: 415.
* A required field that is absent, null or ``""`` is "missing":
  ``Field '<name>':value is missing`` (the documented wording, taken literally).
  A value outside the documented form (``yes``/``no`` flags, ``SIP``/``IAX2`` types,
  digit-string numbers, ``forward_policy`` with exactly its four keys and digit-string
  or empty values) and an ``_id`` this account does not hold both get the documented
  generic ``Requested operation failed``.
* Fields the documents do not list are dropped; ``_id`` in an add body is ignored.
* ``update`` merges the given top-level fields into the stored object (the official
  samples always send the whole object; nested objects such as ``forward_policy`` are
  replaced as a whole). The merged object must still be valid and unique.
* Duplicates: a user ``number`` → ``This number already exists``; a trunk ``name`` →
  ``This trunk already exists`` (unique per account: each account is its own PBX).
* Search: ``alike`` is required and may be ``true``/``"true"``/``1`` (or false forms);
  true means a case-insensitive "contains" match, false an exact match. Only the
  documented condition keys are honoured (users: ``name``, ``number``; trunks:
  ``name``); other keys and empty-string values are ignored. Users' top-level
  ``status: "mapped"`` (users mapped to queue agents) matches nobody, as the sandbox
  has no queues. Users and trunks searches are documented as unpaged (``data`` is the
  list); when the body carries ``pagination`` the sandbox honours it like the paged
  searches do: ``start`` is an offset, ``count`` the page size (absent: the rest),
  ``sorting`` ``{field: 1|-1}`` (empty: ``{"date": -1}``, the documented default;
  ties broken by ``_id`` in the same direction) and ``data`` becomes
  ``{"pagination": {start, count, sorting, total}, "data": [...]}``. The account knob
  ``search_pagination`` tries the other readings: ``list`` honours ``pagination`` but
  answers the documented plain list, ``ignored`` answers every match as a plain list.
* A body of ``[]`` (what the PHP connector's ``json_encode`` makes of "no parameters")
  counts as ``{}``; any other body that is not a JSON object is 400.
* Search output: users show ``secret`` as ``"******"`` and add ``description`` (default
  ``""``), ``date`` and ``queues: []``; trunks add ``description`` and ``date``.
  ``date`` is the Jalali (Solar Hijri) creation time ``YYYY-MM-DD HH:MM:SS`` in UTC.
* Injected faults use the envelope too: 429 ``Too Many Requests`` with ``Retry-After``,
  5xx with the status's reason phrase as ``message``.
"""

from __future__ import annotations

import hmac
import itertools
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import partial
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..base import (
    Account,
    CarrierEmulator,
    address_list_knob,
    basic_credentials,
    choice_knob,
    new_secret,
)

# How users and trunks searches (documented unpaged: ``data`` is the list) treat a body's
# ``pagination``: honour it in the paged searches' envelope (the default), honour it but
# answer the documented plain list, or ignore it and answer everything as a plain list.
SEARCH_PAGINATION_MODES = ("envelope", "list", "ignored")
DONE = "Requested operation is done successfully"
FAILED = "Requested operation failed"
PING_DONE = "If the 'Ping' event is enabled in the settings menu, you'll receive it when it's sent"
MASKED_SECRET = "******"
DEFAULT_SORTING = {"date": -1}
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
YES_NO = ("yes", "no")
FORWARD_KEYS = frozenset({"All", "Busy", "No Answer", "UnAvailable"})
BULK_FIRST_EXTENSION = 10000


class OperationFailed(Exception):
    """An operation error: HTTP 200 with ``success: 0`` and this message."""


def missing_field(name: str) -> OperationFailed:
    return OperationFailed(f"Field '{name}':value is missing")


# ------------------------------------------------------------------ ids and dates
class ObjectIds:
    """24-hex ids shaped like MongoDB ObjectIds: time, a per-process random part, a counter.

    The random part differs per sandbox process, so ids stay unique across restarts
    with a state file as well as across accounts.
    """

    def __init__(self) -> None:
        self._process_part = os.urandom(5).hex()
        self._counter = itertools.count(secrets.randbelow(1 << 24))

    def new(self) -> str:
        seconds = int(time.time()) & 0xFFFFFFFF
        return f"{seconds:08x}{self._process_part}{next(self._counter) & 0xFFFFFF:06x}"


# 1 Farvardin 1403 fell on 20 March 2024. Leap years of the 33-year rule, which matches
# the official Solar Hijri calendar from 1343 to 1472 (1964-2093), ample for a sandbox.
JALALI_ANCHOR = (1403, date(2024, 3, 20))
JALALI_LEAP_REMAINDERS = frozenset({1, 5, 9, 13, 17, 22, 26, 30})


def jalali_year_days(year: int) -> int:
    return 366 if year % 33 in JALALI_LEAP_REMAINDERS else 365


def to_jalali(day: date) -> tuple[int, int, int]:
    year, anchor = JALALI_ANCHOR
    offset = (day - anchor).days
    while offset < 0:
        year -= 1
        offset += jalali_year_days(year)
    while offset >= jalali_year_days(year):
        offset -= jalali_year_days(year)
        year += 1
    # Months 1-6 have 31 days, 7-11 have 30, Esfand 29 or 30.
    if offset < 186:
        return year, offset // 31 + 1, offset % 31 + 1
    offset -= 186
    return year, offset // 30 + 7, offset % 30 + 1


def jalali_timestamp(moment: datetime) -> str:
    year, month, day = to_jalali(moment.date())
    return f"{year:04d}-{month:02d}-{day:02d} {moment:%H:%M:%S}"


# ------------------------------------------------------------------ field checks
def is_text(value: Any) -> bool:
    return isinstance(value, str)


def is_yes_no(value: Any) -> bool:
    return value in YES_NO


def is_digits(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit()


def is_call_limit(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return value == "" or is_digits(value) or (isinstance(value, int) and value >= 0)


def is_forward_policy(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == FORWARD_KEYS
        and all(target == "" or is_digits(target) for target in value.values())
    )


def one_of(*allowed: str) -> Callable[[Any], bool]:
    return lambda value: value in allowed


@dataclass(frozen=True)
class Resource:
    """One ``pbx/<resource>`` collection and the documented shape of its objects."""

    key: str  # where the account keeps them in ``account.data``
    natural_key: str  # unique per account
    duplicate_message: str
    required: tuple[str, ...]  # on add, in the documented order
    fields: dict[str, Callable[[Any], bool]]  # every documented field and its check
    conditions: tuple[str, ...]  # search conditions that are honoured
    masked: tuple[str, ...] = ()
    listed_extras: tuple[tuple[str, Any], ...] = ()  # added to search output when absent


PEER_FIELDS: dict[str, Callable[[Any], bool]] = {
    "active": is_yes_no,
    "deny": is_text,
    "permit": is_text,
    "dtmfmode": is_text,
    "canreinvite": is_yes_no,
    "directmedia": is_yes_no,
    "context": is_text,
    "host": is_text,
    "type": one_of("user", "peer", "friend"),
    "nat": is_text,
    "port": is_digits,
    "qualify": is_yes_no,
    "more_options": is_text,
    "description": is_text,
}

USERS = Resource(
    key="users",
    natural_key="number",
    duplicate_message="This number already exists",
    required=("name", "number", "secret"),
    fields={
        **PEER_FIELDS,
        "user_type": one_of("SIP", "IAX2"),
        "name": is_text,
        "number": is_digits,
        "cid_number": is_text,
        "secret": is_text,
        "call_record": is_yes_no,
        "push_notification": is_yes_no,
        "callgroup": is_text,
        "pickupgroup": is_text,
        "callcounter": is_yes_no,
        "faxdetect": is_yes_no,
        "call_limit": is_call_limit,
        "trunk": is_yes_no,
        "transfer": is_yes_no,
        "email": is_text,
        "forward_policy": is_forward_policy,
    },
    conditions=("name", "number"),
    masked=("secret",),
    listed_extras=(("description", ""), ("queues", [])),
)

TRUNKS = Resource(
    key="trunks",
    natural_key="name",
    duplicate_message="This trunk already exists",
    required=("name",),
    fields={
        **PEER_FIELDS,
        "trunk_type": one_of("SIP", "IAX2", "DAHDI"),
        "name": is_text,
        "register_string": is_text,
        "insecure": one_of("", "port", "invite", "port,invite"),
        "disallow": is_text,
        "allow": is_text,
        "group": is_text,
    },
    conditions=("name",),
    listed_extras=(("description", ""),),
)


# ------------------------------------------------------------------ search helpers
def is_truthy_flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def matches(obj: dict[str, Any], conditions: dict[str, str], alike: bool) -> bool:
    for field_name, wanted in conditions.items():
        actual = str(obj.get(field_name, ""))
        if alike:
            if wanted.lower() not in actual.lower():
                return False
        elif actual != wanted:
            return False
    return True


def sort_key(field_name: str) -> Callable[[dict[str, Any]], tuple]:
    def key(obj: dict[str, Any]) -> tuple:
        value = obj.get(field_name)
        return (value is None, str(value) if value is not None else "", obj["_id"])

    return key


@dataclass
class Page:
    start: int
    count: int | None
    sorting: dict[str, int]


def parse_pagination(raw: Any) -> Page:
    if not isinstance(raw, dict):
        raise OperationFailed(FAILED)
    start, count = raw.get("start", 0), raw.get("count")
    sorting = raw.get("sorting") or dict(DEFAULT_SORTING)
    valid = (
        type(start) is int
        and start >= 0
        and (count is None or (type(count) is int and count >= 0))
        and isinstance(sorting, dict)
        and len(sorting) == 1
        and all(direction in (1, -1) for direction in sorting.values())
    )
    if not valid:
        raise OperationFailed(FAILED)
    return Page(start=start, count=count, sorting=sorting)


# ------------------------------------------------------------------ responses
def envelope(success: int, message: str | None, data: Any = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": success, "message": message, "data": data}, status_code=status)


def failure(status: int, message: str) -> JSONResponse:
    return envelope(0, message, None, status)


def is_json_content_type(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").partition(";")[0]
    return media_type.strip().lower() == "application/json"


@dataclass(frozen=True)
class Service:
    handler: Callable[[Account, dict[str, Any]], Response]
    methods: frozenset[str] = frozenset({"POST"})


class SimotelEmulator(CarrierEmulator):
    name = "simotel"
    prefix = "/simotel/api/v4"
    config_knobs = {
        "allowed_ips": address_list_knob,
        "auth_mode": choice_knob("basic", "apikey", "both"),
        "search_pagination": choice_knob(*SEARCH_PAGINATION_MODES),
    }

    def __init__(self, store) -> None:
        super().__init__(store)
        self.ids = ObjectIds()
        # credential -> account id, so identifying a request is two dict lookups
        self._by_username: dict[str, str] = {}
        self._by_api_key: dict[str, str] = {}
        for account in store.by_carrier(self.name):
            self._index(account)
        self.services: dict[str, Service] = {
            "setting/ping/act": Service(self.ping, frozenset({"POST", "PUT"})),
        }
        for resource in (USERS, TRUNKS):
            for action in ("add", "update", "remove", "search"):
                handler = partial(getattr(self, action), resource)
                self.services[f"pbx/{resource.key}/{action}"] = Service(handler)

    # -- accounts ---------------------------------------------------------------
    def new_account(self, account: Account) -> None:
        account.settings = {
            "username": f"api-{secrets.token_hex(4)}",
            "password": new_secret(),
            "api_key": secrets.token_urlsafe(36),
        }
        account.data = {USERS.key: {}, TRUNKS.key: {}}
        self._index(account)

    def _index(self, account: Account) -> None:
        self._by_username[account.settings["username"]] = account.id
        self._by_api_key[account.settings["api_key"]] = account.id

    def _lookup(self, index: dict[str, str], credential: str | None) -> Account | None:
        account_id = index.get(credential) if credential else None
        return self.store.get(account_id) if account_id else None

    def identify(self, request: Request) -> Account | None:
        basic = basic_credentials(request)
        account = self._lookup(self._by_username, basic[0] if basic else None)
        return account or self._lookup(self._by_api_key, request.headers.get("x-apikey"))

    def public_state(self, account: Account) -> dict[str, Any]:
        return {key: list(account.data.get(key, {}).values()) for key in (USERS.key, TRUNKS.key)}

    # -- bulk (control API, for benchmarks) ------------------------------------------
    bulk_kinds = ("subscriber",)

    def bulk_create(self, account: Account, kind: str, count: int) -> dict[str, Any]:
        """Users with consecutive extension numbers after the highest one; every tenth
        forwards all calls to a number (from Ofcom's drama range)."""
        users = self._collection(USERS, account)
        taken = [int(user["number"]) for user in users.values() if is_digits(user.get("number"))]
        first = max(taken, default=BULK_FIRST_EXTENSION - 1) + 1
        created = jalali_timestamp(datetime.now(timezone.utc))
        for number in range(first, first + count):
            policy = dict.fromkeys(FORWARD_KEYS, "")
            if number % 10 == 0:
                policy["All"] = f"00442079460{number % 1000:03d}"
            object_id = self.ids.new()
            users[object_id] = {
                "_id": object_id,
                "user_type": "SIP",
                "type": "friend",
                "host": "dynamic",
                "context": "main_routing",
                "name": f"Synthetic {number}",
                "number": str(number),
                "secret": new_secret(12),
                "cid_number": "",
                "call_limit": "",
                "active": "yes",
                "forward_policy": policy,
                "date": created,
            }
        self.store.save(account)
        return {"kind": kind, "created": count, "first": str(first), "last": str(first + count - 1)}

    # -- faults, worded as Simotel words its errors ---------------------------------
    def rate_limited_response(self, request: Request, retry_after: int) -> Response:
        response = failure(429, HTTPStatus(429).phrase)
        response.headers["Retry-After"] = str(retry_after)
        return response

    def error_response(self, request: Request, status: int) -> Response:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return failure(status, phrase)

    # -- request pipeline ---------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        return [Route("/{service:path}", self.dispatch, methods=ALL_METHODS)]

    async def dispatch(self, request: Request) -> Response:
        account = self.identify(request)
        refusal = self._refuse_caller(request, account)
        if refusal is not None:
            return refusal
        service = self.services.get(request.path_params["service"])
        if service is None:
            return failure(501, "Requested service does not exist")
        if request.method not in service.methods:
            return failure(405, "Method not allowed")
        if not is_json_content_type(request):
            return failure(415, "Unsupported Media Type")
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if body == []:
            body = {}  # the PHP connector's json_encode of "no parameters" (an empty PHP array)
        if not isinstance(body, dict):
            return failure(400, "Unable to parse content")
        try:
            return service.handler(account, body)
        except OperationFailed as exc:
            return envelope(0, str(exc))

    def _refuse_caller(self, request: Request, account: Account | None) -> Response | None:
        """The 403/401 answer for this caller, or None when it may go on."""
        has_authorization = "authorization" in request.headers
        api_key = request.headers.get("x-apikey")
        if account is None:
            if has_authorization or api_key is not None:
                return failure(401, "BasicAuth or ApiKey is invalid")
            return failure(401, "BasicAuth or ApiKey is missing")
        allowed_ips = account.config.get("allowed_ips")
        if allowed_ips and (request.client is None or request.client.host not in allowed_ips):
            return failure(403, "IP is not permitted")
        mode = account.config.get("auth_mode", "both")
        needs_basic, needs_key = mode in ("basic", "both"), mode in ("apikey", "both")
        if not (needs_basic and has_authorization) and not (needs_key and api_key is not None):
            return failure(401, "BasicAuth or ApiKey is missing")
        basic_ok = self._basic_matches(request, account) if has_authorization else not needs_basic
        key_ok = self._key_matches(api_key, account) if api_key is not None else not needs_key
        if not (basic_ok and key_ok):
            return failure(401, "BasicAuth or ApiKey is invalid")
        return None

    @staticmethod
    def _basic_matches(request: Request, account: Account) -> bool:
        basic = basic_credentials(request)
        if basic is None:
            return False
        user, password = basic
        return hmac.compare_digest(user, account.settings["username"]) and hmac.compare_digest(
            password.encode(), account.settings["password"].encode()
        )

    @staticmethod
    def _key_matches(api_key: str, account: Account) -> bool:
        return hmac.compare_digest(api_key.encode(), account.settings["api_key"].encode())

    # -- services -----------------------------------------------------------------
    def ping(self, account: Account, body: dict[str, Any]) -> Response:
        return envelope(1, PING_DONE, None)

    def add(self, resource: Resource, account: Account, body: dict[str, Any]) -> Response:
        fields = self._documented_fields(resource, body)
        self._check_required(resource, fields)
        self._check_unique(resource, account, fields, own_id=None)
        object_id = self.ids.new()
        created = {"_id": object_id, **fields, "date": jalali_timestamp(datetime.now(timezone.utc))}
        self._collection(resource, account)[object_id] = created
        self.store.save(account)
        return envelope(1, DONE, {"_id": object_id})

    def update(self, resource: Resource, account: Account, body: dict[str, Any]) -> Response:
        current = self._existing(resource, account, body)
        merged = {**current, **self._documented_fields(resource, body)}
        self._check_required(resource, merged)
        self._check_unique(resource, account, merged, own_id=current["_id"])
        self._collection(resource, account)[current["_id"]] = merged
        self.store.save(account)
        return envelope(1, DONE, "")

    def remove(self, resource: Resource, account: Account, body: dict[str, Any]) -> Response:
        current = self._existing(resource, account, body)
        del self._collection(resource, account)[current["_id"]]
        self.store.save(account)
        return envelope(1, DONE, "")

    def search(self, resource: Resource, account: Account, body: dict[str, Any]) -> Response:
        if body.get("alike") is None:
            raise missing_field("alike")
        conditions = body.get("conditions") or {}
        if not isinstance(conditions, dict):
            raise OperationFailed(FAILED)
        honoured = {
            name: str(value)
            for name, value in conditions.items()
            if name in resource.conditions and value not in (None, "")
        }
        alike = is_truthy_flag(body["alike"])
        if resource is USERS and body.get("status") == "mapped":
            found: list[dict[str, Any]] = []  # no queues in the sandbox, so nobody is mapped
        else:
            found = [o for o in self._collection(resource, account).values() if matches(o, honoured, alike)]
        mode = account.config.get("search_pagination", "envelope")
        if "pagination" not in body or mode == "ignored":
            return envelope(1, "", [self._listed(resource, o) for o in found])
        paged = self._paged(resource, found, parse_pagination(body["pagination"]))
        return envelope(1, "", paged if mode == "envelope" else paged["data"])

    # -- helpers --------------------------------------------------------------------
    @staticmethod
    def _collection(resource: Resource, account: Account) -> dict[str, dict[str, Any]]:
        return account.data.setdefault(resource.key, {})

    @staticmethod
    def _documented_fields(resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
        fields = {name: value for name, value in body.items() if name in resource.fields}
        for name, value in fields.items():
            if value is not None and not resource.fields[name](value):
                raise OperationFailed(FAILED)
        return {name: value for name, value in fields.items() if value is not None}

    @staticmethod
    def _check_required(resource: Resource, fields: dict[str, Any]) -> None:
        for name in resource.required:
            if fields.get(name) in (None, ""):
                raise missing_field(name)

    def _check_unique(
        self, resource: Resource, account: Account, fields: dict[str, Any], own_id: str | None
    ) -> None:
        key = fields[resource.natural_key]
        for other in self._collection(resource, account).values():
            if other["_id"] != own_id and other.get(resource.natural_key) == key:
                raise OperationFailed(resource.duplicate_message)

    def _existing(self, resource: Resource, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        object_id = body.get("_id")
        if object_id in (None, ""):
            raise missing_field("_id")
        current = self._collection(resource, account).get(object_id) if isinstance(object_id, str) else None
        if current is None:
            raise OperationFailed(FAILED)
        return current

    @staticmethod
    def _listed(resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        listed = dict(obj)
        for name in resource.masked:
            if name in listed:
                listed[name] = MASKED_SECRET
        for name, default in resource.listed_extras:
            listed.setdefault(name, default if not isinstance(default, list) else list(default))
        return listed

    def _paged(self, resource: Resource, found: list[dict[str, Any]], page: Page) -> dict[str, Any]:
        (field_name, direction), = page.sorting.items()
        ordered = sorted(found, key=sort_key(field_name), reverse=direction == -1)
        end = None if page.count is None else page.start + page.count
        rows = [self._listed(resource, o) for o in ordered[page.start : end]]
        return {
            "pagination": {
                "start": page.start,
                "count": page.count if page.count is not None else len(rows),
                "sorting": page.sorting,
                "total": len(found),
            },
            "data": rows,
        }
