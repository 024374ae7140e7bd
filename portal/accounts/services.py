"""Invitations: the only way a person gets a login to the portal.

Staff invite colleagues (managers only) and their customers' users; the invitation
mail carries a one-time link to ``/invite/<token>/``, where the invitee sets a
password. Views, the admin and any future API call these functions, never the models
directly, so the rules (one login per email, one use per link) hold everywhere.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import Invitation

log = logging.getLogger(__name__)


class InvitationUnusable(Exception):
    """The link has been used, revoked or has expired, or its email got a login meanwhile."""


def _login_use_of(email: str, *, other_than=None) -> str | None:
    """``"login"`` if a login has ``email`` as its address, ``"changing"`` if one is changing to
    it (an added address whose link was not followed yet), else None. ``other_than``: a user left out."""
    from allauth.account.models import EmailAddress

    users = get_user_model().objects.filter(email__iexact=email)
    addresses = EmailAddress.objects.filter(email__iexact=email)
    if other_than is not None:
        users = users.exclude(pk=other_than.pk)
        addresses = addresses.exclude(user_id=other_than.pk)
    if users.exists():
        return "login"
    return "changing" if addresses.exists() else None


def address_is_taken(email: str, *, by_other_than=None) -> bool:
    """Whether ``email`` is, or is about to be, another login's address, or a pending invitation's."""
    return (
        _login_use_of(email, other_than=by_other_than) is not None
        or Invitation.objects.pending().filter(email__iexact=email).exists()
    )


def check_invitable(email: str, reseller) -> None:
    """Raise ValidationError (on ``email``) if ``email`` cannot be invited to ``reseller``."""
    email = email.strip().lower()
    use = _login_use_of(email)
    if use == "login":
        raise ValidationError({"email": "This email address already has a login."}, code="has_login")
    if use == "changing":
        raise ValidationError({"email": "Another login is changing to this address."}, code="address_pending")
    if Invitation.objects.pending().filter(reseller=reseller, email__iexact=email).exists():
        raise ValidationError(
            {"email": "An invitation to this address is already pending; revoke it to send a new one."},
            code="pending",
        )


def invite_staff(*, reseller, email: str, role: str, invited_by, site_url: str) -> Invitation:
    """Invite a colleague to ``reseller`` as ``role`` (manager or agent) and mail the link."""
    return _invite(
        Invitation(reseller=reseller, email=email, role=role, invited_by=invited_by), site_url=site_url
    )


def invite_customer_user(*, customer, email: str, invited_by, site_url: str) -> Invitation:
    """Invite a self-service user of ``customer`` and mail the link."""
    return _invite(
        Invitation(reseller=customer.reseller, customer=customer, email=email, invited_by=invited_by),
        site_url=site_url,
    )


def _invite(invitation: Invitation, *, site_url: str) -> Invitation:
    invitation.email = invitation.email.strip().lower()
    check_invitable(invitation.email, invitation.reseller)
    token = invitation.issue_token()
    invitation.full_clean()
    with transaction.atomic():
        invitation.save()
        link = site_url.rstrip("/") + reverse("accept_invitation", args=[token])
        # Mail only once the invitation is stored: a link must never point at nothing.
        transaction.on_commit(lambda: _send_invitation_mail(invitation, link))
    log.info("invitation %s created for %s", invitation.pk, "staff" if invitation.is_for_staff else "customer user")
    return invitation


def _send_invitation_mail(invitation: Invitation, link: str) -> None:
    context = {"invitation": invitation, "link": link, "reseller": invitation.reseller, "customer": invitation.customer}
    subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
    body = render_to_string("accounts/email/invitation_message.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])


def revoke_invitation(invitation: Invitation) -> None:
    invitation.revoked = True
    invitation.save(update_fields=["revoked"])
    log.info("invitation %s revoked", invitation.pk)


def accept_invitation(invitation: Invitation, *, password: str, first_name: str = "", last_name: str = ""):
    """Create the invitee's login (with its staff role or customer) and use up the invitation.

    Raises InvitationUnusable if the invitation was used in the meantime (two tabs, a
    replayed link) or its email got a login some other way.
    """
    from allauth.account.models import EmailAddress

    from portal.customers.models import CustomerLogin
    from portal.tenancy.models import StaffMembership

    User = get_user_model()
    try:
        with transaction.atomic():
            # A conditional update claims the invitation, so two concurrent accepts cannot both win.
            claimed = Invitation.objects.pending().filter(pk=invitation.pk).update(accepted_at=timezone.now())
            if not claimed:
                raise InvitationUnusable
            user = User.objects.create_user(
                email=invitation.email, password=password, first_name=first_name, last_name=last_name
            )
            # The invitation mail proved the address, so allauth may treat it as verified.
            EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
            if invitation.is_for_staff:
                StaffMembership.objects.create(user=user, reseller_id=invitation.reseller_id, role=invitation.role)
            else:
                CustomerLogin.objects.create(user=user, customer_id=invitation.customer_id)
    except IntegrityError:
        raise InvitationUnusable from None
    log.info("invitation %s accepted by user %s", invitation.pk, user.pk)
    return user


# ------------------------------------------------------------------------------ the team
def _team_refusal(membership, actor, *, leaving_managers: bool) -> str | None:
    from portal.tenancy.models import Role, StaffMembership

    if actor is not None and membership.user_id == getattr(actor, "pk", None):
        return "You cannot do this to your own login: ask another manager."
    if leaving_managers and membership.role == Role.MANAGER and membership.user.is_active:
        others = StaffMembership.objects.filter(reseller_id=membership.reseller_id, role=Role.MANAGER,
                                                user__is_active=True).exclude(pk=membership.pk)
        if not others.exists():
            return "The team keeps at least one active manager: make someone else a manager first."
    return None


def role_change_refusal(membership, actor=None) -> str | None:
    return _team_refusal(membership, actor, leaving_managers=True)


def deactivation_refusal(membership, actor=None) -> str | None:
    return _team_refusal(membership, actor, leaving_managers=True)


def change_role(membership, role: str, *, actor=None):
    """Make a colleague a manager or an agent."""
    from portal.core.audit import acting_as
    from portal.tenancy.models import Role

    if role not in Role.values:
        raise ValidationError({"role": "Choose manager or agent."})
    refusal = role_change_refusal(membership, actor) if role != membership.role else None
    if refusal:
        raise ValidationError(refusal)
    with transaction.atomic(), acting_as(actor):
        membership.role = role
        membership.save(update_fields=["role"])
    log.info("staff membership %s made %s by %s", membership.pk, role, getattr(actor, "pk", None))
    return membership


def deactivate_staff(membership, *, actor=None):
    """The login can no longer log in, and the sessions it has now end at once."""
    refusal = deactivation_refusal(membership, actor)
    if refusal:
        raise ValidationError(refusal)
    user = membership.user
    with transaction.atomic():
        type(user).objects.filter(pk=user.pk).update(is_active=False)
        ended = end_sessions(user)
        _audit_login(membership, actor, ["active", "deactivated"])
    user.is_active = False
    log.info("user %s deactivated by %s; %s sessions ended", user.pk, getattr(actor, "pk", None), ended)
    return membership


def reactivate_staff(membership, *, actor=None):
    user = membership.user
    with transaction.atomic():
        type(user).objects.filter(pk=user.pk).update(is_active=True)
        _audit_login(membership, actor, ["deactivated", "active"])
    user.is_active = True
    log.info("user %s reactivated by %s", user.pk, getattr(actor, "pk", None))
    return membership


def _audit_login(membership, actor, change: list[str]) -> None:
    """The login's state is the user's, which the audit log does not follow: record it on the membership."""
    from auditlog.models import LogEntry

    from portal.core.audit import acting_as, file_entry

    with acting_as(actor):
        entry = LogEntry.objects.log_create(membership, force_log=True, action=LogEntry.Action.UPDATE,
                                            changes={"login": change}, actor=actor)
    file_entry(entry, membership)


def end_sessions(user) -> int:
    """Delete every session of ``user`` (database sessions: each is read to find its user)."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    ended = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk):
            ended.append(session.session_key)
    Session.objects.filter(session_key__in=ended).delete()
    return len(ended)


def update_profile(user, *, first_name: str, last_name: str):
    """A login's own name, as the pages and the history show it."""
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.full_clean(exclude=["password", "email"])
    user.save(update_fields=["first_name", "last_name"])
    return user
