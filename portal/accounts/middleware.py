from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse


class RequireMfaMiddleware:
    """Sends staff of a reseller that requires MFA to set it up before anything else."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        access = getattr(request, "access", None)
        if access is not None and access.mfa_required and not access.has_mfa:
            allowed = (reverse("mfa_index"), "/accounts/", "/static/", "/healthz")
            if not request.path.startswith(allowed):
                return redirect("mfa_activate_totp")
        return self.get_response(request)
