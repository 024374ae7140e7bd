"""Whether this session passed MFA, which is what a login that must use MFA needs.

Having an authenticator is not enough: a session that began before the authenticator was
added (or by any path around allauth's MFA stage) never showed a code. A session passed MFA
when allauth recorded an MFA step in it (the code asked at login), or when its user added
their first authenticator in it (which means typing a code from the new app).
"""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.account.signals import password_reset
from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added
from django.dispatch import receiver

ENROLLED_IN_SESSION = "portal_mfa_enrolled_user"


def session_passed_mfa(request) -> bool:
    user = request.user
    if not user.is_authenticated:
        return False
    if any(record.get("method") == "mfa" for record in get_authentication_records(request, user)):
        return True
    return enrolled_in_session(request)


def enrolled_in_session(request) -> bool:
    """The user added their first authenticator in this session."""
    return request.user.is_authenticated and request.session.get(ENROLLED_IN_SESSION) == str(request.user.pk)


@receiver(authenticator_added)
def _note_enrolment(sender, request, user, authenticator, **kwargs):
    if request is not None and authenticator.type == Authenticator.Type.TOTP:
        request.session[ENROLLED_IN_SESSION] = str(user.pk)


@receiver(password_reset)
def _unlock_login(sender, request, user, **kwargs):
    """allauth lifts the failed-login lock of the user's EmailAddress rows after a reset;
    a login made by hand (no row yet) is locked under ``user.email``, so lift that one too."""
    from allauth.account.adapter import get_adapter

    get_adapter(request)._delete_login_attempts_cached_email(request, email=user.email)
