from __future__ import annotations

import re
import uuid

from . import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


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
