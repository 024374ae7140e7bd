from __future__ import annotations

import ipaddress
import re
import uuid

from django.conf import settings
from django.utils.cache import patch_cache_control

from . import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def trusted_client_address(meta: dict) -> str | None:
    """The client's address as our own proxies report it, or None to keep REMOTE_ADDR.

    A proxy appends the address it saw to X-Forwarded-For, so with N proxies of ours the
    client is the N-th entry from the right; entries further left came from the client and
    prove nothing. A single header set by the proxy (X-Real-IP) is used instead when named.
    """
    if settings.TRUSTED_CLIENT_IP_HEADER:
        candidate = meta.get("HTTP_" + settings.TRUSTED_CLIENT_IP_HEADER.upper().replace("-", "_"), "")
    else:
        hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        count = settings.TRUSTED_PROXY_COUNT
        candidate = hops[-count] if count > 0 and len(hops) >= count else ""
    try:
        return str(ipaddress.ip_address(candidate.strip()))
    except ValueError:
        return None


class ClientAddressMiddleware:
    """With ``BEHIND_PROXY``, ``REMOTE_ADDR`` becomes the client's address, not the proxy's.

    Everything after it (allauth's per-IP rate limits, the audit log's remote address, the
    logs) then counts clients, not the proxy. X-Forwarded-For is cut down to that one
    address, so no code can read the client-supplied part of it by mistake.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.BEHIND_PROXY:
            address = trusted_client_address(request.META)
            if address is not None:
                request.META["REMOTE_ADDR"] = address
                request.META["HTTP_X_FORWARDED_FOR"] = address
            else:
                request.META.pop("HTTP_X_FORWARDED_FOR", None)
        return self.get_response(request)


class RequestIdMiddleware:
    """Takes ``X-Request-ID`` from the proxy (or makes one) and echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request.id = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        tokens = [
            context.request_id.set(request.id),
            context.user_label.set("-"),
            context.reseller_label.set("-"),
        ]
        try:
            response = self.get_response(request)
        finally:
            for var, token in zip((context.request_id, context.user_label, context.reseller_label), tokens):
                var.reset(token)
        response["X-Request-ID"] = request.id
        return response


class NoStoreForLoggedInMiddleware:
    """A page shown to a logged-in user is never kept by the browser or a proxy.

    Its content is that user's (customers, SIP accounts, the one-time display of a new
    password): the back button after logging out, or a shared cache, must not show it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response
