"""The REST API's token login: ``Authorization: Bearer rpt_<key>.<secret>``."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from portal.core import context
from portal.tenancy.scoping import access_for

from .services import TokenRefused, check_token

KEYWORDS = (b"bearer", b"token")


class TokenAuthentication(BaseAuthentication):
    """A token acts as its user, with the user's scope and role (``request.access``)."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None  # not ours: session authentication may still apply
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the token as “Authorization: Bearer <token>”.")
        try:
            presented = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        try:
            token = check_token(presented, ip=request.META.get("REMOTE_ADDR"))
        except TokenRefused as refused:
            if refused.status == 403:
                raise exceptions.PermissionDenied(refused.message, code=refused.code) from None
            raise exceptions.AuthenticationFailed(refused.message, code=refused.code) from None
        # The middleware resolved the scope of the session's user (none here): the token's
        # user's scope is what every query of this request is filtered by.
        access = access_for(token.user)
        request._request.access = access
        context.user_label.set(str(token.user_id))
        if access.reseller_id is not None:
            context.reseller_label.set(str(access.reseller_id))
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
