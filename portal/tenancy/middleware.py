from __future__ import annotations

from portal.core import context

from .scoping import access_for


class TenancyMiddleware:
    """Resolves ``request.access`` once and labels the log lines of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.access = access_for(request.user)
        if request.user.is_authenticated:
            context.user_label.set(str(request.user.pk))
            if request.access.reseller_id is not None:
                context.reseller_label.set(str(request.access.reseller_id))
        return self.get_response(request)
