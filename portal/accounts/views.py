"""Pages around invitations: the team page, inviting customer users, accepting a link."""

from __future__ import annotations

from allauth.account import views as allauth_views
from allauth.account.utils import perform_login
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from portal.customers.models import Customer
from portal.tenancy.models import Reseller, StaffMembership
from portal.tenancy.permissions import manager_required, staff_required

from . import services
from .forms import AcceptInvitationForm, CustomerUserInviteForm, StaffInviteForm, StaffMfaForm
from .models import Invitation


def _site_url(request) -> str:
    return request.build_absolute_uri("/")


def _own_reseller(request) -> Reseller:
    return get_object_or_404(Reseller.objects.for_request(request), pk=request.access.reseller_id)


@manager_required
def team(request):
    """The reseller's staff and pending staff invitations; POST invites a colleague."""
    reseller = _own_reseller(request)
    invite_form = StaffInviteForm(request.POST or None, reseller=reseller)
    if request.method == "POST" and invite_form.is_valid():
        try:
            invitation = services.invite_staff(
                reseller=reseller,
                email=invite_form.cleaned_data["email"],
                role=invite_form.cleaned_data["role"],
                invited_by=request.user,
                site_url=_site_url(request),
            )
        except ValidationError as exc:
            invite_form.add_error(None, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("team")
    context = {
        "reseller": reseller,
        "members": StaffMembership.objects.for_request(request).select_related("user"),
        "invitations": Invitation.objects.for_request(request).pending().filter(customer__isnull=True),
        "invite_form": invite_form,
        "mfa_form": StaffMfaForm(instance=reseller),
    }
    return render(request, "accounts/team.html", context)


@manager_required
@require_POST
def team_mfa(request):
    form = StaffMfaForm(request.POST, instance=_own_reseller(request))
    if form.is_valid():
        reseller = form.save()
        if reseller.require_staff_mfa:
            messages.success(request, "Staff now need an authenticator app to use the portal.")
        else:
            messages.success(request, "An authenticator app is now optional for staff.")
    return redirect("team")


@staff_required
@require_POST
def revoke_invitation(request, pk: int):
    invitation = get_object_or_404(Invitation.objects.for_request(request).pending(), pk=pk)
    if invitation.is_for_staff and not request.access.is_manager:
        raise PermissionDenied("Only managers can revoke staff invitations.")
    services.revoke_invitation(invitation)
    messages.success(request, f"The invitation to {invitation.email} was revoked.")
    if invitation.is_for_staff:
        return redirect("team")
    return redirect("customer_detail", pk=invitation.customer_id)


@staff_required
def invite_customer_user(request, pk: int):
    """Invite a self-service user of one customer (the form also sits on the customer page)."""
    customer = get_object_or_404(Customer.objects.for_request(request), pk=pk)
    form = CustomerUserInviteForm(request.POST or None, reseller=customer.reseller)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite_customer_user(
                customer=customer,
                email=form.cleaned_data["email"],
                invited_by=request.user,
                site_url=_site_url(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("customer_detail", pk=customer.pk)
    return render(request, "accounts/invite_customer_user.html", {"customer": customer, "form": form})


@never_cache
@sensitive_post_parameters("password1", "password2")
def accept_invitation(request, token: str):
    """The page the invitation link opens: set a password, then land at home logged in."""
    invitation = Invitation.from_token(token)
    if invitation is None:
        return _unusable(request)
    form = AcceptInvitationForm(request.POST or None, invitation=invitation)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.accept_invitation(
                invitation,
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except services.InvitationUnusable:
            return _unusable(request)
        return _log_in(request, user)
    return render(request, "accounts/accept_invitation.html", {"invitation": invitation, "form": form})


def _unusable(request):
    return render(request, "accounts/invitation_unusable.html", status=410)


def _log_in(request, user):
    # allauth's login flow (not django.contrib.auth.login) so its hooks and stages run as for any login.
    return perform_login(request, user, redirect_url=reverse("home"))


class EmailView(allauth_views.EmailView):
    """allauth's e-mail page, where an unverified address can never be made the login's address.

    allauth lets a login without any verified address promote an unverified one; with
    ACCOUNT_CHANGE_EMAIL the new address takes over only when its link is followed.
    """

    def _action_primary(self, request, *args, **kwargs):
        email_address = self._get_email_address(request)
        if email_address is not None and not email_address.verified:
            messages.error(
                request, f"Follow the link we mailed to {email_address.email} first: it becomes your address then."
            )
            return redirect("account_email")
        return super()._action_primary(request, *args, **kwargs)


email = EmailView.as_view()
