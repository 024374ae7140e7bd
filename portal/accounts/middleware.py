from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from .mfa import session_passed_mfa


class RequireMfaMiddleware:
    """Where MFA is required (staff of a reseller that asks for it, platform admins), a
    session must have passed it, on every page and the admin alike.

    - No authenticator yet: every page sends the user to set one up. allauth's pages (under
      ``/accounts/``: TOTP setup, recovery codes, e-mail, logout) stay reachable, or the user
      could never comply.
    - An authenticator, but this session never showed a code (it began before the
      authenticator was added): the session ends, and the login (with its MFA step) follows.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        access = getattr(request, "access", None)
        if access is None or not access.mfa_required or self.always_open(request.path):
            return self.get_response(request)
        if not access.has_mfa:
            if request.path.startswith("/accounts/"):
                return self.get_response(request)
            if not getattr(request, "htmx", False):
                messages.info(request, "Your login must use an authenticator app: set one up here to continue.")
            return self.send(request, reverse("mfa_activate_totp"))
        if not session_passed_mfa(request):
            logout(request)
            messages.info(request, "Log in again with your authenticator app's code to continue.")
            return self.send(request, f"{reverse('account_login')}?{urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})}")
        return self.get_response(request)

    @staticmethod
    def always_open(path: str) -> bool:
        return path.startswith(("/" + settings.STATIC_URL.lstrip("/"), reverse("healthz")))

    @staticmethod
    def send(request, url: str):
        if getattr(request, "htmx", False):
            # An htmx request would swap the page into a fragment: make the browser go there.
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return redirect(url)
