from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


class RequireMfaMiddleware:
    """Sends staff of a reseller that requires MFA to set it up before anything else.

    allauth's pages (under ``/accounts/``: TOTP setup, the reauthentication it asks for
    first, recovery codes, logout) stay reachable, or the user could never comply.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        access = getattr(request, "access", None)
        if access is not None and access.mfa_required and not access.has_mfa:
            exempt = ("/accounts/", "/" + settings.STATIC_URL.lstrip("/"), reverse("healthz"))
            if not request.path.startswith(exempt):
                setup_url = reverse("mfa_activate_totp")
                if getattr(request, "htmx", False):
                    # An htmx request would swap the setup page into a fragment: make the browser go there.
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = setup_url
                    return response
                return redirect(setup_url)
        return self.get_response(request)
