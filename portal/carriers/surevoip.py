"""SureVoIP adapter: the partner API of SureVoIP's REST hypermedia API (v3.50).

The account is a SureVoIP *partner*: its login (``settings.username`` /
``credentials.password``, HTTP Basic, sent up front) provisions the partner's customers,
gives them numbers and reads their SIP accounts. Customer resources are reached under
``partners/{partner_id}/customers/…`` (the partner form of ``customers/{account}/…``).

Mapping (portal → SureVoIP; ``docs/carriers/surevoip.md`` has the full table):

===========================  =====================================================
customer (remote id)         partner customer ``{account}`` (an integer, as text)
  name                       ``company_name``
  contact_name               ``firstname`` + " " + ``lastname`` (split at the first space)
  email / phone              ``email`` / ``phone`` (international digits, no ``+``)
  address line1, line2       ``address`` (lines joined with a newline)
  address city / postcode    ``city`` / ``postcode``
  address country (ISO-2)    ``country`` (ISO-3, e.g. ``GBR``)
number (``{account}:{num}``) the customer's number ``…/customers/{account}/numbers/{num}``
  e164                       ``number`` (``441224900999``)
  destination                ``destination`` + ``voip_call``: E.164 → digits, ``"0"``;
                             SIP URI → as is, ``"1"``
  activated                  ``activated`` (``"1"``/``"0"``)
unconditional forward        the same ``destination``; ``enabled`` ↔ ``activated``
subscriber (read only)       the customer's SIP account ``…/sip`` (``{account}:{sip_username}``)
number search / allocate     ``GET numbers`` / the partner's ``POST …/numbers``
===========================  =====================================================

Assumptions where the documents are silent:

* SureVoIP requires ``firstname``, ``lastname``, ``state``, ``city``, ``postcode``, ``address``
  and ``company_website`` (the vendor's PHP library requires them); the portal has no
  state or website and may lack a contact name, so "-" is sent there and read back as
  empty. ``email`` and ``phone`` are required: a customer without them is refused here.
  A missing country is sent as ``GBR`` (SureVoIP is a UK carrier).
* The new customer's id is the last path segment of the ``Location`` of ``POST customers``
  (both ``…/customers/{id}`` and ``…/partners/{p}/customer/{id}`` forms work); a customer
  list entry's id is the last segment of its ``url.href``, else its ``account``. Its
  ``username`` is the customer's control-panel login, never taken for the id.
* There is no documented DELETE for customers or numbers, nor any customer reference
  field: delete and release are unsupported, and ``find_customer`` matches company name
  and email. Customer status, ``external_ref`` and ``portal_id`` are not held.
* A number is always addressed through its customer, so its remote id is
  ``{customer}:{number}``. A destination that is empty reads back as ``None``; legacy
  ``SIP/user@host`` and bare ``user@host`` read back as ``sip:user@host``; national
  ``0…`` numbers as UK (+44).
* The number's single destination *is* its unconditional forward (one destination, no
  ring timeout, no time windows): clearing the forwards clears the destination, and the
  forward's on/off is the number's ``activated``. Ring timeouts are not held (read back
  as the default).
* ``search_numbers`` (S2 number search, national numbers): a complete E.164 number
  (``phonenumbers`` says valid) is looked up with ``number_range=N-N``; any other ``+``
  pattern is a prefix: ``areacode`` takes area codes only, so the prefix's area code is
  sent (when the prefix holds one) with the rest of the prefix as ``number_filter``, and
  the answers that do not start with the prefix are dropped client-side, reading up to
  ``MAX_SEARCH_PAGES`` pages to fill ``limit``. Non-UK prefixes find nothing (SureVoIP
  sells UK numbers). A pattern without ``+`` goes to ``number_filter`` (digits or keypad
  letters within the local number). There are no consecutive blocks. Numbers picked from
  an earlier search are checked again before allocation with ``number_range`` as a comma
  list of the complete national numbers, 50 to a request (S2's limit for a range).
* Allocation reserves with ``activated: "1"`` and a ``destination``, as every documented
  allocation body has one: the ``destination`` argument when given (E.164 → digits with
  ``voip_call: "0"``, SIP URI → as is), else ``""``, held but not routed until
  ``update_number`` routes it. A number already on the customer is adopted; one held by
  another of the partner's customers raises DuplicateError naming it; anything else
  SureVoIP refuses is a PermanentError.
* Rate limit: ``X-SureVoIP-API-RateLimit-Remaining`` / ``-TimeToResetSecs`` are recorded
  after every authenticated answer in ``rate_budget`` (and passed to ``on_rate_budget``);
  with nothing left the adapter refuses locally until the reset instead of spending a
  request on a 429. A 429 waits ``Retry-After``, else ``TimeToResetSecs``.
* Requests carry ``Content-Type: application/json`` (S2 negotiates on it first, even on
  GET) and ``hypermedia=no``, so paging follows ``next_page`` rather than ``page_links``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import phonenumbers

from .base import (
    AccountConfig,
    AuthenticationError,
    AvailableNumber,
    Capabilities,
    CarrierAdapter,
    CarrierClient,
    CarrierError,
    CustomerSpec,
    Destination,
    DuplicateError,
    ForwardSpec,
    NotFoundError,
    NumberSpec,
    PermanentError,
    RateLimitedError,
    SubscriberSpec,
    TransientError,
    UnsupportedError,
    check_forwards,
)

log = logging.getLogger(__name__)

PLACEHOLDER = "-"
DEFAULT_COUNTRY = "GBR"
DEFAULT_PAGE_SIZE = 50
UK_COUNTRY_CODE = "44"
# A prefix search reads at most this many pages of offers (page_size each) to fill its limit.
MAX_SEARCH_PAGES = 20
# S2: "We only allow 50 in a range to be checked" (number_range).
MAX_NUMBER_RANGE = 50
# A 429 without either header: wait as long as a whole SureVoIP window, the safe choice.
FALLBACK_RETRY_AFTER = 3600.0
ISO2_TO_ISO3 = {
    "GB": "GBR", "IE": "IRL", "IM": "IMN", "JE": "JEY", "GG": "GGY", "US": "USA", "CA": "CAN",
    "FR": "FRA", "DE": "DEU", "ES": "ESP", "PT": "PRT", "IT": "ITA", "NL": "NLD", "BE": "BEL",
    "LU": "LUX", "CH": "CHE", "AT": "AUT", "DK": "DNK", "SE": "SWE", "NO": "NOR", "FI": "FIN",
    "PL": "POL", "CZ": "CZE", "GR": "GRC", "MT": "MLT", "CY": "CYP", "AU": "AUS", "NZ": "NZL",
    "ZA": "ZAF", "IN": "IND", "AE": "ARE",
}  # fmt: skip
ISO3_TO_ISO2 = {iso3: iso2 for iso2, iso3 in ISO2_TO_ISO3.items()}


@dataclass
class RateBudget:
    """What SureVoIP last said was left of the hourly request allowance."""

    remaining: int | None = None
    reset_after: float | None = None  # seconds until the allowance is renewed


# ------------------------------------------------------------- value conversions
def carrier_number(e164: str, *, field: str = "number") -> str:
    """``+441224900999`` → ``441224900999`` (SureVoIP: "No + allowed")."""
    digits = e164[1:] if e164.startswith("+") else ""
    if not digits.isdigit():
        raise PermanentError(f"{e164!r} is not an E.164 number", field=field)
    return digits


def portal_number(text: str) -> str:
    """Any number form SureVoIP returns (``44…``, ``0044…``, national ``0…``) → E.164."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+44" + digits[1:]
    return "+" + digits


def carrier_destination(target: str | None) -> tuple[str, str | None]:
    """(``destination``, ``voip_call``) for a portal destination; voip_call None if unset."""
    if not target:
        return "", None
    if target.startswith("+"):
        return carrier_number(target, field="destination"), "0"
    if target.lower().startswith("sip:") and "@" in target:
        return target, "1"
    raise PermanentError(f"{target!r} is neither an E.164 number nor a SIP URI", field="destination")


def portal_destination(destination: str) -> str | None:
    if not destination:
        return None
    if destination.isdigit():
        return portal_number(destination)
    if destination.startswith("SIP/"):
        return "sip:" + destination[4:]
    if destination.lower().startswith("sip:"):
        return destination
    return "sip:" + destination


def last_path_segment(url: str) -> str:
    """``…/customers/12345`` (or ``…/partners/p/customer/12345/``, query and all) → ``12345``."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def is_whole_number(e164: str) -> bool:
    """Whether ``e164`` is a complete number of its country's plan (not a prefix of one)."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return False


def area_code_of(national: str) -> str | None:
    """The UK area code (national form, ``01224``) a national prefix starts with, if it is
    long enough to contain one; None for non-geographic ranges and shorter prefixes."""
    padded = national + "0" * max(0, 11 - len(national))
    try:
        parsed = phonenumbers.parse(padded, "GB")
    except phonenumbers.NumberParseException:
        return None
    length = phonenumbers.length_of_geographical_area_code(parsed)
    if not length or len(national) < length + 1:
        return None
    return national[: length + 1]


def flag(value: bool) -> str:
    return "1" if value else "0"


def _held(value: str | None) -> str:
    """A carrier text field, with this adapter's placeholder read back as empty."""
    return "" if value in (None, PLACEHOLDER) else str(value)


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class SureVoIPAdapter(CarrierAdapter):
    kind = "surevoip"
    label = "SureVoIP"
    capabilities = Capabilities(
        customers=True,
        number_config=True,
        number_inventory=True,
        forwards=True,
        forward_owners=frozenset({"number"}),
        forward_types=frozenset({"unconditional"}),
        max_destinations=1,
        forward_is_destination=True,
        numbers_stay_with_customer=True,
        customer_fields=frozenset({"name", "contact_name", "email", "phone", "address"}),
        notes=(
            "A number has one destination: its unconditional forward is that destination, "
            "and switching the forward off deactivates the number.",
            "No busy, no-answer or unavailable forwards, ring timeouts or time windows.",
            "Customers and numbers cannot be deleted or released through the API.",
            "Each customer's SIP account is created by SureVoIP and can only be read (import).",
            "No emergency (999) address through the API yet.",
        ),
    )

    def __init__(
        self,
        config: AccountConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        on_rate_budget: Callable[[RateBudget], None] | None = None,
        page_size: int | None = None,
    ) -> None:
        super().__init__(config, transport=transport)
        self.partner_id = str(config.settings["partner_id"])
        self.page_size = page_size or int(config.settings.get("page_size") or DEFAULT_PAGE_SIZE)
        self.on_rate_budget = on_rate_budget
        self.rate_budget = RateBudget()
        self._budget_seen_at: float | None = None
        self.client = CarrierClient(
            config,
            auth=(str(config.settings["username"]), config.credentials["password"]),
            headers={"Content-Type": "application/json"},
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    # -- HTTP ---------------------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        self._refuse_if_budget_spent()
        response = self.client.request(method, path, params={"hypermedia": "no", **(params or {})}, json=json)
        log.debug("surevoip %s %s -> %s", method, path, response.status_code)
        self._record_budget(response)
        if response.status_code not in expect:
            raise self._error(response)
        return response

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._request("GET", path, params=params).json()

    @property
    def _customers_path(self) -> str:
        return f"partners/{self.partner_id}/customers"

    def _customer_path(self, customer: str, rest: str = "") -> str:
        return f"{self._customers_path}/{customer}{rest}"

    def _pages(self, path: str) -> Iterator[dict[str, Any]]:
        """Every entry of a SureVoIP list, fetched one page at a time."""
        page = 1
        while True:
            doc = self._get(path, page=page, limit=self.page_size)
            entries = doc.get("list") or []
            yield from entries
            next_page = _as_int(doc.get("next_page"))
            if not entries or next_page is None or next_page <= page:
                return
            page = next_page

    # -- the rate budget ---------------------------------------------------------------
    def _record_budget(self, response: httpx.Response) -> None:
        if response.headers.get("X-SureVoIP-API-Auth-User", "no-auth") == "no-auth":
            return  # counted against our address, not this login
        remaining = _as_int(response.headers.get("X-SureVoIP-API-RateLimit-Remaining"))
        reset_after = _as_float(response.headers.get("X-SureVoIP-API-RateLimit-TimeToResetSecs"))
        if remaining is None and reset_after is None:
            return  # S2: the headers are "being tested and may not be present"
        self.rate_budget = RateBudget(remaining=remaining, reset_after=reset_after)
        self._budget_seen_at = time.monotonic()
        if self.on_rate_budget is not None:
            self.on_rate_budget(self.rate_budget)

    def _refuse_if_budget_spent(self) -> None:
        budget = self.rate_budget
        if budget.remaining != 0 or budget.reset_after is None or self._budget_seen_at is None:
            return
        wait = self._budget_seen_at + budget.reset_after - time.monotonic()
        if wait > 0:
            raise RateLimitedError("SureVoIP's hourly request allowance is used up", retry_after=wait, status=None)

    # -- errors ------------------------------------------------------------------------
    def _error(self, response: httpx.Response) -> CarrierError:
        status = response.status_code
        message, field = self._carrier_message(response)
        if status == 429:
            retry_after = _as_float(response.headers.get("Retry-After"))
            if retry_after is None:
                retry_after = _as_float(response.headers.get("X-SureVoIP-API-RateLimit-TimeToResetSecs"))
            return RateLimitedError(message, retry_after=retry_after or FALLBACK_RETRY_AFTER)
        if status == 401:
            return AuthenticationError(message, status=status)
        if status == 404:
            return NotFoundError(message, status=status)
        if status >= 500 or status == 408:
            return TransientError(message, status=status)
        return PermanentError(message, status=status, field=field)

    @staticmethod
    def _carrier_message(response: httpx.Response) -> tuple[str, str | None]:
        """SureVoIP's own words: ``error``, ``message`` or the first of ``errors[]``."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                return SureVoIPAdapter._field_errors_text(errors), errors[0].get("field")
            for key in ("error", "message"):
                if isinstance(body.get(key), str) and body[key]:
                    return body[key], None
        return response.reason_phrase or f"HTTP {response.status_code}", None

    @staticmethod
    def _field_errors_text(errors: list[dict[str, Any]]) -> str:
        first, *others = errors
        parts = ["; ".join(map(str, first.get("message") or []))]
        for other in others:
            messages = "; ".join(map(str, other.get("message") or []))
            parts.append(f"{other.get('field')}: {messages}" if other.get("field") else messages)
        return "; ".join(part for part in parts if part)

    # -- lifecycle --------------------------------------------------------------------
    def test_connection(self) -> None:
        # S2: GET /customers answers 302 to the caller's own account once logged in.
        self._request("GET", "customers", expect=(302,))

    # -- customers -------------------------------------------------------------------
    def _customer_body(self, spec: CustomerSpec) -> dict[str, str]:
        if not spec.email:
            raise PermanentError("SureVoIP needs an email address for a customer", field="email")
        if not spec.phone:
            raise PermanentError("SureVoIP needs a phone number for a customer", field="phone")
        firstname, _, lastname = spec.contact_name.strip().partition(" ")
        address = spec.address
        lines = [address.get(key, "") for key in ("line1", "line2") if address.get(key)]
        return {
            "company_name": spec.name,
            "firstname": firstname or PLACEHOLDER,
            "lastname": lastname.strip() or PLACEHOLDER,
            "email": spec.email,
            "phone": carrier_number(spec.phone, field="phone"),
            "fax": "",
            "address": "\n".join(lines) or PLACEHOLDER,
            "city": address.get("city") or PLACEHOLDER,
            "state": PLACEHOLDER,
            "postcode": address.get("postcode") or PLACEHOLDER,
            "country": self._iso3(address.get("country", "")),
            "company_website": PLACEHOLDER,
        }

    @staticmethod
    def _iso3(country: str) -> str:
        code = country.strip().upper()
        if not code:
            return DEFAULT_COUNTRY
        if len(code) == 3 and code.isalpha():
            return code
        if code in ISO2_TO_ISO3:
            return ISO2_TO_ISO3[code]
        raise PermanentError(f"no ISO 3166 alpha-3 code known for country {country!r}", field="country")

    @staticmethod
    def _customer_spec(doc: dict[str, Any]) -> CustomerSpec:
        line1, _, line2 = _held(doc.get("address")).partition("\n")
        country = _held(doc.get("country"))
        address = {
            "line1": line1,
            "line2": line2,
            "city": _held(doc.get("city")),
            "postcode": _held(doc.get("postcode")),
            "country": ISO3_TO_ISO2.get(country, country),
        }
        contact = " ".join(part for part in (_held(doc.get("firstname")), _held(doc.get("lastname"))) if part)
        phone = _held(doc.get("phone"))
        return CustomerSpec(
            name=_held(doc.get("company_name")),
            contact_name=contact,
            email=_held(doc.get("email")),
            phone=portal_number(phone) if phone else "",
            address={key: value for key, value in address.items() if value},
        )

    def create_customer(self, spec: CustomerSpec) -> str:
        response = self._request("POST", "customers", json=self._customer_body(spec), expect=(200, 201))
        customer = last_path_segment(response.headers.get("Location", ""))
        if not customer:
            raise PermanentError("SureVoIP created the customer but gave no Location", status=response.status_code)
        return customer

    def update_customer(self, remote_id: str, spec: CustomerSpec) -> None:
        self._request("PUT", self._customer_path(remote_id), json=self._customer_body(spec), expect=(200, 201))

    def delete_customer(self, remote_id: str) -> None:
        raise UnsupportedError("SureVoIP's API cannot delete a customer")

    def fetch_customer(self, remote_id: str) -> CustomerSpec:
        return self._customer_spec(self._get(self._customer_path(remote_id)))

    def find_customer(self, spec: CustomerSpec) -> str | None:
        email = spec.email.strip().lower()
        for remote_id, found in self.iter_customers():
            if found.name == spec.name and found.email.strip().lower() == email:
                return remote_id
        return None

    def iter_customers(self) -> Iterator[tuple[str, CustomerSpec]]:
        for entry in self._pages(self._customers_path):
            yield self._listed_customer_id(entry), self._customer_spec(entry)

    def _customer_ids(self) -> Iterator[str]:
        for entry in self._pages(self._customers_path):
            yield self._listed_customer_id(entry)

    @staticmethod
    def _listed_customer_id(entry: dict[str, Any]) -> str:
        """A list entry's ``{account}``: the last segment of its ``url.href`` (as a create's
        ``Location``), else its ``account``. Never its ``username``, the control-panel login."""
        href = (entry.get("url") or {}).get("href") if isinstance(entry.get("url"), dict) else None
        if href:
            return last_path_segment(href)
        if entry.get("account") not in (None, ""):
            return str(entry["account"])
        raise TransientError("SureVoIP listed a customer without its url or account")

    # -- subscribers: the customers' SIP accounts, read only -------------------------
    @staticmethod
    def _subscriber_spec(customer: str, entry: dict[str, Any]) -> SubscriberSpec:
        caller_id = _held(entry.get("caller_id_number"))
        return SubscriberSpec(
            username=str(entry.get("sip_username", "")),
            display_name=_held(entry.get("caller_id_name")),
            caller_id=portal_number(caller_id) if caller_id.isdigit() else "",
            customer_remote_id=customer,
        )

    def _sip_accounts(self, customer: str) -> Iterator[tuple[str, SubscriberSpec]]:
        for entry in self._pages(self._customer_path(customer, "/sip")):
            spec = self._subscriber_spec(customer, entry)
            yield f"{customer}:{spec.username}", spec

    def fetch_subscriber(self, remote_id: str) -> SubscriberSpec:
        customer, _, username = remote_id.partition(":")
        for found_id, spec in self._sip_accounts(customer):
            if found_id == remote_id:
                return spec
        raise NotFoundError(f"SureVoIP customer {customer} has no SIP account {username!r}")

    def find_subscriber(self, spec: SubscriberSpec) -> str | None:
        customers = [spec.customer_remote_id] if spec.customer_remote_id else self._customer_ids()
        for customer in customers:
            for remote_id, found in self._sip_accounts(customer):
                if found.username == spec.username:
                    return remote_id
        return None

    def iter_subscribers(self) -> Iterator[tuple[str, SubscriberSpec]]:
        for customer in self._customer_ids():
            yield from self._sip_accounts(customer)

    # -- numbers ---------------------------------------------------------------------
    @staticmethod
    def _split_number_id(remote_id: str) -> tuple[str, str]:
        customer, sep, number = remote_id.partition(":")
        if not sep or not customer or not number:
            raise NotFoundError(f"{remote_id!r} is not a SureVoIP number id (customer:number)")
        return customer, number

    def _number_path(self, customer: str, number: str) -> str:
        return self._customer_path(customer, f"/numbers/{number}")

    def _number_doc(self, remote_id: str) -> dict[str, Any]:
        customer, number = self._split_number_id(remote_id)
        numbers = self._get(self._number_path(customer, number)).get("numbers") or []
        if not numbers:
            raise NotFoundError(f"SureVoIP has no number {number} for customer {customer}")
        return numbers[0]

    def _put_number(self, remote_id: str, **fields: str) -> None:
        customer, number = self._split_number_id(remote_id)
        body = {"numbers": [{"number": number, **fields}]}
        self._request("PUT", self._number_path(customer, number), json=body, expect=(200, 201))

    def search_numbers(self, pattern: str = "", limit: int = 10, *, block: int = 0) -> list[AvailableNumber]:
        if block:
            raise UnsupportedError("SureVoIP's number search has no consecutive blocks", field="block")
        if not pattern.startswith("+"):
            # Digits or keypad letters anywhere in the local number: SureVoIP's number_filter.
            found = self._get("numbers", limit=limit, **({"number_filter": pattern} if pattern else {}))
            return [self._offer(entry) for entry in (found.get("list") or [])[:limit]]
        digits = carrier_number(pattern, field="pattern")
        if not digits.startswith(UK_COUNTRY_CODE):
            return []  # SureVoIP sells UK numbers only, shown in national form
        national = "0" + digits[len(UK_COUNTRY_CODE) :]
        if is_whole_number(pattern):
            # number_range checks "a complete number" (S2); N-N is exactly that one number.
            found = self._get("numbers", number_range=f"{national}-{national}", limit=limit)
            return [self._offer(entry) for entry in (found.get("list") or [])[:limit]]
        return self._search_by_prefix(national, limit)

    def still_available(self, e164s: list[str]) -> set[str]:
        """``number_range`` with the complete numbers, comma-separated (S2: "validate it at the
        last stage"), at most ``MAX_NUMBER_RANGE`` to a request."""
        uk = [(carrier_number(e164, field="numbers"), e164) for e164 in e164s]
        national = {"0" + digits[len(UK_COUNTRY_CODE):]: e164 for digits, e164 in uk if digits.startswith(UK_COUNTRY_CODE)}
        wanted = sorted(national)
        offered: set[str] = set()
        for start in range(0, len(wanted), MAX_NUMBER_RANGE):
            chunk = wanted[start:start + MAX_NUMBER_RANGE]
            found = self._get("numbers", number_range=",".join(chunk), limit=len(chunk))
            offered |= {str(entry.get("number_complete", "")) for entry in found.get("list") or []}
        return {e164 for number, e164 in national.items() if number in offered}

    def _search_by_prefix(self, national: str, limit: int) -> list[AvailableNumber]:
        """Numbers starting with ``national``: ``areacode`` takes area codes only, so send the
        prefix's area code (and the rest as ``number_filter``, which matches within the local
        number) and keep the numbers that really start with the prefix."""
        params: dict[str, Any] = {}
        areacode = area_code_of(national)
        if areacode is not None:
            params["areacode"] = areacode
            if len(national) > len(areacode):
                params["number_filter"] = national[len(areacode) :]
        offers: list[AvailableNumber] = []
        for page in range(1, MAX_SEARCH_PAGES + 1):
            doc = self._get("numbers", **params, page=page, limit=self.page_size)
            entries = doc.get("list") or []
            offers += [
                self._offer(entry) for entry in entries if str(entry.get("number_complete", "")).startswith(national)
            ]
            next_page = _as_int(doc.get("next_page"))
            if len(offers) >= limit or not entries or next_page is None or next_page <= page:
                break
        return offers[:limit]

    @staticmethod
    def _offer(entry: dict[str, Any]) -> AvailableNumber:
        return AvailableNumber(
            e164=portal_number(str(entry["number_complete"])),
            price=str(entry.get("number_one_off_price", "")),
            tier=str(entry.get("number_quality", "")),
        )

    def allocate_number(
        self, e164: str, customer_remote_id: str | None = None, *, destination: str | None = None
    ) -> str:
        if not customer_remote_id:
            raise PermanentError("SureVoIP allocates a number to a customer: choose one", field="customer")
        number = carrier_number(e164)
        remote_id = f"{customer_remote_id}:{number}"
        if self._number_exists(remote_id):
            return remote_id  # a retried allocation adopts what the first one did
        # Every documented allocation carries a destination: the one given, else "" (held, not
        # routed yet; update_number routes it).
        routed, voip_call = carrier_destination(destination)
        entry = {"number": number, "destination": routed, "activated": "1"}
        if voip_call is not None:
            entry["voip_call"] = voip_call
        body = {"numbers": [entry]}
        try:
            self._request("POST", self._customer_path(customer_remote_id, "/numbers"), json=body, expect=(200, 201))
        except PermanentError as error:
            if error.status != 400 or error.field != "number":
                raise
            holder = self._holder_of(number)
            if holder == remote_id:
                return remote_id
            if holder is not None:
                raise DuplicateError(error.message, remote_id=holder, status=400, field="number") from None
            raise
        return remote_id

    def find_number(self, e164: str) -> str | None:
        return self._holder_of(carrier_number(e164))

    def _number_exists(self, remote_id: str) -> bool:
        try:
            self._number_doc(remote_id)
        except NotFoundError:
            return False
        return True

    def _holder_of(self, number: str) -> str | None:
        """The ``customer:number`` id under which one of the partner's customers holds it."""
        for customer in self._customer_ids():
            remote_id = f"{customer}:{number}"
            if self._number_exists(remote_id):
                return remote_id
        return None

    def update_number(self, remote_id: str, spec: NumberSpec) -> None:
        if spec.emergency_address is not None:
            raise UnsupportedError("SureVoIP's API cannot hold an emergency address yet")
        self._check_forwards_agree(spec)
        destination, voip_call = carrier_destination(spec.destination)
        fields = {"destination": destination, "activated": flag(spec.activated)}
        if voip_call is not None:
            fields["voip_call"] = voip_call
        self._put_number(remote_id, **fields)

    @staticmethod
    def _check_forwards_agree(spec: NumberSpec) -> None:
        """A number's forward and its destination are one SureVoIP field: they must agree."""
        if not spec.forwards:
            return
        (forward,) = spec.forwards[:1]
        targets = [destination.target for destination in forward.destinations]
        if len(spec.forwards) > 1 or targets != [spec.destination] or forward.enabled != spec.activated:
            raise UnsupportedError(
                "SureVoIP holds one destination per number: its unconditional forward must be "
                "that destination, switched on exactly when the number is activated"
            )

    def fetch_number(self, remote_id: str) -> NumberSpec:
        customer, number = self._split_number_id(remote_id)
        doc = self._number_doc(remote_id)
        return NumberSpec(
            e164=portal_number(number),
            destination=portal_destination(str(doc.get("destination") or "")),
            activated=str(doc.get("activated")) == "1",
            customer_remote_id=customer,
        )

    def iter_numbers(self) -> Iterator[tuple[str, NumberSpec]]:
        # The list shows no destination, so each number is read on its own.
        for customer in self._customer_ids():
            for entry in self._pages(self._customer_path(customer, "/numbers")):
                remote_id = f"{customer}:{entry['number']}"
                yield remote_id, self.fetch_number(remote_id)

    # -- forwards: a view of the number's destination -------------------------------------
    def set_forwards(self, owner: str, remote_id: str, forwards: list[ForwardSpec]) -> None:
        problems = check_forwards(self.capabilities, owner, forwards)
        if owner != "number":
            problems.append("SureVoIP only forwards numbers")
        if any(not forward.destinations for forward in forwards):
            problems.append("a forward needs its destination on SureVoIP")
        if problems:
            raise UnsupportedError("; ".join(dict.fromkeys(problems)))
        if not forwards:
            self._put_number(remote_id, destination="")
            return
        (forward,) = forwards
        destination, voip_call = carrier_destination(forward.destinations[0].target)
        self._put_number(remote_id, destination=destination, voip_call=voip_call, activated=flag(forward.enabled))

    def fetch_forwards(self, owner: str, remote_id: str) -> list[ForwardSpec]:
        if owner != "number":
            raise UnsupportedError("SureVoIP only forwards numbers")
        doc = self._number_doc(remote_id)
        target = portal_destination(str(doc.get("destination") or ""))
        if target is None:
            return []
        enabled = str(doc.get("activated")) == "1"
        return [ForwardSpec(type="unconditional", enabled=enabled, destinations=[Destination(target=target)])]
