"""Sipwise C5 (NGCP) emulator: the v1 REST API as a reseller's admin login sees it.

Source of truth: ``/work/shared/carrier-docs/003_*.txt`` (the handbook's REST chapter) and
``notes-sipwise.md`` (ngcp-panel behaviour). Each sandbox account is one reseller with its
admin login, one billing profile and one SIP domain. Emulated resources:
``customercontacts``, ``customers``, ``billingprofiles``, ``domains``, ``subscribers``,
``callforwards`` and ``subscriberpreferences``; the generic protocol (errors, HAL, paging,
PATCH) is in :mod:`.sipwise_protocol`.

Choices where the documents are silent (also in ``docs/sandbox/sipwise.md``):

- Paths: ``/sipwise/api/...`` stands for the real ``/api/...``. ``Location`` headers and
  HAL links keep the platform's form (an absolute path), rooted at the prefix:
  ``Location: /sipwise/api/customers/7`` where the platform says ``/api/customers/7``.
  ``curies`` and ``profile`` keep the real ``purl.org`` URLs.
- Each account is one reseller of one shared platform: usernames and domain names are
  unique within the account, numbers across all accounts (the platform's number table is
  one, notes 5.5: another reseller's number is "already exists", nothing more). Ids come
  from per-resource sequences shared by all accounts, so another account's id answers 404
  like a foreign reseller's item.
- 401 bodies are ``Authorization required.`` as ``text/plain``. Banning after failed
  logins, client certificates, JWT and the subscriber realm are not emulated.
- The injected 429 (the platform documents none) and 5xx answers use the platform's error
  body: ``{"code":429,"message":"Too Many Requests"}`` plus ``Retry-After``;
  ``{"code":503,"message":"Service Unavailable"}``.
- ``primary_number`` is optional, as in every released version; the account knob
  ``require_primary_number`` makes it required for sipaccount customers, as unreleased
  master does. Password complexity checks are off (the platform's
  ``sip_validate``/``web_validate`` defaults are not documented).
- Domain names may hold ``_`` (the platform takes them). Billing profiles show ``status``
  (``active``, or ``terminated`` by DELETE or PUT/PATCH, then 404) and take
  ``peaktime_weekdays`` (``weekday`` 0 = Monday … 6, ``start``/``stop`` ``HH:MM[:SS]``, shown
  as ``HH:MM:SS``) and ``peaktime_special`` (``start``/``stop`` timestamps); rows of one day
  (or specials) that overlap, their stop second included, are a 422 "… overlaps with …".
- ``OPTIONS /api/`` answers like a collection (``methods``, ``Allow``) with one ``Link``
  header per emulated collection; ``GET /api/`` is a small HTML page. Callforwards items
  link to themselves as ``ngcp:callforwards``. Repeated slashes in a path are merged (the
  platform's nginx does; done by the sandbox core for every carrier).
- Customers accept ``billing_profile_definition`` ``id`` only; invoice and email template
  ids can only be null (none exist). Setting a customer ``pending`` changes no subscriber.
- Call forwards: a type with no destinations is unset (``{}``). The read-only
  ``destination_set``/``time_set``/``source_set``/``bnumber_set`` are null.
  ``simple_destination`` is null for keyword targets (``voicebox`` ...). A time field may
  be sent as a number and comes back as a string.
- Subscriber preferences: a fixed set of common attributes (``PREFERENCES``); unknown
  names are ignored as documented. ``ext_subscriber_id`` shows the subscriber's
  ``external_id`` and is read-only here; ``ncos`` rejects every value (no NCOS levels exist).
- The only 423 the notes describe is ``DELETE`` of a customer contact still in use.
- Where a call goes at a moment (the control API's ``routing``, ``routing_at``): each forward
  type applies when it has no ``times`` or any entry matches (notes 5.6, ``times_match``).
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..base import Account, CarrierEmulator, basic_credentials, boolean_knob, new_secret
from .sipwise_protocol import (
    CURIES,
    HAL_PROFILE,
    ApiError,
    Field,
    ValidationErrors,
    apply_patch,
    check_patch,
    convert,
    display_input,
    error_response,
    hal_response,
    page_href,
    parse_paging,
    pattern_matcher,
    reason,
    sort_records,
    timestamp,
    validate_form,
)

REALM = "api_admin_http"
METHOD_OVERRIDE_HEADERS = ("x-http-method", "x-http-method-override", "x-method-override", "x-tunneled-method")
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
FORWARD_TYPES = ("cfu", "cfb", "cft", "cfna", "cfs", "cfr", "cfo")
SPECIAL_DESTINATIONS = {
    "voicebox", "fax2mail", "conference", "callingcard", "callthrough",
    "autoattendant", "officehours", "customhours", "managersecretary",
}  # fmt: skip
TIME_RANGES = {
    "year": (1990, 3000), "month": (1, 12), "mday": (1, 31), "wday": (1, 7), "hour": (0, 23), "minute": (0, 59),
}  # fmt: skip
PREFERENCE_MAX_LENGTH = 128

# Subscriber preferences the emulator knows, by value kind (notes §5.8).
PREFERENCES: dict[str, str] = {
    "allowed_ips": "list", "allowed_clis": "list", "block_in_list": "list", "block_out_list": "list",
    "adm_block_in_list": "list", "adm_block_out_list": "list",
    "block_in_mode": "bool", "block_in_clir": "bool", "block_out_mode": "bool", "clir": "bool",
    "adm_block_in_mode": "bool", "adm_block_in_clir": "bool", "adm_block_out_mode": "bool", "music_on_hold": "bool",
    "cli": "text", "user_cli": "text", "language": "text", "block_out_override_pin": "text", "ncos": "text",
    "adm_ncos": "text", "ext_contract_id": "text", "cc": "text", "ac": "text",
    "concurrent_max": "int", "concurrent_max_out": "int", "ringtimeout": "int",
}  # fmt: skip
READ_ONLY_PREFERENCES = {"ext_subscriber_id"}

COLLECTIONS = (
    "customercontacts", "customers", "billingprofiles", "domains", "subscribers",
    "terminated_subscribers", "callforwards", "subscriberpreferences", "number_ids",
)  # fmt: skip
ROOT_METHODS = ("GET", "HEAD", "OPTIONS")
ID_KINDS = ("reseller", "customercontact", "customer", "billingprofile", "domain", "subscriber", "number")


def invalid(field: str, detail: str = "") -> ApiError:
    return ApiError(422, f"Invalid '{field}'{detail}")


class Resource:
    """One collection of the API: its methods, validation, rendering and filters."""

    collection: str = ""  # URL segment, e.g. "customers"
    item: str = ""  # the name in "Entity 'customer' not found."
    collection_methods: tuple[str, ...] = ("GET", "HEAD", "OPTIONS", "POST")
    item_methods: tuple[str, ...] = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH")
    patch_ops: tuple[str, ...] = ("replace", "copy")
    filters: dict[str, Callable[[Account, dict, str], bool]] = {}

    def __init__(self, emulator: SipwiseEmulator) -> None:
        self.emulator = emulator

    # -- storage
    def records(self, account: Account) -> dict[str, dict[str, Any]]:
        return account.data[self.collection]

    def visible(self, record: dict[str, Any]) -> bool:
        return True

    def get(self, account: Account, item_id: int) -> dict[str, Any] | None:
        record = self.records(account).get(str(item_id))
        return record if record is not None and self.visible(record) else None

    def require(self, account: Account, item_id: int) -> dict[str, Any]:
        record = self.get(account, item_id)
        if record is None:
            raise ApiError(404, f"Entity '{self.item}' not found.")
        return record

    # -- rendering
    def href(self, item_id: Any = "") -> str:
        return f"{self.emulator.root}/{self.collection}/{item_id}"

    def render(self, account: Account, record: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def relations(self, account: Account, record: dict[str, Any]) -> dict[str, str]:
        """``ngcp:<rel>`` → href of the related items (each rendered as a one-element array)."""
        return {}

    def hal(self, account: Account, record: dict[str, Any]) -> dict[str, Any]:
        doc = self.render(account, record)
        links: dict[str, Any] = {
            "curies": CURIES,
            "profile": {"href": HAL_PROFILE},
            "self": {"href": self.href(record["id"])},
            "collection": {"href": self.href()},
        }
        for rel, href in self.relations(account, record).items():
            links[f"ngcp:{rel}"] = [{"href": href}]
        doc["_links"] = links
        return doc

    def matches(self, account: Account, record: dict[str, Any], params: dict[str, str]) -> bool:
        for name, value in params.items():
            check = self.filters.get(name)
            if check is not None and not check(account, record, value):
                return False
        return True

    # -- changes (subclasses implement what their methods allow)
    def create(self, account: Account, body: dict[str, Any]) -> int:
        raise NotImplementedError

    def replace(self, account: Account, record: dict[str, Any], body: dict[str, Any]) -> None:
        raise NotImplementedError

    def delete(self, account: Account, record: dict[str, Any]) -> None:
        raise NotImplementedError


def equals_int(key: str) -> Callable[[Account, dict, str], bool]:
    return lambda account, record, value: str(record.get(key)) == value


def wildcard(key: str, question_mark: bool = False) -> Callable[[Account, dict, str], bool]:
    return lambda account, record, value: pattern_matcher(value, question_mark)(record.get(key))


def in_list(key: str, negate: bool = False) -> Callable[[Account, dict, str], bool]:
    return lambda account, record, value: (record.get(key) in value.split(",")) != negate


# ------------------------------------------------------------------ customercontacts
CONTACT_FIELDS = (
    Field("email", "email", required=True),
    *(Field(name) for name in (
        "firstname", "lastname", "company", "street", "postcode", "city", "country", "iban", "bic", "bankname",
        "vatnum", "comregnum", "phonenumber", "mobilenumber", "faxnumber", "timezone",
        *(f"gpp{n}" for n in range(10)),
    )),
)  # fmt: skip


class CustomerContacts(Resource):
    collection, item = "customercontacts", "customercontact"
    item_methods = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")
    filters = {"email": wildcard("email"), "reseller_id": equals_int("reseller_id")}

    def visible(self, record: dict[str, Any]) -> bool:
        return record["status"] != "terminated"

    def render(self, account: Account, record: dict[str, Any]) -> dict[str, Any]:
        doc = {field.name: record.get(field.name) for field in CONTACT_FIELDS}
        doc.update(id=record["id"], reseller_id=record["reseller_id"])
        return doc

    def relations(self, account: Account, record: dict[str, Any]) -> dict[str, str]:
        return {"resellers": f"{self.emulator.root}/resellers/{record['reseller_id']}"}

    def validate(self, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        errors = ValidationErrors()
        values = validate_form(CONTACT_FIELDS, body, errors)
        errors.raise_if_any()
        # A reseller's reseller_id is forced to its own (notes §1).
        values["reseller_id"] = account.data["reseller_id"]
        return values

    def create(self, account: Account, body: dict[str, Any]) -> int:
        record = self.validate(account, body)
        record.update(id=self.emulator.next_id("customercontact"), status="active")
        self.records(account)[str(record["id"])] = record
        return record["id"]

    def replace(self, account: Account, record: dict[str, Any], body: dict[str, Any]) -> None:
        record.update(self.validate(account, body))

    def delete(self, account: Account, record: dict[str, Any]) -> None:
        users = [c for c in account.data["customers"].values() if c["contact_id"] == record["id"]]
        if any(customer["status"] != "terminated" for customer in users):
            raise ApiError(423, "Contact is still in use.")
        if users:  # only terminated contracts refer to it: terminate, don't delete
            record["status"] = "terminated"
        else:
            del self.records(account)[str(record["id"])]


# ----------------------------------------------------------------------- customers
CUSTOMER_STATUSES = ("active", "pending", "locked", "terminated")
CUSTOMER_FIELDS = (
    Field("status", "enum", required=True, choices=CUSTOMER_STATUSES),
    Field("type", "enum", required=True, choices=("sipaccount", "pbxaccount")),
    Field("contact_id", "int", required=True),
    Field("max_subscribers", "posint"),
    Field("external_id"),
    Field("vat_rate", "float", default=0, minimum=0, maximum=100),
    Field("add_vat", "bool", default=False),
)
TEMPLATE_FIELDS = (
    "invoice_template_id", "subscriber_email_template_id", "passreset_email_template_id", "invoice_email_template_id",
)  # fmt: skip


class Customers(Resource):
    collection, item = "customers", "customer"
    filters = {
        "type": wildcard("type"),
        "status": in_list("status"),
        "not_status": in_list("status", negate=True),
        "reseller_id": lambda account, record, value: str(account.data["reseller_id"]) == value,
        "external_id": wildcard("external_id"),
        "contact_id": equals_int("contact_id"),
    }

    def render(self, account: Account, record: dict[str, Any]) -> dict[str, Any]:
        doc = dict(record)
        doc.update(
            billing_profile_definition="id",
            billing_profiles=[],
            all_billing_profiles=[
                {
                    "profile_id": record["billing_profile_id"],
                    "start": None,
                    "stop": None,
                    "network_id": None,
                    "effective_start_time": record["create_timestamp"],
                }
            ],
            profile_package_id=None,
            **dict.fromkeys(TEMPLATE_FIELDS),
        )
        return doc

    def relations(self, account: Account, record: dict[str, Any]) -> dict[str, str]:
        root, cid = self.emulator.root, record["id"]
        return {
            "customercontacts": f"{root}/customercontacts/{record['contact_id']}",
            "billingprofiles": f"{root}/billingprofiles/{record['billing_profile_id']}",
            "customerpreferences": f"{root}/customerpreferences/{cid}",
            "customerbalances": f"{root}/customerbalances/{cid}",
            "balanceintervals": f"{root}/balanceintervals/{cid}",
            "calls": f"{root}/calls/?customer_id={cid}",
            "customerfraudpreferences": f"{root}/customerfraudpreferences/{cid}",
            "journal": f"{root}/customers/{cid}/journal/",
        }

    def validate(self, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        errors = ValidationErrors()
        values = validate_form(CUSTOMER_FIELDS, body, errors)
        errors.raise_if_any()
        definition = body.get("billing_profile_definition")
        if definition not in (None, "id"):
            raise invalid("billing_profile_definition", ", only 'id' is supported.")
        for name in TEMPLATE_FIELDS:
            if body.get(name) is not None:
                raise invalid(name, f" ({display_input(body[name])}).")
        contact = self.emulator.resources["customercontacts"].get(account, values["contact_id"])
        if contact is None:
            raise invalid("contact_id")
        values["billing_profile_id"] = self.billing_profile_id(account, body.get("billing_profile_id"))
        return values

    def billing_profile_id(self, account: Account, raw: Any) -> int:
        if raw is None:
            raise invalid("billing_profile_id", ", not defined.")
        profile_id, problem = convert(Field("billing_profile_id", "int"), raw)
        profiles = self.emulator.resources["billingprofiles"]
        if problem or profiles.get(account, profile_id) is None:
            raise invalid("billing_profile_id", f" ({display_input(raw)}).")
        return profile_id

    def create(self, account: Account, body: dict[str, Any]) -> int:
        values = self.validate(account, body)
        now = timestamp()
        record = {
            "id": self.emulator.next_id("customer"),
            **values,
            "create_timestamp": now,
            "modify_timestamp": now,
            "activate_timestamp": now if values["status"] == "active" else None,
            "terminate_timestamp": None,
        }
        self.records(account)[str(record["id"])] = record
        self.cascade_status(account, record, values["status"])
        return record["id"]

    def replace(self, account: Account, record: dict[str, Any], body: dict[str, Any]) -> None:
        if record["status"] == "terminated":
            raise ApiError(422, "Customer is already terminated and cannot be changed.")
        values = self.validate(account, body)
        previous_status = record["status"]
        record.update(values, modify_timestamp=timestamp())
        if values["status"] != previous_status:
            if values["status"] == "active" and record["activate_timestamp"] is None:
                record["activate_timestamp"] = record["modify_timestamp"]
            self.cascade_status(account, record, values["status"])

    def cascade_status(self, account: Account, record: dict[str, Any], status: str) -> None:
        """A customer's status reaches its subscribers (Utils/Contract.pm, notes §5.2)."""
        subscribers = self.emulator.resources["subscribers"]
        members = [s for s in subscribers.records(account).values() if s["customer_id"] == record["id"]]
        if status == "terminated":
            record["terminate_timestamp"] = timestamp()
            for subscriber in members:
                subscribers.terminate(account, subscriber)
        elif status in ("locked", "active"):
            for subscriber in members:
                subscriber.update(status=status, lock=4 if status == "locked" else 0)


# ------------------------------------------------------------------ billingprofiles
BILLING_PROFILE_FIELDS = (
    Field("name", required=True),
    Field("handle", "identifier", required=True),
    Field("status", "enum", choices=("active", "terminated"), default="active"),
    Field("prepaid", "bool", default=False),
    Field("currency"),
    Field("interval_charge", "float", default=0, minimum=0),
    Field("interval_free_time", "int", default=0, minimum=0),
    Field("interval_free_cash", "float", default=0, minimum=0),
    Field("interval_unit", "enum", choices=("week", "month"), default="month"),
    Field("interval_count", "posint", default=1),
)


class BillingProfiles(Resource):
    collection, item = "billingprofiles", "billingprofile"
    item_methods = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")
    patch_ops = ("add", "replace", "remove", "copy")
    filters = {"handle": wildcard("handle"), "name": wildcard("name"), "reseller_id": equals_int("reseller_id")}

    def visible(self, record: dict[str, Any]) -> bool:
        return record["status"] != "terminated"

    def render(self, account: Account, record: dict[str, Any]) -> dict[str, Any]:
        doc = dict(record)
        doc.setdefault("peaktime_weekdays", [])
        doc.setdefault("peaktime_special", [])
        return doc

    def relations(self, account: Account, record: dict[str, Any]) -> dict[str, str]:
        return {"resellers": f"{self.emulator.root}/resellers/{record['reseller_id']}"}

    def validate(self, account: Account, body: dict[str, Any], own_id: int | None = None) -> dict[str, Any]:
        errors = ValidationErrors()
        values = validate_form(BILLING_PROFILE_FIELDS, body, errors)
        errors.raise_if_any()
        values["peaktime_weekdays"] = peaktime_weekdays(body.get("peaktime_weekdays"))
        values["peaktime_special"] = peaktime_specials(body.get("peaktime_special"))
        reseller_id = account.data["reseller_id"]
        for record in self.records(account).values():
            if record["id"] == own_id or not self.visible(record):
                continue
            if record["handle"] == values["handle"]:
                key = f"{reseller_id}-{values['handle']}"
                raise ApiError(422, f"Reseller-Billing Profile handle '{key}' already exists.")
            if record["name"] == values["name"]:
                raise ApiError(
                    422, f"Reseller-Billing Profile name combination '{reseller_id}-{values['name']}' already exists."
                )
        values["reseller_id"] = reseller_id
        return values

    def create(self, account: Account, body: dict[str, Any]) -> int:
        record = {"id": self.emulator.next_id("billingprofile"), **self.validate(account, body)}
        self.records(account)[str(record["id"])] = record
        return record["id"]

    def replace(self, account: Account, record: dict[str, Any], body: dict[str, Any]) -> None:
        record.update(self.validate(account, body, own_id=record["id"]))  # status terminated: GET is then 404

    def delete(self, account: Account, record: dict[str, Any]) -> None:
        record["status"] = "terminated"  # DELETE terminates; GET then answers 404


# Peak times (notes 5.3): weekday rows 0 (Monday) to 6 (Sunday) with clock times, and special
# periods with timestamps. A row covers its stop second too, so two rows of one day that
# share a boundary overlap (the platform's upstream tests refuse 08:00-10:00 and 10:00-12:00).
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def peaktime_weekdays(raw: Any) -> list[dict[str, Any]]:
    rows = _peaktime_rows("peaktime_weekdays", raw)
    periods: dict[int, list[tuple[int, int, str]]] = {}
    checked = []
    for row in rows:
        weekday, problem = convert(Field("weekday", "int"), row.get("weekday"))
        if problem or not 0 <= weekday <= 6:
            raise ApiError(422, "Peaktime weekday must be between 0 (Monday) and 6 (Sunday).")
        start = _clock_seconds(row.get("start"), "00:00:00", "start")
        stop = _clock_seconds(row.get("stop"), "23:59:59", "stop")
        label = f"{weekday} - {WEEKDAY_NAMES[weekday]} {_clock(start)} - {_clock(stop)}"
        if stop < start:
            raise ApiError(422, f"Peaktime ({label}) end time must be later than its start time.")
        _refuse_overlap(periods.setdefault(weekday, []), start, stop + 1, f"Peaktime ({label})")
        checked.append({"weekday": weekday, "start": _clock(start), "stop": _clock(stop)})
    return checked


def peaktime_specials(raw: Any) -> list[dict[str, Any]]:
    periods: list[tuple[int, int, str]] = []
    checked = []
    for row in _peaktime_rows("peaktime_special", raw):
        start, stop = (_timestamp(row.get(edge), edge) for edge in ("start", "stop"))
        label = f"{start:%Y-%m-%d %H:%M:%S} - {stop:%Y-%m-%d %H:%M:%S}"
        if stop < start:
            raise ApiError(422, f"Special peaktime ({label}) end must be later than its start.")
        _refuse_overlap(periods, int(start.timestamp()), int(stop.timestamp()) + 1, f"Special peaktime ({label})")
        checked.append({"start": f"{start:%Y-%m-%d %H:%M:%S}", "stop": f"{stop:%Y-%m-%d %H:%M:%S}"})
    return checked


def _peaktime_rows(field: str, raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(row, dict) for row in raw):
        raise ApiError(422, f"Invalid '{field}', must be an array of objects.")
    return raw


def _refuse_overlap(periods: list[tuple[int, int, str]], start: int, end: int, label: str) -> None:
    clashes = [other for other_start, other_end, other in periods if start < other_end and other_start < end]
    if clashes:
        raise ApiError(422, f"{label} overlaps with peaktimes {', '.join(clashes)}.")
    periods.append((start, end, label.split("(", 1)[-1].rstrip(")")))


def _clock_seconds(value: Any, default: str, edge: str) -> int:
    text = default if value in (None, "") else str(value)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if not match or int(match[1]) > 23 or int(match[2]) > 59 or int(match[3] or 0) > 59:
        raise ApiError(422, f"Unknown weekday peaktime {edge} time '{text}'.")
    return int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3] or 0)


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _timestamp(value: Any, edge: str) -> datetime:
    if value in (None, ""):
        raise ApiError(422, f"Empty special peaktime {edge} timestamp.")
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(str(value), form).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ApiError(422, f"Invalid special peaktime {edge} timestamp '{value}'.")


# --------------------------------------------------------------------------- domains
# The platform takes "_" in domain names (every fixture-driven upstream test creates one).
HOSTNAME_LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"


def is_domain_name(value: str) -> bool:
    if value.startswith("[") and value.endswith("]"):
        return _is_ip(value[1:-1], version=6)
    return _is_ip(value, version=4) or re.fullmatch(rf"{HOSTNAME_LABEL}(\.{HOSTNAME_LABEL})*", value) is not None


def _is_ip(value: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(value).version == version
    except ValueError:
        return False


class Domains(Resource):
    collection, item = "domains", "domain"
    item_methods = ("GET", "HEAD", "OPTIONS", "DELETE")
    filters = {"domain": wildcard("domain"), "reseller_id": lambda a, r, v: str(a.data["reseller_id"]) == v}

    def render(self, account: Account, record: dict[str, Any]) -> dict[str, Any]:
        return {"id": record["id"], "domain": record["domain"]}  # reseller_id is shown to admins only

    def by_name(self, account: Account, name: str) -> dict[str, Any] | None:
        wanted = name.casefold()
        return next((d for d in self.records(account).values() if d["domain"].casefold() == wanted), None)

    def create(self, account: Account, body: dict[str, Any]) -> int:
        errors = ValidationErrors()
        values = validate_form((Field("domain", required=True),), body, errors)
        if values["domain"] is not None and not is_domain_name(values["domain"]):
            errors.add("domain", values["domain"], "Invalid domain name")
        errors.raise_if_any()
        if self.by_name(account, values["domain"]) is not None:
            raise ApiError(422, f"Domain '{values['domain']}' already exists.")
        record = {"id": self.emulator.next_id("domain"), "domain": values["domain"]}
        self.records(account)[str(record["id"])] = record
        return record["id"]

    def delete(self, account: Account, record: dict[str, Any]) -> None:
        subscribers = self.emulator.resources["subscribers"]
        for subscriber in list(subscribers.records(account).values()):
            if subscriber["domain_id"] == record["id"]:
                subscribers.terminate(account, subscriber)
        del self.records(account)[str(record["id"])]


# ------------------------------------------------------------------------ subscribers
SUBSCRIBER_FIELDS = (
    Field("customer_id", "int", required=True),
    Field("username", "identifier", required=True),
    Field("password", required=True, secret=True),
    Field("webusername", "identifier"),
    Field("webpassword", secret=True),
    Field("status", "enum", choices=("active", "locked", "terminated"), default="active"),
    Field("lock", "int", minimum=0, maximum=5),
    Field("administrative", "bool", default=False),
    Field("external_id"),
    Field("email", "email"),
    Field("timezone"),
    Field("display_name"),
)
NUMBER_PARTS = (("cc", 4), ("ac", 7), ("sn", 31))


def number_key(number: dict[str, Any]) -> str:
    return f"{number['cc']}-{number['ac']}-{number['sn']}"


def number_digits(number: dict[str, Any]) -> str:
    return f"{number['cc']}{number['ac']}{number['sn']}"


def parse_number(field: str, raw: Any, errors: ValidationErrors) -> dict[str, str] | None:
    """A ``{cc, ac, sn}`` object as strings (numbers in input are accepted), or None."""
    parts = {}
    for part, max_digits in NUMBER_PARTS:
        value = raw.get(part)
        text = "" if value is None else str(value)
        if text and (not text.isdigit() or len(text) > max_digits or (part == "cc" and int(text) == 0)):
            errors.add(f"{field}.{part}", value, "Invalid number")
            return None
        parts[part] = text
    if parts["cc"] and not parts["sn"]:
        errors.add(field, raw, "Subscriber Number required if Country Code is set")
        return None
    if parts["sn"] and not parts["cc"]:
        errors.add(field, raw, "Country Code required if Subscriber Number is set")
        return None
    return parts if parts["sn"] else None


class Subscribers(Resource):
    collection, item = "subscribers", "subscriber"
    item_methods = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")
    patch_ops = ("add", "replace", "remove", "copy")
    filters = {
        "username": wildcard("username"),
        "webusername": lambda a, r, v: (r.get("webusername") or "").casefold() == v.casefold(),
        "domain": lambda a, r, v: pattern_matcher(v, True)(a.data["domains"][str(r["domain_id"])]["domain"]),
        "customer_id": equals_int("customer_id"),
        "subscriber_external_id": wildcard("external_id", question_mark=True),
        "customer_external_id": lambda a, r, v: pattern_matcher(v, True)(
            a.data["customers"][str(r["customer_id"])]["external_id"]
        ),
        "contact_id": lambda a, r, v: str(a.data["customers"][str(r["customer_id"])]["contact_id"]) == v,
        "reseller_id": lambda a, r, v: str(a.data["reseller_id"]) == v,
        "display_name": wildcard("display_name", question_mark=True),
        "primary_number": lambda a, r, v: r["primary_number"] is not None
        and pattern_matcher(v, True)(number_digits(r["primary_number"])),
        "alias": lambda a, r, v: any(pattern_matcher(v, True)(number_digits(n)) for n in r["alias_numbers"]),
    }

    def render(self, account: Account, record: dict[str, Any]) -> dict[str, Any]:
        doc = {key: value for key, value in record.items() if key != "webpassword"}
        doc["domain"] = account.data["domains"][str(record["domain_id"])]["domain"]
        doc["primary_number"] = dict(record["primary_number"]) if record["primary_number"] else None
        doc["alias_numbers"] = [dict(number) for number in record["alias_numbers"]]
        return doc

    def relations(self, account: Account, record: dict[str, Any]) -> dict[str, str]:
        root, sid = self.emulator.root, record["id"]
        return {
            "subscriberpreferences": f"{root}/subscriberpreferences/{sid}",
            "voicemailsettings": f"{root}/voicemailsettings/{sid}",
            "reminders": f"{root}/reminders/?subscriber_id={sid}",
            "callforwards": f"{root}/callforwards/{sid}",
            "domains": f"{root}/domains/{record['domain_id']}",
            "customers": f"{root}/customers/{record['customer_id']}",
            "calls": f"{root}/calls/?subscriber_id={sid}",
            "subscriberregistrations": f"{root}/subscriberregistrations/?subscriber_id={sid}",
            "journal": f"{root}/subscribers/{sid}/journal/",
        }

    # -- validation
    def validate(self, account: Account, body: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        errors = ValidationErrors()
        values = validate_form(SUBSCRIBER_FIELDS, body, errors)
        primary, aliases = self.parse_numbers(body, errors)
        errors.raise_if_any()
        values["webusername"] = values["webusername"] or values["username"]
        values["lock"] = 4 if values["status"] == "locked" else values["lock"]
        customer = account.data["customers"].get(str(values["customer_id"]))
        domain = self.domain_of(account, body)
        if current is not None:
            if values["customer_id"] != current["customer_id"]:
                raise ApiError(422, "customer_id can't be changed.")
            if values["username"] != current["username"] or domain is None or domain["id"] != current["domain_id"]:
                raise ApiError(422, "Subscriber with this username does not exist in the domain.")
        if customer is None or (current is None and customer["status"] == "terminated"):
            raise invalid("customer_id", ", doesn't exist.")
        if primary is None and customer["type"] == "sipaccount" and account.config.get("require_primary_number"):
            raise ApiError(422, "A primary_number is required for the SIP subscriber.")  # master, notes 5.5
        if domain is None:
            raise invalid("domain", ", doesn't exist.")
        values["domain_id"] = domain["id"]
        self.check_unique(account, values, current)
        values["primary_number"], values["alias_numbers"] = self.claim_numbers(account, primary, aliases, current)
        return values

    def parse_numbers(self, body: dict[str, Any], errors: ValidationErrors) -> tuple[dict | None, list[dict]]:
        raw_primary = body.get("primary_number")
        if raw_primary is not None and not isinstance(raw_primary, dict):
            raise ApiError(422, "Invalid primary_number parameter, must be a hash.")
        raw_aliases = body.get("alias_numbers") or []
        if not isinstance(raw_aliases, list) or not all(isinstance(a, dict) for a in raw_aliases):
            raise ApiError(422, "Invalid alias_number parameter, must be an array of the hashes.")
        primary = parse_number("primary_number", raw_primary, errors) if raw_primary else None
        aliases = []
        for index, raw in enumerate(raw_aliases):
            number = parse_number(f"alias_numbers.{index}", raw, errors)
            if number is not None:
                is_devid, problem = convert(Field("is_devid", "bool"), raw.get("is_devid", False))
                number["is_devid"] = bool(is_devid) if not problem else False
                aliases.append(number)
        return primary, aliases

    def domain_of(self, account: Account, body: dict[str, Any]) -> dict[str, Any] | None:
        domains = self.emulator.resources["domains"]
        if body.get("domain_id") is not None:
            domain_id, problem = convert(Field("domain_id", "int"), body["domain_id"])
            return None if problem else domains.get(account, domain_id)
        if isinstance(body.get("domain"), str):
            return domains.by_name(account, body["domain"])
        raise invalid("domain", ", doesn't exist.")

    def check_unique(self, account: Account, values: dict[str, Any], current: dict[str, Any] | None) -> None:
        for other in self.records(account).values():
            if other is current or other["domain_id"] != values["domain_id"]:
                continue
            if other["username"] == values["username"]:
                raise ApiError(422, "Subscriber already exists.")
            if other["webusername"] == values["webusername"]:
                domain = account.data["domains"][str(values["domain_id"])]["domain"]
                key = f"{values['webusername']}-{domain}"
                raise ApiError(422, f"Webusername-Domain combination '{key}' already exists.")

    def claim_numbers(
        self, account: Account, primary: dict | None, aliases: list[dict], current: dict[str, Any] | None
    ) -> tuple[dict | None, list[dict]]:
        """Give each number its id; numbers held by another subscriber are a 422 (notes §5.5).

        The platform's number table is one for all resellers (unique key on cc, ac, sn), so a
        number another reseller's subscriber holds is refused the same way: the answer says
        only that it exists.
        """
        wanted = ([primary] if primary else []) + aliases
        held = {
            number_key(number)
            for reseller in self.emulator.store.by_carrier(self.emulator.name)
            for other in reseller.data.get("subscribers", {}).values()
            if other is not current
            for number in ([other["primary_number"]] if other["primary_number"] else []) + other["alias_numbers"]
        }
        keys = [number_key(number) for number in wanted]
        taken = [key for i, key in enumerate(keys) if key in held or key in keys[:i]]
        if len(taken) == 1:
            raise ApiError(422, f"Number '{taken[0]}' already exists.")
        if taken:
            raise ApiError(422, f"Numbers {', '.join(repr(k) for k in taken)} already exist.")
        for number, key in zip(wanted, keys):
            number["number_id"] = self.number_id(account, key)
        return primary, aliases

    def number_id(self, account: Account, key: str) -> int:
        """A number keeps its row, and so its id, once it has one, whichever reseller held it."""
        number_ids = account.data["number_ids"]
        if key not in number_ids:
            resellers = self.emulator.store.by_carrier(self.emulator.name)
            known = (r.data.get("number_ids", {}).get(key) for r in resellers)
            found = next((number_id for number_id in known if number_id is not None), None)
            number_ids[key] = found or self.emulator.next_id("number")
        return number_ids[key]

    # -- changes
    def create(self, account: Account, body: dict[str, Any]) -> int:
        values = self.validate(account, body, current=None)
        customer = account.data["customers"][str(values["customer_id"])]
        members = sum(1 for s in self.records(account).values() if s["customer_id"] == customer["id"])
        if customer["max_subscribers"] is not None and members >= customer["max_subscribers"]:
            raise ApiError(403, "Maximum number of customer subscribers reached.")
        now = timestamp()
        record = {
            "id": self.emulator.next_id("subscriber"),
            "uuid": str(uuid.uuid4()),
            **values,
            "profile_id": None,
            "profile_set_id": None,
            "create_timestamp": now,
            "modify_timestamp": now,
        }
        self.records(account)[str(record["id"])] = record
        if values["status"] == "terminated":
            self.terminate(account, record)
        return record["id"]

    def replace(self, account: Account, record: dict[str, Any], body: dict[str, Any]) -> None:
        values = self.validate(account, body, current=record)
        record.update(values, modify_timestamp=timestamp())
        if values["status"] == "terminated":
            self.terminate(account, record)

    def delete(self, account: Account, record: dict[str, Any]) -> None:
        self.terminate(account, record)

    def terminate(self, account: Account, record: dict[str, Any]) -> None:
        """Soft delete: hidden forever, username and numbers freed, forwards and prefs gone."""
        key = str(record["id"])
        self.records(account).pop(key, None)
        account.data["callforwards"].pop(key, None)
        account.data["subscriberpreferences"].pop(key, None)
        record.update(status="terminated", primary_number=None, alias_numbers=[], modify_timestamp=timestamp())
        account.data["terminated_subscribers"][key] = record


# ----------------------------------------------------------------------- callforwards
class CallForwards(Resource):
    """The "simple" call-forward view: one item per subscriber holding all seven types."""

    collection, item = "callforwards", "callforward"
    collection_methods = ("GET", "HEAD", "OPTIONS")
    item_methods = ("GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")

    def records(self, account: Account) -> dict[str, dict[str, Any]]:
        return account.data["subscribers"]

    def render(self, account: Account, subscriber: dict[str, Any]) -> dict[str, Any]:
        stored = account.data["callforwards"].get(str(subscriber["id"]), {})
        doc: dict[str, Any] = {}
        for cf_type in FORWARD_TYPES:
            forward = stored.get(cf_type)
            if not forward:
                doc[cf_type] = {}
                continue
            doc[cf_type] = {
                **forward,
                "destinations": [dict(d) for d in forward["destinations"]],
                "times": [dict(t) for t in forward["times"]],
                **dict.fromkeys(("destination_set", "time_set", "source_set", "bnumber_set")),
            }
            if cf_type == "cft":
                preferences = account.data["subscriberpreferences"].get(str(subscriber["id"]), {})
                doc[cf_type]["ringtimeout"] = preferences.get("ringtimeout")
        return doc

    def hal(self, account: Account, record: dict[str, Any]) -> dict[str, Any]:
        doc = super().hal(account, record)
        doc["_links"]["ngcp:subscribers"] = [{"href": f"{self.emulator.root}/subscribers/{record['id']}"}]
        doc["_links"]["ngcp:callforwards"] = [{"href": self.href(record["id"])}]  # its own relation
        return doc

    def replace(self, account: Account, subscriber: dict[str, Any], body: dict[str, Any]) -> None:
        domain = account.data["domains"][str(subscriber["domain_id"])]["domain"]
        errors = ValidationErrors()
        forwards: dict[str, Any] = {}
        ringtimeout = None
        for cf_type in FORWARD_TYPES:
            raw = body.get(cf_type)
            if raw is None or raw == {}:
                continue
            if not isinstance(raw, dict):
                errors.add(cf_type, raw, "Must be an object")
                continue
            forward = self.parse_forward(cf_type, raw, domain, errors)
            if forward is not None:
                forwards[cf_type] = forward
                if cf_type == "cft":
                    ringtimeout = self.parse_ringtimeout(raw, errors)
        errors.raise_if_any()
        key = str(subscriber["id"])
        account.data["callforwards"][key] = forwards
        preferences = account.data["subscriberpreferences"].setdefault(key, {})
        # The ring timeout lives in the subscriber preference, kept only while a cft exists.
        if "cft" not in forwards:
            preferences.pop("ringtimeout", None)
        elif ringtimeout:
            preferences["ringtimeout"] = ringtimeout

    def parse_ringtimeout(self, raw: dict[str, Any], errors: ValidationErrors) -> int | None:
        if raw.get("ringtimeout") is None:
            return None
        value, problem = convert(Field("ringtimeout", "int"), raw["ringtimeout"])
        if problem:
            errors.add("cft.ringtimeout", raw["ringtimeout"], problem)
            return None
        return value if value > 0 else None

    def parse_forward(self, cf_type: str, raw: dict[str, Any], domain: str, errors: ValidationErrors) -> dict | None:
        destinations = [
            self.parse_destination(f"{cf_type}.destinations.{i}", d, domain, errors)
            for i, d in enumerate(self.as_list(f"{cf_type}.destinations", raw.get("destinations"), errors))
        ]
        times = [
            self.parse_time(f"{cf_type}.times.{i}", t, errors)
            for i, t in enumerate(self.as_list(f"{cf_type}.times", raw.get("times"), errors))
        ]
        if not destinations:
            return None
        forward: dict[str, Any] = {"destinations": destinations, "times": times}
        for kind, item_key in (("sources", "source"), ("bnumbers", "bnumber")):
            entries = self.as_list(f"{cf_type}.{kind}", raw.get(kind), errors)
            forward[kind] = [{item_key: str(e.get(item_key, ""))} for e in entries if isinstance(e, dict)]
            mode = raw.get(f"{kind}_mode")
            if mode not in (None, "whitelist", "blacklist"):
                errors.add(f"{cf_type}.{kind}_mode", mode, f"'{display_input(mode)}' is not a valid value")
            forward[f"{kind}_mode"] = mode
            is_regex, problem = convert(Field("is_regex", "bool"), raw.get(f"{kind}_is_regex") or False)
            forward[f"{kind}_is_regex"] = bool(is_regex) if not problem else False
        return forward

    @staticmethod
    def as_list(field: str, raw: Any, errors: ValidationErrors) -> list:
        if raw is None:
            return []
        if not isinstance(raw, list):
            errors.add(field, raw, "Must be an array")
            return []
        return raw

    def parse_destination(self, field: str, raw: Any, domain: str, errors: ValidationErrors) -> dict[str, Any]:
        if not isinstance(raw, dict):
            errors.add(field, raw, "Must be an object")
            return {}
        target = raw.get("destination")
        if not isinstance(target, str) or not target.strip():
            errors.add(f"{field}.destination", target, "'destination' field is required")
            return {}
        values = {}
        for name, default in (("priority", 1), ("timeout", 300)):
            value, problem = (default, None) if raw.get(name) is None else convert(Field(name, "int"), raw[name])
            if problem:
                errors.add(f"{field}.{name}", raw[name], problem)
            values[name] = value
        announcement = raw.get("announcement_id")
        if announcement is not None and target != "customhours":
            raise ApiError(422, f"Invalid parameter 'announcement_id' for the destination '{target}'")
        if announcement is not None:  # no announcements exist in the sandbox
            raise invalid("announcement_id", f" ({display_input(announcement)}).")
        destination, simple = destination_forms(target.strip(), domain)
        return {"destination": destination, "simple_destination": simple, **values, "announcement_id": None}

    def parse_time(self, field: str, raw: Any, errors: ValidationErrors) -> dict[str, Any]:
        if not isinstance(raw, dict):
            errors.add(field, raw, "Must be an object")
            return {}
        entry = {}
        for name, (low, high) in TIME_RANGES.items():
            value = raw.get(name)
            text = None if value is None or value == "" else str(value)
            problem = text and time_range_problem(text, low, high)
            if problem:
                errors.add(f"{field}.{name}", value, problem)
            entry[name] = text
        return entry

    def delete(self, account: Account, subscriber: dict[str, Any]) -> None:
        self.replace(account, subscriber, {})


def destination_forms(target: str, domain: str) -> tuple[str, str | None]:
    """(destination, simple_destination) as the platform shows a call-forward target."""
    if target in SPECIAL_DESTINATIONS:
        return target, None
    uri = target if target.startswith("sip:") else f"sip:{target if '@' in target else f'{target}@{domain}'}"
    user, _, host = uri[4:].partition("@")
    return uri, user if host.casefold() == domain.casefold() else uri[4:]


def times_match(times: list[dict[str, Any]], at: datetime) -> bool:
    """Notes 5.6: a forward with no times applies always; otherwise when any entry matches,
    an entry matching when each of its fields does (null: any; "a-b" a range, cyclic when
    a > b, e.g. ``wday`` "6-2" or ``hour`` "18-8"). ``wday`` 1 is Sunday."""
    if not times:
        return True
    actual = {"year": at.year, "month": at.month, "mday": at.day, "wday": at.isoweekday() % 7 + 1,
              "hour": at.hour, "minute": at.minute}
    return any(all(in_time_range(entry.get(name), actual[name]) for name in TIME_RANGES) for entry in times)


def in_time_range(value: Any, actual: int) -> bool:
    if value is None or value == "":
        return True
    first, _, last = str(value).partition("-")
    low, high = int(first), int(last or first)
    return low <= actual <= high if low <= high else actual >= low or actual <= high


def time_range_problem(text: str, low: int, high: int) -> str | None:
    first, separator, second = text.partition("-")
    if not first.isdigit() or (separator and not second.isdigit()):
        return "Invalid format"
    if int(first) < low:
        return "First value too small"
    if int(first) > high:
        return "First value too big"
    if separator and int(second) < low:
        return "Second value too small"
    if separator and int(second) > high:
        return "Second value too big"
    return None


# --------------------------------------------------------------- subscriberpreferences
class SubscriberPreferences(Resource):
    collection, item = "subscriberpreferences", "subscriberpreference"
    collection_methods = ("GET", "HEAD", "OPTIONS")
    patch_ops = ("add", "replace", "remove", "copy")
    filters = {"reseller_id": lambda a, r, v: str(a.data["reseller_id"]) == v}

    def records(self, account: Account) -> dict[str, dict[str, Any]]:
        return account.data["subscribers"]

    def render(self, account: Account, subscriber: dict[str, Any]) -> dict[str, Any]:
        doc = dict(account.data["subscriberpreferences"].get(str(subscriber["id"]), {}))
        if subscriber.get("external_id"):
            doc["ext_subscriber_id"] = subscriber["external_id"]
        doc.update(id=subscriber["id"], subscriber_id=subscriber["id"])
        return doc

    def hal(self, account: Account, record: dict[str, Any]) -> dict[str, Any]:
        doc = super().hal(account, record)
        doc["_links"]["ngcp:subscribers"] = [{"href": f"{self.emulator.root}/subscribers/{record['id']}"}]
        return doc

    def replace(self, account: Account, subscriber: dict[str, Any], body: dict[str, Any]) -> None:
        preferences = {}
        for name, value in body.items():
            kind = PREFERENCES.get(name)
            if kind is None or value is None:
                continue  # unknown names are ignored; null unsets
            preferences[name] = preference_value(name, kind, value)
        account.data["subscriberpreferences"][str(subscriber["id"])] = preferences


def preference_value(name: str, kind: str, value: Any) -> Any:
    if kind == "list":
        if not isinstance(value, list):
            raise ApiError(422, f"Invalid data type '{perl_type(value)}' for preference '{name}', expected ARRAY")
        values = [checked_scalar(name, "text", item) for item in value]
        if name == "allowed_ips":
            for address in values:
                try:
                    ipaddress.ip_network(address, strict=False)
                except ValueError:
                    raise ApiError(422, f"Invalid IP address '{address}' for preference '{name}'") from None
        return values
    if isinstance(value, (list, dict)):
        raise ApiError(422, f"Invalid data type '{perl_type(value)}' for preference '{name}', expected flat value")
    if name in ("ncos", "adm_ncos"):
        raise ApiError(422, f"Unknown ncos_level '{value}'")
    return checked_scalar(name, kind, value)


def checked_scalar(name: str, kind: str, value: Any) -> Any:
    if isinstance(value, (list, dict)):
        raise ApiError(422, f"Invalid data type '{perl_type(value)}' for preference '{name}', expected flat value")
    converted, problem = convert(Field(name, kind), value)
    if problem:
        raise ApiError(422, f"Invalid value '{display_input(value)}' for preference '{name}': {problem}")
    if len(str(converted)) > PREFERENCE_MAX_LENGTH:
        raise ApiError(422, f"Value for preference '{name}' is longer than {PREFERENCE_MAX_LENGTH} characters")
    return converted


def perl_type(value: Any) -> str:
    return "ARRAY" if isinstance(value, list) else "HASH" if isinstance(value, dict) else "SCALAR"


# ------------------------------------------------------------------------ the emulator
class SipwiseEmulator(CarrierEmulator):
    name = "sipwise"
    prefix = "/sipwise/api"
    # True: behave as unreleased master, which requires a primary_number for every
    # subscriber of a sipaccount customer (notes 5.5); released versions do not.
    config_knobs = {"require_primary_number": boolean_knob}

    def __init__(self, store) -> None:
        super().__init__(store)
        self.root = self.prefix
        self.resources: dict[str, Resource] = {
            resource.collection: resource
            for resource in (
                CustomerContacts(self), Customers(self), BillingProfiles(self), Domains(self),
                Subscribers(self), CallForwards(self), SubscriberPreferences(self),
            )
        }  # fmt: skip
        self._by_username: dict[str, Account] = {}
        self._last_ids: dict[str, int] = dict.fromkeys(ID_KINDS, 0)
        self._absorbed_accounts: set[str] = set()
        self._store_size_seen = -1

    # -- ids shared by all accounts, so a foreign id is simply not found
    def next_id(self, kind: str) -> int:
        self._absorb_unknown_accounts()
        self._last_ids[kind] += 1
        return self._last_ids[kind]

    def _absorb_unknown_accounts(self) -> None:
        # Accounts loaded from a state file hold ids this process never handed out.
        if len(self.store.accounts) == self._store_size_seen:
            return
        for account in self.store.by_carrier(self.name):
            if account.id not in self._absorbed_accounts:
                self._absorb(account)
        self._store_size_seen = len(self.store.accounts)

    def _absorb(self, account: Account) -> None:
        data = account.data
        highest = {
            "reseller": [data.get("reseller_id", 0)],
            "customercontact": data.get("customercontacts", {}),
            "customer": data.get("customers", {}),
            "billingprofile": data.get("billingprofiles", {}),
            "domain": data.get("domains", {}),
            "subscriber": [*data.get("subscribers", {}), *data.get("terminated_subscribers", {})],
            "number": data.get("number_ids", {}).values(),
        }
        for kind, ids in highest.items():
            self._last_ids[kind] = max([self._last_ids[kind], *map(int, ids)])
        self._absorbed_accounts.add(account.id)

    # -- accounts
    def new_account(self, account: Account) -> None:
        self._absorbed_accounts.add(account.id)
        reseller_id = self.next_id("reseller")
        token = secrets.token_hex(4)
        account.data = {name: {} for name in COLLECTIONS}
        account.data["reseller_id"] = reseller_id
        profile_id = self.next_id("billingprofile")
        account.data["billingprofiles"][str(profile_id)] = {
            "id": profile_id,
            "reseller_id": reseller_id,
            "name": f"Default profile {token}",
            "handle": f"default_{token}",
            "prepaid": False,
            "currency": "EUR",
            "interval_charge": 0.0,
            "interval_free_time": 0,
            "interval_free_cash": 0.0,
            "interval_unit": "month",
            "interval_count": 1,
            "status": "active",
        }
        domain_id = self.next_id("domain")
        domain = f"r{reseller_id}-{token}.sipwise.sandbox.test"
        account.data["domains"][str(domain_id)] = {"id": domain_id, "domain": domain}
        account.settings = {
            "reseller_id": reseller_id,
            "username": f"reseller_{reseller_id}_{token}",
            "password": new_secret(),
            "billing_profile_id": profile_id,
            "domain": domain,
        }

    def identify(self, request: Request) -> Account | None:
        credentials = basic_credentials(request)
        return self._account_for(credentials[0]) if credentials else None

    def _account_for(self, username: str) -> Account | None:
        account = self._by_username.get(username)
        if account is not None and self.store.accounts.get(account.id) is account:
            return account
        for candidate in self.store.by_carrier(self.name):
            self._by_username[candidate.settings["username"]] = candidate
        account = self._by_username.get(username)
        return account if account is not None and self.store.accounts.get(account.id) is account else None

    def authenticate(self, request: Request) -> Account | None:
        credentials = basic_credentials(request)
        if credentials is None:
            return None
        account = self._account_for(credentials[0])
        if account is None or not secrets.compare_digest(
            credentials[1].encode(), account.settings["password"].encode()
        ):
            return None
        return account

    def public_state(self, account: Account) -> dict[str, Any]:
        return account.data

    def routing_at(self, account: Account, owner: str, at: datetime) -> dict[str, Any]:
        """Which of the subscriber's call forwards apply at ``at`` (the platform's local time)."""
        if owner not in account.data["subscribers"]:
            raise LookupError(f"no subscriber {owner}")
        stored = account.data["callforwards"].get(owner, {})
        return {
            "subscriber": int(owner),
            "at": at.isoformat(timespec="minutes"),
            "forwards": {
                cf_type: {"applies": times_match(forward["times"], at),
                          "destinations": [d["simple_destination"] or d["destination"] for d in forward["destinations"]]}
                for cf_type, forward in stored.items()
            },
        }

    # -- injected faults, worded like the platform
    def rate_limited_response(self, request: Request, retry_after: int) -> Response:
        return error_response(429, reason(429), headers={"Retry-After": str(retry_after)})

    def error_response(self, request: Request, status: int) -> Response:
        return error_response(status, reason(status))

    # -- routing
    def routes(self) -> list[BaseRoute]:
        return [Route("/{path:path}", self.handle, methods=ALL_METHODS)]

    async def handle(self, request: Request) -> Response:
        account = self.authenticate(request)
        if account is None:
            return Response(
                "Authorization required.",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": f'Basic realm="{REALM}"'},
            )
        try:
            return await self.dispatch(request, account)
        except ApiError as error:
            return error_response(error.status, error.message, error.headers)

    async def dispatch(self, request: Request, account: Account) -> Response:
        method = self.method_of(request)
        path = request.path_params["path"]
        if path == "":
            return self.root_answer(method)
        if "link" in request.headers:
            raise ApiError(
                400, "The request must not contain 'Link' headers. Instead assert relationships in the entity body."
            )
        segments = path.split("/")
        resource = self.resources.get(segments[0])
        if resource is None or len(segments) > 2:
            raise ApiError(404, "Path not found")
        if len(segments) == 1:  # collection without its trailing slash
            return RedirectResponse(f"{request.url.path}/?{request.url.query}".rstrip("?"), status_code=301)
        if segments[1] == "":
            return await self.collection(request, account, resource, method)
        if not segments[1].isdigit():
            raise ApiError(400, "Invalid id in request URI")
        return await self.item(request, account, resource, method, int(segments[1]))

    @staticmethod
    def method_of(request: Request) -> str:
        for header in METHOD_OVERRIDE_HEADERS:
            override = request.headers.get(header)
            if override:
                return override.upper()
        return request.method

    def root_answer(self, method: str) -> Response:
        """``/api/``: the API's documentation page, and OPTIONS like every collection, whose
        ``Link`` headers name each collection (what the upstream root tests read)."""
        if method == "OPTIONS":
            response = self.options(ROOT_METHODS, {})
            for collection in self.resources:
                rel = f"collection {HAL_PROFILE}#rel-{collection}"
                response.headers.append("Link", f'<{self.root}/{collection}/>; rel="{rel}"')
            return response
        if method not in ("GET", "HEAD"):
            raise ApiError(404, "Path not found")
        page = HTMLResponse("<html><body><h1>Sipwise NGCP REST API (sandbox)</h1></body></html>")
        return self.without_body(page) if method == "HEAD" else page

    # -- collections
    async def collection(self, request: Request, account: Account, resource: Resource, method: str) -> Response:
        if method not in resource.collection_methods:
            raise ApiError(404, "Path not found")
        if method == "OPTIONS":
            return self.options(resource.collection_methods, {"Accept-Post": self.accept_post(resource)})
        if method == "POST":
            body = await self.json_body(request, "application/json")
            item_id = resource.create(account, body)
            self.store.save(account)
            return Response(status_code=201, headers={"Location": resource.href(item_id)})
        response = self.listing(request, account, resource)
        return self.without_body(response) if method == "HEAD" else response

    def listing(self, request: Request, account: Account, resource: Resource) -> Response:
        params = dict(request.query_params)
        paging = parse_paging(params)
        records = [r for r in resource.records(account).values() if resource.visible(r)]
        if resource.filters:
            records = [r for r in records if resource.matches(account, r, params)]
        records = sort_records(records, params)
        start = (paging.page - 1) * paging.rows
        page = records[start : start + paging.rows]
        path = f"{resource.href()}"
        links: dict[str, Any] = {
            "curies": CURIES,
            "profile": {"href": HAL_PROFILE},
            "self": {"href": page_href(path, paging.page, paging.rows, params)},
        }
        if len(records) > start + paging.rows:
            links["next"] = {"href": page_href(path, paging.page + 1, paging.rows, params)}
        if paging.page > 1:
            links["prev"] = {"href": page_href(path, paging.page - 1, paging.rows, params)}
        doc: dict[str, Any] = {"_links": links, "total_count": len(records) if paging.count else None}
        if page:
            rel = f"ngcp:{resource.collection}"
            doc["_embedded"] = {rel: [resource.hal(account, record) for record in page]}
            links[rel] = [{"href": resource.href(record["id"])} for record in page]
        return hal_response(request.headers.get("accept", ""), doc)

    # -- items
    async def item(self, request: Request, account: Account, resource: Resource, method: str, item_id: int) -> Response:
        if method not in resource.item_methods:
            raise ApiError(404, "Path not found")
        if method == "OPTIONS":
            extra = {"Accept-Patch": "application/json-patch+json"} if "PATCH" in resource.item_methods else {}
            return self.options(resource.item_methods, extra)
        record = resource.require(account, item_id)
        accept = request.headers.get("accept", "")
        if method in ("GET", "HEAD"):
            response = hal_response(accept, resource.hal(account, record))
            return self.without_body(response) if method == "HEAD" else response
        if method == "DELETE":
            resource.delete(account, record)
            self.store.save(account)
            return Response(status_code=204)
        if method == "PUT":
            body = await self.json_body(request, "application/json")
        else:
            operations = check_patch(await self.json_body(request, "application/json-patch+json"), resource.patch_ops)
            current = resource.hal(account, record)
            current.pop("_links", None)
            body = apply_patch(current, operations)
        resource.replace(account, record, body)
        self.store.save(account)
        return self.updated(accept, request.headers.get("prefer", ""), resource, account, item_id)

    def updated(self, accept: str, prefer: str, resource: Resource, account: Account, item_id: int) -> Response:
        """204 by default; 200 with the item for ``Prefer: return=representation`` (notes §4).

        An item the change terminated is still shown (a billing profile PATCHed to
        ``terminated`` answers 200 with it, then 404); a terminated subscriber is gone.
        """
        record = resource.records(account).get(str(item_id))
        if "return=representation" in prefer and record is not None:
            return hal_response(accept, resource.hal(account, record), headers=self.applied("representation"))
        return Response(status_code=204, headers=self.applied("minimal"))

    @staticmethod
    def applied(preference: str) -> dict[str, str]:
        return {"Preference-Applied": f"return={preference}"}

    # -- helpers
    @staticmethod
    async def json_body(request: Request, media_type: str) -> Any:
        given = request.headers.get("content-type", "").split(";")[0].strip()
        if given.lower() != media_type:
            raise ApiError(415, f"Unsupported media type '{given}', accepting {media_type} only.")
        raw = await request.body()
        if not raw.strip():
            raise ApiError(400, "This request is missing a message body.")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, f"The entity is not a well-formed 'application/json' document. {exc}") from None
        if media_type == "application/json" and not isinstance(body, dict):
            errors = ValidationErrors()
            errors.add("body", body, "must be a JSON object")
            errors.raise_if_any()
        return body

    @staticmethod
    def options(methods: tuple[str, ...], headers: dict[str, str]) -> Response:
        return hal_response(
            "application/json", {"methods": list(methods)}, headers={"Allow": ", ".join(methods), **headers}
        )

    @staticmethod
    def accept_post(resource: Resource) -> str:
        return f"application/hal+json; profile={HAL_PROFILE}#rel-{resource.collection}"

    @staticmethod
    def without_body(response: Response) -> Response:
        return Response(status_code=response.status_code, headers={"Content-Type": response.media_type or ""})
