"""The log of requests the carriers received, so tests can assert what the portal sent.

It lives in memory only (a restart empties it) and forgets its oldest entries once it
holds ``max_entries`` requests or ``max_body_bytes`` of logged bodies and headers, so a
long demo or a benchmark cannot grow it without bound. Each body is kept up to
``MAX_BODY`` bytes.

Nothing secret reaches the log (anyone with the control API can read it): credentials
in headers (``Authorization``, ``X-APIKEY``, cookies), and any field whose name says it
holds a secret (``password``, ``webpassword``, ``secret``, ``pass``, ``api_key``, ``token``…)
in a JSON body, a form body or the query string, are replaced by ``*****`` before the
entry is stored. So are the secret of a ``user:secret@host`` register string and
``name=secret`` lines inside text values (Simotel's ``more_options``), and the value of a
JSON-patch operation on such a field (Sipwise's ``{"path": "/password", "value": …}``).
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode

MAX_BODY = 64 * 1024
MASK = "*****"

# Names of fields and headers that carry a secret. "key" alone is not one: Simwood's
# report filter ``key`` is a search term, not a credential.
SECRET_NAME = re.compile(
    r"pass|secret|token|api_?key|authori[sz]ation|credential|cookie|(?:^|[_-])pin(?:$|[_-])", re.IGNORECASE
)
# Cheap test before any parsing: a body or query without these cannot hold a named secret.
SECRET_MARKERS = ("pass", "secret", "token", "key", "auth", "credential", "cookie", "pin", "@")
# ``name=value`` pairs inside text (option blobs, form-like strings, raw bodies).
SECRET_PAIR = re.compile(
    r"(?<![\w.-])(?P<name>[\w.-]{0,40}?(?:pass|secret|token|api_?key|credential)[\w.-]{0,40}?)"
    r"(?P<sep>[ \t]*[=:][ \t]*)(?P<value>[^\s&;,\"']+)",
    re.IGNORECASE,
)
# ``"password": "…"`` inside JSON text that does not parse (a body cut at MAX_BODY).
SECRET_JSON_MEMBER = re.compile(
    r"(?P<name>\"[^\"]{0,40}?(?:pass|secret|token|api_?key|credential)[^\"]{0,40}?\"\s*:\s*)\"(?:[^\"\\]|\\.)*\"",
    re.IGNORECASE,
)
# Asterisk register strings ``user:secret@host/…`` and URLs with ``user:secret@``.
REGISTER_STRING = re.compile(r"^(?P<user>[^:@/\s]*):(?P<secret>[^@\s]+)@")
URL_USERINFO = re.compile(
    r"(?P<scheme>(?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}://[^:@/\s]{0,256}):(?P<secret>[^@/\s]{1,256})@", re.IGNORECASE
)


def _might_hold_a_secret(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in SECRET_MARKERS)


def masked_text(text: str) -> str:
    """``text`` with secret ``name=value`` pairs and URL passwords masked."""
    text = SECRET_PAIR.sub(lambda m: f"{m['name']}{m['sep']}{MASK}", text)
    return URL_USERINFO.sub(lambda m: f"{m['scheme']}:{MASK}@", text)


def _masked_json(value: Any, name: str = "") -> Any:
    if isinstance(value, dict):
        patch_target = value.get("path") if isinstance(value.get("path"), str) else ""
        masked = {key: _masked_json(item, key) for key, item in value.items()}
        if "value" in masked and SECRET_NAME.search(patch_target.rsplit("/", 1)[-1]):
            masked["value"] = MASK  # a JSON-patch operation on a secret field
        return masked
    if isinstance(value, list):
        return [_masked_json(item, name) for item in value]
    if SECRET_NAME.search(name) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        if name == "register_string":
            value = REGISTER_STRING.sub(lambda m: f"{m['user']}:{MASK}@", value)
        return masked_text(value)
    return value


def _masked_pairs(text: str, strict: bool) -> str | None:
    """A query string or form body with secret values masked; None if it is not one."""
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=strict)
    except ValueError:
        return None
    masked = [(name, MASK if SECRET_NAME.search(name) and value else masked_text(value)) for name, value in pairs]
    return text if masked == pairs else urlencode(masked, safe="*:/@")


def masked_query(query: str) -> str:
    if not query or not _might_hold_a_secret(query):
        return query
    masked = _masked_pairs(query, strict=False)
    return masked_text(query) if masked is None else masked


def masked_body(body: bytes) -> str:
    """The body as logged: UTF-8 text, secrets masked, at most ``MAX_BODY`` bytes."""
    if len(body) > 4 * MAX_BODY:  # too big to parse for every request: scrub the part kept
        return _masked_raw_text(body[:MAX_BODY].decode("utf-8", "ignore"))
    text = body.decode("utf-8", "replace")
    if text and _might_hold_a_secret(text):
        text = _masked_body_text(text)
    return text.encode("utf-8")[:MAX_BODY].decode("utf-8", "ignore")


def _masked_body_text(text: str) -> str:
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    else:
        masked = _masked_json(document)
        return text if masked == document else json.dumps(masked, separators=(",", ":"), ensure_ascii=False)
    if "=" in text and "\n" not in text.strip():
        form = _masked_pairs(text.strip(), strict=True)
        if form is not None:
            return form
    return _masked_raw_text(text)


def _masked_raw_text(text: str) -> str:
    return masked_text(SECRET_JSON_MEMBER.sub(lambda m: f'{m["name"]}"{MASK}"', text))


def masked_headers(raw_headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers by lower-case name; credentials keep only their scheme."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in raw_headers:
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        if SECRET_NAME.search(name):
            scheme, _, credentials = value.partition(" ")
            value = f"{scheme} {MASK}" if name in ("authorization", "proxy-authorization") and credentials else MASK
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


@dataclass(slots=True)
class LoggedRequest:
    seq: int  # 1, 2, 3 ... in order of arrival since the sandbox started
    time: float  # Unix time the request arrived
    carrier: str
    account: str | None  # the sandbox account its credentials name, if any
    method: str
    path: str
    query: str
    headers: dict[str, str]
    status: int
    body: str
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELD_NAMES}

    def size(self) -> int:
        return len(self.body) + sum(len(name) + len(value) for name, value in self.headers.items())


FIELD_NAMES = tuple(f.name for f in fields(LoggedRequest))


class RequestLog:
    def __init__(self, max_entries: int = 200_000, max_body_bytes: int = 64 * 1024 * 1024) -> None:
        self.entries: deque[LoggedRequest] = deque()
        self.max_entries = max_entries
        self.max_body_bytes = max_body_bytes
        self._body_bytes = 0
        self._seq = 0

    def record(self, **entry_fields: Any) -> None:
        self._seq += 1
        entry = LoggedRequest(seq=self._seq, **entry_fields)
        self.entries.append(entry)
        self._body_bytes += entry.size()
        while len(self.entries) > self.max_entries or self._body_bytes > self.max_body_bytes:
            self._body_bytes -= self.entries.popleft().size()

    def query(
        self, carrier: str | None = None, account: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        return [
            entry.to_json()
            for entry in self.entries
            if (carrier is None or entry.carrier == carrier)
            and (account is None or entry.account == account)
            and (since is None or entry.time >= since)
        ]

    def clear(self) -> None:
        self.entries.clear()
        self._body_bytes = 0
