"""Who may call the API at all, and which tokens may write."""

from __future__ import annotations

from rest_framework import permissions

from portal.apitokens.models import ApiToken


class IsResellerStaff(permissions.BasePermission):
    """Reseller staff (managers, agents) and platform admins; customer logins get 403.

    The API is for the reseller's own systems. Customers change their own things on the
    self-service pages.
    """

    message = "The API is for reseller staff."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        access = getattr(request, "access", None)
        return access is not None and (access.is_staff or access.is_platform_admin)


class TokenMayWrite(permissions.BasePermission):
    """A read-only token reads; only a token made to write may change anything."""

    message = "This token is read-only: make a token that may change things to do this."
    code = "read_only_token"

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS or not isinstance(request.auth, ApiToken):
            return True
        return request.auth.write_enabled
