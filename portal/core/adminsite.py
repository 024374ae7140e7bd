"""The admin site: no login of its own, and the same MFA rule as every other page.

Django's admin has its own login form, which knows nothing of allauth: no rate limit, no
lockout, no MFA step. Here ``/admin/login/`` only sends people to allauth's login (with
``next`` pointing back), and the admin opens only to a session that passed MFA where the
user must use it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from .admin_input import RefusesMalformedInput


class PortalAdminSite(admin.AdminSite):
    site_header = "Reseller Portal administration"
    site_title = "Reseller Portal admin"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every model admin, other apps' too, answers malformed list queries and selections with a 400."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, RefusesMalformedInput):
            admin_class = type(
                admin_class.__name__, (RefusesMalformedInput, admin_class), {"__module__": admin_class.__module__}
            )
        return super().register(model_or_iterable, admin_class, **options)

    def has_permission(self, request) -> bool:
        from portal.accounts.mfa import session_passed_mfa
        from portal.tenancy.scoping import access_for

        if not super().has_permission(request):
            return False
        access = getattr(request, "access", None) or access_for(request.user)
        return not access.mfa_required or session_passed_mfa(request)

    def login(self, request, extra_context=None):
        """Never a login form: allauth's login, then back to where the admin was going."""
        next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
        if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
            next_url = ""
        next_url = next_url or reverse("admin:index", current_app=self.name)
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(next_url)
            # Logged in, but not for the admin (not staff, or MFA still owed: the MFA
            # middleware has sent the latter elsewhere before this point).
            raise PermissionDenied("This login cannot use the admin.")
        return redirect(f"{reverse('account_login')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")

    def password_change(self, request, extra_context=None):
        # allauth's page: it asks for the current password, and the address hears of the change.
        return redirect("account_change_password")
