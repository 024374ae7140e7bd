"""Simotel (Nasim Telecom call-centre PBX) API v4 adapter.

Every call is ``POST <base>/<group>/<resource>/<action>`` with a JSON body; answers are
the envelope ``{"success": 1|0, "message": ..., "data": ...}``. Authentication follows
the account setting ``auth_mode``: ``basic`` (HTTP Basic), ``apikey`` (``X-APIKEY``) or
``both`` (default). Customers and numbers stay in the portal.

Mapping (portal → Simotel; details in ``docs/carriers/simotel.md``):

=============================  ================================================
SubscriberSpec.username        ``pbx/users`` ``number`` (the extension, digits)
SubscriberSpec.display_name    ``name`` ("" is sent as the extension number)
SubscriberSpec.password        ``secret`` (sent only when set; read back masked)
SubscriberSpec.caller_id       ``cid_number`` (E.164 ↔ ``00`` + digits)
SubscriberSpec.call_limit      ``call_limit`` (None ↔ ``""``)
SubscriberSpec.status          ``active`` (active ↔ ``yes``, else ``no``/suspended)
ForwardSpec (subscriber)       the user's ``forward_policy``: unconditional → ``All``,
                               busy → ``Busy``, no_answer → ``No Answer``,
                               unavailable → ``UnAvailable``; one destination each
TrunkSpec.name                 ``pbx/trunks`` ``name``
TrunkSpec.host                 ``host``
TrunkSpec.codecs               ``allow`` (comma-separated, in order) + ``disallow=all``
TrunkSpec.allowed_ips          ``deny=0.0.0.0/0.0.0.0`` + ``permit`` (comma-separated
                               ``ip/mask``; none = ``0.0.0.0/0.0.0.0``, anyone)
TrunkSpec.type                 ``auth`` ↔ a ``register_string`` (plus ``username``,
                               ``secret``, ``fromuser`` in ``more_options``); ``ip`` ↔ none
TrunkSpec.enabled              ``active``
TrunkSpec.customer_ref         ``description``
=============================  ================================================

Assumptions where the documents are silent:

* A ``success: 0`` answer is a :class:`PermanentError` with the carrier's message; a
  message containing "already exists" is a :class:`DuplicateError` (the remote id is
  looked up by the natural key); ``Field '<name>':value is missing`` names the field,
  reported in portal terms (``secret`` → ``password``...). 401/403 are
  :class:`AuthenticationError`, 429 :class:`RateLimitedError` (``Retry-After``, else
  30 s), 5xx :class:`TransientError`, other statuses :class:`PermanentError`.
* There is no "get by id": fetches, updates and deletes find the object by scanning
  ``…/search`` page by page. Searches send ``pagination`` (``start`` offset, ``count``
  page size, ``sorting {"_id": 1}``). Users and trunks searches are documented unpaged
  (``data`` is a plain list): a plain-list answer that fills a page is followed by the next
  page (the server honours ``start``/``count``); one shorter or longer than a page, or that
  brings no row not seen yet (the server ignores them), ends the search. Page size:
  ``page_size`` setting or argument (100).
* Updates send the whole stored object (as the official samples do) with the managed
  fields changed, minus the read-only ``date``/``queues`` and the masked ``secret``
  (re-sent only when the portal sets a new password).
* The generic ``Requested operation failed`` after an update or delete of an id the
  account no longer holds is reported as :class:`NotFoundError` (checked by the scan).
* Phone numbers are dialled with the international prefix ``00`` (E.164 ``+44…`` →
  ``0044…``), which reads back unambiguously; a value without ``00`` (an extension or
  national number) is returned unchanged. Forward destinations must be E.164.
* A disabled forward, or one without a destination, is held as ``""`` (off), so it
  reads back as absent. Ring timeouts and time windows cannot be held.
* ``auth`` trunks authenticate with the trunk name as user and a random secret the
  adapter generates (shown once by ``create_trunk``/``reset_trunk_password``); their
  ``register_string`` is ``name:secret@host/name``, so they need a host.
* New users and trunks get the documented sample values for the Asterisk fields the
  portal does not manage (users: ``user_type=SIP``, ``type=friend``, ``host=dynamic``,
  ``context=main_routing``; trunks: ``trunk_type=SIP``, ``type=friend``,
  ``context=from-pstn``, ``insecure=port,invite``, ``qualify=yes``).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx

from .base import (
    FORWARD_TYPES,
    AccountConfig,
    AuthenticationError,
    Capabilities,
    CarrierAdapter,
    CarrierClient,
    CreatedTrunk,
    Destination,
    DuplicateError,
    ForwardSpec,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    SubscriberSpec,
    TransientError,
    TrunkSpec,
    UnsupportedError,
    check_forwards,
)

log = logging.getLogger(__name__)

AUTH_MODES = ("basic", "apikey", "both")
DEFAULT_PAGE_SIZE = 100
DEFAULT_RETRY_AFTER = 30.0
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
MISSING_FIELD = re.compile(r"^Field '([^']+)'\s*:\s*value is missing", re.IGNORECASE)
INTERNATIONAL_PREFIX = "00"
ANYONE = "0.0.0.0/0.0.0.0"

FORWARD_KEYS = {
    "unconditional": "All",
    "busy": "Busy",
    "no_answer": "No Answer",
    "unavailable": "UnAvailable",
}
READ_ONLY_FIELDS = ("date", "queues", "secret")
TRUNK_CREDENTIAL_OPTIONS = ("username", "secret", "fromuser")
USER_DEFAULTS = {"user_type": "SIP", "type": "friend", "host": "dynamic", "context": "main_routing"}
TRUNK_DEFAULTS = {
    "trunk_type": "SIP",
    "type": "friend",
    "context": "from-pstn",
    "insecure": "port,invite",
    "qualify": "yes",
}
# carrier field -> portal field, so a "missing field" error lands on the right form field
USER_FIELDS_IN_PORTAL_TERMS = {
    "number": "username",
    "name": "display_name",
    "secret": "password",
    "cid_number": "caller_id",
    "call_limit": "call_limit",
    "active": "status",
}
TRUNK_FIELDS_IN_PORTAL_TERMS = {
    "name": "name",
    "host": "host",
    "allow": "codecs",
    "permit": "allowed_ips",
    "register_string": "type",
    "active": "enabled",
    "description": "customer_ref",
}
UNHELD_TRUNK_FIELDS = (
    "channels_in",
    "channels_out",
    "default_cli",
    "force_cli",
    "max_cost_per_minute",
    "max_cost_per_call",
)


# --------------------------------------------------------------------- conversions
def to_dialled(e164: str, field: str) -> str:
    if not E164.match(e164):
        raise PermanentError(f"{e164!r} is not an E.164 number", field=field)
    return INTERNATIONAL_PREFIX + e164[1:]


def from_dialled(dialled: str) -> str:
    if dialled.startswith(INTERNATIONAL_PREFIX) and dialled[2:].isdigit():
        return "+" + dialled[2:]
    return dialled


def new_trunk_secret() -> str:
    return secrets.token_urlsafe(18)


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def to_permit(allowed_ips: list[str]) -> str:
    if not allowed_ips:
        return ANYONE
    networks = []
    for entry in allowed_ips:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise PermanentError(f"{entry!r} is not an IP address or network", field="allowed_ips") from None
        networks.append(network.with_netmask if network.version == 4 else network.with_prefixlen)
    return ",".join(networks)


def from_permit(permit: str) -> list[str]:
    allowed = []
    for entry in filter(None, (part.strip() for part in permit.split(","))):
        if entry == ANYONE:
            continue
        network = ipaddress.ip_network(entry, strict=False)
        is_host = network.prefixlen == network.max_prefixlen
        allowed.append(str(network.network_address) if is_host else network.with_prefixlen)
    return allowed


def parse_options(more_options: str) -> list[tuple[str, str]]:
    pairs = []
    for line in more_options.splitlines():
        key, _, value = line.partition("=")
        if key.strip():
            pairs.append((key.strip(), value.strip()))
    return pairs


def with_trunk_credentials(more_options: str, credentials: dict[str, str]) -> str:
    """``more_options`` with the credential lines replaced by ``credentials`` (others kept)."""
    kept = [(k, v) for k, v in parse_options(more_options) if k not in TRUNK_CREDENTIAL_OPTIONS]
    return "\n".join(f"{k}={v}" for k, v in [*kept, *credentials.items()])


def retry_after_seconds(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER


def carrier_message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return message or response.reason_phrase or f"HTTP {response.status_code}"


class SimotelAdapter(CarrierAdapter):
    kind = "simotel"
    label = "Simotel"
    capabilities = Capabilities(
        subscribers=True,
        trunks=True,
        forwards=True,
        forward_owners=frozenset({"subscriber"}),
        forward_types=frozenset(FORWARD_TYPES),
        max_destinations=1,
        ring_timeouts=False,
        time_windows=False,
        trunk_types=frozenset({"ip", "auth"}),
        trunk_fields=frozenset({"name", "type", "allowed_ips", "enabled", "host", "codecs", "customer_ref"}),
        notes=(
            "Customers and phone numbers stay in the portal: Simotel has no such objects.",
            "A subscriber's username is its extension number and must be digits only.",
            "Each forward type has one destination, a phone number (not a SIP address), "
            "with no ring timeout and no time windows.",
            "A switched-off forward is not kept: it reads back as absent.",
            "Trunks hold no channel limits, caller ID or cost limits.",
        ),
    )

    def __init__(
        self,
        config: AccountConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        page_size: int | None = None,
    ) -> None:
        super().__init__(config, transport=transport)
        mode = config.settings.get("auth_mode") or "both"
        if mode not in AUTH_MODES:
            raise PermanentError(f"auth_mode must be one of {', '.join(AUTH_MODES)}", field="auth_mode")
        auth = None
        headers: dict[str, str] = {}
        if mode in ("basic", "both"):
            auth = (config.settings.get("username", ""), config.credentials.get("password", ""))
        if mode in ("apikey", "both"):
            headers["X-APIKEY"] = config.credentials.get("api_key", "")
        self.client = CarrierClient(config, auth=auth, headers=headers, transport=transport)
        self.page_size = int(page_size or config.settings.get("page_size") or DEFAULT_PAGE_SIZE)

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ transport
    def _call(self, service: str, body: dict[str, Any], field_names: dict[str, str] | None = None) -> Any:
        """POST one service and return its ``data``, or raise the typed error."""
        response = self.client.request("POST", service, json=body)
        log.debug("simotel %s -> HTTP %s", service, response.status_code)
        if response.status_code != 200:
            raise self._http_error(response)
        try:
            doc = response.json()
        except ValueError:
            raise TransientError("Simotel answered with something that is not JSON", status=200) from None
        if not isinstance(doc, dict) or "success" not in doc:
            raise TransientError("Simotel answered without its success flag", status=200)
        if not doc["success"] or doc["success"] in ("0", "false"):
            raise self._operation_error(str(doc.get("message") or "Requested operation failed"), field_names)
        return doc.get("data")

    @staticmethod
    def _http_error(response: httpx.Response) -> Exception:
        status, message = response.status_code, carrier_message(response)
        if status in (401, 403):
            return AuthenticationError(message, status=status)
        if status == 429:
            return RateLimitedError(message, retry_after=retry_after_seconds(response))
        if status >= 500:
            return TransientError(message, status=status)
        return PermanentError(message, status=status)

    @staticmethod
    def _operation_error(message: str, field_names: dict[str, str] | None) -> PermanentError:
        if "already exists" in message.lower():
            return DuplicateError(message, status=200)
        missing = MISSING_FIELD.match(message)
        if missing:
            field = missing.group(1)
            return PermanentError(message, status=200, field=(field_names or {}).get(field, field))
        return PermanentError(message, status=200)

    def _search(self, resource: str, conditions: dict[str, str], *, alike: bool = False) -> Iterator[dict]:
        """Every object of ``pbx/<resource>`` matching ``conditions``, page by page."""
        body: dict[str, Any] = {"alike": alike, "conditions": conditions}
        if resource == "users":
            body["status"] = "all"
        start = 0
        seen: set[str] = set()
        while True:
            body["pagination"] = {"start": start, "count": self.page_size, "sorting": {"_id": 1}}
            data = self._call(f"pbx/{resource}/search", body)
            if isinstance(data, list):
                # The documented unpaged answer. A server may still honour start/count (a full
                # page: ask on) or ignore them (more than a page, or the same rows again: done).
                fresh = [row for row in data if row.get("_id") not in seen]
                seen.update(row.get("_id") for row in fresh)
                yield from fresh
                if len(data) != self.page_size or not fresh:
                    return
                start += len(data)
                continue
            rows = (data or {}).get("data") or []
            yield from rows
            start += len(rows)
            total = ((data or {}).get("pagination") or {}).get("total")
            if len(rows) < self.page_size or (total is not None and start >= int(total)):
                return

    def _stored(self, resource: str, remote_id: str) -> dict[str, Any]:
        for obj in self._search(resource, {}, alike=True):
            if obj.get("_id") == remote_id:
                return obj
        raise NotFoundError(f"Simotel holds no {resource[:-1]} with this id")

    def _find_id(self, resource: str, key: str, value: str) -> str | None:
        for obj in self._search(resource, {key: value}):
            if obj.get(key) == value:  # a server may match loosely; the key must be equal
                return obj["_id"]
        return None

    def _update(self, resource: str, current: dict[str, Any], changes: dict[str, Any], names: dict) -> None:
        writable = {k: v for k, v in current.items() if k not in READ_ONLY_FIELDS}
        self._call(f"pbx/{resource}/update", {**writable, **changes}, names)

    def _remove(self, resource: str, remote_id: str) -> None:
        try:
            self._call(f"pbx/{resource}/remove", {"_id": remote_id})
        except PermanentError as error:
            if error.status == 200:  # the generic operation error: tell "gone" apart
                self._stored(resource, remote_id)  # raises NotFoundError when it is gone
            raise

    def _create(self, resource: str, body: dict[str, Any], names: dict, natural_key: str) -> str:
        try:
            data = self._call(f"pbx/{resource}/add", body, names)
        except DuplicateError as duplicate:
            duplicate.remote_id = self._find_id(resource, natural_key, body[natural_key])
            duplicate.field = names.get(natural_key)
            raise
        return str(data["_id"])

    # ------------------------------------------------------------------ lifecycle
    def test_connection(self) -> None:
        self._call("setting/ping/act", {})

    # ------------------------------------------------------------------ subscribers
    @staticmethod
    def _user_fields(spec: SubscriberSpec) -> dict[str, Any]:
        if not (spec.username.isascii() and spec.username.isdigit()):
            raise PermanentError("a Simotel extension number is digits only", field="username")
        fields: dict[str, Any] = {
            "name": spec.display_name or spec.username,
            "number": spec.username,
            "cid_number": to_dialled(spec.caller_id, "caller_id") if spec.caller_id else "",
            "call_limit": "" if spec.call_limit is None else str(spec.call_limit),
            "active": yes_no(spec.status == "active"),
        }
        if spec.password is not None:
            fields["secret"] = spec.password
        return fields

    @staticmethod
    def _subscriber_spec(user: dict[str, Any]) -> SubscriberSpec:
        number = str(user.get("number", ""))
        name = str(user.get("name", ""))
        call_limit = str(user.get("call_limit", "")).strip()
        return SubscriberSpec(
            username=number,
            display_name="" if name == number else name,
            caller_id=from_dialled(str(user.get("cid_number", ""))),
            call_limit=int(call_limit) if call_limit.isdigit() else None,
            status="active" if user.get("active", "yes") == "yes" else "suspended",
        )

    def create_subscriber(self, spec: SubscriberSpec) -> str:
        body = {**USER_DEFAULTS, **self._user_fields(spec)}
        return self._create("users", body, USER_FIELDS_IN_PORTAL_TERMS, "number")

    def update_subscriber(self, remote_id: str, spec: SubscriberSpec) -> None:
        current = self._stored("users", remote_id)
        self._update("users", current, self._user_fields(spec), USER_FIELDS_IN_PORTAL_TERMS)

    def delete_subscriber(self, remote_id: str) -> None:
        self._remove("users", remote_id)

    def fetch_subscriber(self, remote_id: str) -> SubscriberSpec:
        return self._subscriber_spec(self._stored("users", remote_id))

    def find_subscriber(self, spec: SubscriberSpec) -> str | None:
        return self._find_id("users", "number", spec.username)

    def iter_subscribers(self) -> Iterator[tuple[str, SubscriberSpec]]:
        for user in self._search("users", {}, alike=True):
            yield user["_id"], self._subscriber_spec(user)

    # ------------------------------------------------------------------ forwards
    def _forward_policy(self, owner: str, forwards: list[ForwardSpec]) -> dict[str, str]:
        problems = check_forwards(self.capabilities, owner, forwards)
        types = [fwd.type for fwd in forwards]
        if len(types) != len(set(types)):
            problems.append("each forward type can be set only once")
        if problems:
            raise UnsupportedError("; ".join(problems))
        policy = dict.fromkeys(FORWARD_KEYS.values(), "")
        for fwd in forwards:
            if fwd.enabled and fwd.destinations:
                target = fwd.destinations[0].target
                if target.startswith("sip:"):
                    raise UnsupportedError("Simotel forwards to phone numbers only, not SIP addresses")
                policy[FORWARD_KEYS[fwd.type]] = to_dialled(target, "destinations")
        return policy

    def set_forwards(self, owner: str, remote_id: str, forwards: list[ForwardSpec]) -> None:
        policy = self._forward_policy(owner, forwards)
        current = self._stored("users", remote_id)
        self._update("users", current, {"forward_policy": policy}, USER_FIELDS_IN_PORTAL_TERMS)

    def fetch_forwards(self, owner: str, remote_id: str) -> list[ForwardSpec]:
        if owner != "subscriber":
            raise self._unsupported(f"call forwards on a {owner}")
        return self._forwards_of(self._stored("users", remote_id))

    def iter_forwards(self, owner: str) -> Iterator[tuple[str, list[ForwardSpec]]]:
        # One pass over the users: fetch_forwards would scan them once per user.
        if owner != "subscriber":
            raise self._unsupported(f"call forwards on a {owner}")
        for user in self._search("users", {}, alike=True):
            yield user["_id"], self._forwards_of(user)

    @staticmethod
    def _forwards_of(user: dict[str, Any]) -> list[ForwardSpec]:
        policy = user.get("forward_policy") or {}
        return [
            ForwardSpec(type=portal_type, destinations=[Destination(target=from_dialled(policy[key]))])
            for portal_type, key in FORWARD_KEYS.items()
            if policy.get(key)
        ]

    # ------------------------------------------------------------------ trunks
    @staticmethod
    def _trunk_fields(spec: TrunkSpec) -> dict[str, Any]:
        unheld = [name for name in UNHELD_TRUNK_FIELDS if getattr(spec, name) not in (None, "", False)]
        if unheld:
            raise UnsupportedError(f"Simotel trunks cannot hold {', '.join(unheld)}")
        if spec.type not in ("ip", "auth"):
            raise UnsupportedError(f"Simotel has no {spec.type!r} trunks")
        if spec.type == "auth" and not spec.host:
            raise PermanentError("a registering (auth) trunk needs a host", field="host")
        return {
            "name": spec.name,
            "host": spec.host,
            "active": yes_no(spec.enabled),
            "disallow": "all" if spec.codecs else "",
            "allow": ",".join(spec.codecs),
            "deny": ANYONE,
            "permit": to_permit(spec.allowed_ips),
            "description": spec.customer_ref,
        }

    @staticmethod
    def _credential_fields(name: str, host: str, more_options: str, secret: str | None) -> dict[str, str]:
        """``register_string`` and ``more_options`` for a trunk (no secret: an ip trunk)."""
        if secret is None:
            return {"register_string": "", "more_options": with_trunk_credentials(more_options, {})}
        credentials = {"username": name, "secret": secret, "fromuser": name}
        return {
            "register_string": f"{name}:{secret}@{host}/{name}",
            "more_options": with_trunk_credentials(more_options, credentials),
        }

    @staticmethod
    def _trunk_secret(trunk: dict[str, Any]) -> str | None:
        options = dict(parse_options(str(trunk.get("more_options", ""))))
        return options.get("secret") if trunk.get("register_string") else None

    @staticmethod
    def _trunk_spec(trunk: dict[str, Any]) -> TrunkSpec:
        allow = str(trunk.get("allow", ""))
        return TrunkSpec(
            name=str(trunk.get("name", "")),
            type="auth" if trunk.get("register_string") else "ip",
            allowed_ips=from_permit(str(trunk.get("permit", ""))),
            enabled=trunk.get("active", "yes") == "yes",
            host=str(trunk.get("host", "")),
            codecs=[codec.strip() for codec in allow.split(",") if codec.strip()],
            customer_ref=str(trunk.get("description", "")),
        )

    def create_trunk(self, spec: TrunkSpec) -> CreatedTrunk:
        secret = new_trunk_secret() if spec.type == "auth" else None
        body = {
            **TRUNK_DEFAULTS,
            **self._trunk_fields(spec),
            **self._credential_fields(spec.name, spec.host, "", secret),
        }
        remote_id = self._create("trunks", body, TRUNK_FIELDS_IN_PORTAL_TERMS, "name")
        return CreatedTrunk(remote_id=remote_id, password=secret)

    def update_trunk(self, remote_id: str, spec: TrunkSpec) -> None:
        current = self._stored("trunks", remote_id)
        # A trunk that becomes "auth" gets a secret here; reset_trunk_password shows a new one.
        secret = (self._trunk_secret(current) or new_trunk_secret()) if spec.type == "auth" else None
        options = str(current.get("more_options", ""))
        credentials = self._credential_fields(spec.name, spec.host, options, secret)
        changes = {**self._trunk_fields(spec), **credentials}
        self._update("trunks", current, changes, TRUNK_FIELDS_IN_PORTAL_TERMS)

    def reset_trunk_password(self, remote_id: str) -> str:
        current = self._stored("trunks", remote_id)
        if not current.get("register_string"):
            raise UnsupportedError("an IP trunk has no password")
        secret = new_trunk_secret()
        credentials = self._credential_fields(
            str(current["name"]), str(current.get("host", "")), str(current.get("more_options", "")), secret
        )
        self._update("trunks", current, credentials, TRUNK_FIELDS_IN_PORTAL_TERMS)
        return secret

    def delete_trunk(self, remote_id: str) -> None:
        self._remove("trunks", remote_id)

    def fetch_trunk(self, remote_id: str) -> TrunkSpec:
        return self._trunk_spec(self._stored("trunks", remote_id))

    def find_trunk(self, spec: TrunkSpec) -> str | None:
        return self._find_id("trunks", "name", spec.name)

    def iter_trunks(self) -> Iterator[tuple[str, TrunkSpec]]:
        for trunk in self._search("trunks", {}, alike=True):
            yield trunk["_id"], self._trunk_spec(trunk)
