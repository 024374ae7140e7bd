"""Each carrier's cheapest authenticated request, for a sandbox account as the control API returns it.

The tests use it to see whether an account is served (200), failed by a fault or refused;
the benchmark uses it as the "simple authenticated GET" it times. Every probe reads and
changes nothing, so it can be sent any number of times.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

# carrier -> (method, path under base_url, settings keys of the HTTP Basic login)
PROBES: dict[str, tuple[str, str, tuple[str, str]]] = {
    "simwood": ("GET", "accounts/{account}/prepay/balance", ("api_user", "api_key")),
    "surevoip": ("GET", "numbers?limit=1&hypermedia=no", ("username", "password")),
    "sipwise": ("GET", "billingprofiles/{billing_profile_id}", ("username", "password")),
    # Simotel has no GET: every service is a JSON POST, here with both of its credentials.
    "simotel": ("POST", "setting/ping/act", ("username", "password")),
}


@dataclass(frozen=True)
class Probe:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


def basic_login(account: dict[str, Any]) -> tuple[str, str]:
    """The (user, password) an account's carrier takes as HTTP Basic credentials."""
    _, _, (user_key, password_key) = PROBES[account["carrier"]]
    settings = account["settings"]
    return str(settings[user_key]), str(settings[password_key])


def probe_for(account: dict[str, Any]) -> Probe:
    method, path, _ = PROBES[account["carrier"]]
    token = base64.b64encode(":".join(basic_login(account)).encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    body = b""
    if account["carrier"] == "simotel":
        headers.update({"Content-Type": "application/json", "X-APIKEY": account["settings"]["api_key"]})
        body = b"{}"
    return Probe(method, account["base_url"] + path.format(**account["settings"]), headers, body)
