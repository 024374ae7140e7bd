"""allauth's hooks: invite-only logins, the client address, the lockout message, TOTP keys encrypted."""

from __future__ import annotations

import time

from allauth.account import app_settings as account_settings
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.authentication import get_authentication_records
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator

from portal.core import crypto


class InviteOnlyAccountAdapter(DefaultAccountAdapter):
    """Nobody signs up: staff invite their colleagues and their customers' users."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        # The per-address lock lasts minutes and a password reset lifts it: say so, or a person
        # locked out by someone else's guesses would only be told to wait.
        "too_many_login_attempts": "Too many failed login attempts. Try again in a few minutes, "
        "or reset your password: that unlocks the login at once.",
    }

    def is_open_for_signup(self, request) -> bool:
        return False

    def get_client_ip(self, request) -> str:
        # ClientAddressMiddleware has already put the trusted client address here (BEHIND_PROXY).
        return request.META["REMOTE_ADDR"]

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """allauth asks for the password again before any change to MFA.

        Not while someone who has just logged in with their password sets up their first
        authenticator (the page MFA enrolment sends them to) and looks at the recovery codes
        allauth shows right after: asking again at once only confuses.
        """
        required = super().is_reauthentication_required(app=app, **kwargs)
        if required and app == "allauth.mfa":
            from .mfa import enrolled_in_session

            request = context.request
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and _logged_in_recently(request):
                return not (enrolled_in_session(request) or not Authenticator.objects.filter(user=user).exists())
        return required


def _logged_in_recently(request) -> bool:
    records = [r for r in get_authentication_records(request, request.user) if r.get("method") == "password"]
    return bool(records) and time.time() - records[-1]["at"] < account_settings.REAUTHENTICATION_TIMEOUT


class EncryptingMfaAdapter(DefaultMFAAdapter):
    """TOTP keys and recovery-code seeds are encrypted at rest like every other secret.

    ``decrypt`` also reads a value stored before this adapter (plain), and the key rotation
    command re-encrypts them with the first key.
    """

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        if encrypted_text.startswith(crypto.PREFIX):
            return crypto.decrypt(encrypted_text)
        return encrypted_text
