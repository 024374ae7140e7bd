"""A refusal is an answer, not a failure: a 403 page without a traceback in the log."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

log = logging.getLogger("portal.ui.forbidden")


class ForbiddenPageMiddleware:
    """Answers PermissionDenied with the portal's 403 page and one log line.

    Django's own handling logs a refused request with its traceback (``django.request``),
    which buries real errors; here the line names the path and the reason only.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, PermissionDenied):
            return None
        reason = str(exception) or "You may not open this page."
        log.warning("403 %s %s: %s", request.method, request.path, reason)
        return render(request, "403.html", {"reason": reason}, status=403)
