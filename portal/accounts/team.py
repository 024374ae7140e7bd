"""The team pages (managers): who is on the staff, their role, MFA and last login; invite,
change role, deactivate, require MFA. On the generic staff views."""

from __future__ import annotations

import django_filters
import django_tables2 as tables
from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import redirect
from django.utils.safestring import mark_safe

from portal.tenancy.models import Reseller, Role, StaffMembership
from portal.ui import rights
from portal.ui.tables import PortalTable
from portal.ui.views import Action, BulkActionView, ObjectActionView, ObjectDetailView, ObjectListView, Tab

from . import services
from .forms import StaffInviteForm, StaffMfaForm
from .models import Invitation


def _role_action(role: str, label: str) -> Action:
    return Action(
        f"make-{role}", label, lambda m, actor: services.change_role(m, role, actor=actor),
        lambda m: (f"{m.user} becomes a {role}." + (" Managers also run carrier accounts and the team."
                                                    if role == Role.MANAGER else " Agents manage customers and their services.")),
        done=f"{{obj}}: now a {role}.", right=rights.MANAGE, applies=lambda m: m.role != role,
        refusal=lambda m: services.role_change_refusal(m, getattr(m, "viewer", None)),
    )


TEAM_ACTIONS = [
    _role_action(Role.MANAGER, "Make manager"),
    _role_action(Role.AGENT, "Make agent"),
    Action("deactivate", "Deactivate", lambda m, actor: services.deactivate_staff(m, actor=actor),
           lambda m: f"{m.user} can no longer log in, and is logged out everywhere now. What they did stays in the "
                     "history. You can reactivate the login later.",
           done="{obj}: deactivated and logged out.", right=rights.MANAGE, danger=True,
           applies=lambda m: m.user.is_active,
           refusal=lambda m: services.deactivation_refusal(m, getattr(m, "viewer", None))),
    Action("reactivate", "Reactivate", lambda m, actor: services.reactivate_staff(m, actor=actor),
           lambda m: f"{m.user} can log in again with their password.", done="{obj}: can log in again.",
           right=rights.MANAGE, applies=lambda m: not m.user.is_active),
]


class TeamFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    role = django_filters.ChoiceFilter(choices=Role.choices, empty_label="Any role")
    active = django_filters.BooleanFilter(field_name="user__is_active", label="Login", widget=forms.Select(
        choices=[("", "Active or not"), ("true", "Active"), ("false", "Deactivated")]))
    mfa = django_filters.BooleanFilter(field_name="has_mfa", label="Authenticator app", widget=forms.Select(
        choices=[("", "With or without"), ("true", "Has one"), ("false", "Has none")]))

    class Meta:
        model = StaffMembership
        fields = ["q", "role", "active", "mfa"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["q"].extra["widget"] = forms.TextInput(attrs={"type": "search", "placeholder": "Name or e-mail"})

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(user__email__icontains=value) | Q(user__first_name__icontains=value)
                               | Q(user__last_name__icontains=value))


class TeamTable(PortalTable):
    name = tables.Column(accessor="user", verbose_name="Name", linkify=("team_member_detail", [tables.A("pk")]),
                         order_by=("user__first_name", "user__last_name"))
    email = tables.Column(accessor="user__email", verbose_name="E-mail")
    role = tables.Column()
    active = tables.BooleanColumn(accessor="user__is_active", verbose_name="Login", yesno="Active,Deactivated")
    has_mfa = tables.BooleanColumn(verbose_name="Authenticator app", yesno="Yes,No")
    last_login = tables.DateTimeColumn(accessor="user__last_login", verbose_name="Last login", format="j M Y H:i",
                                       default="never")

    class Meta(PortalTable.Meta):
        model = StaffMembership
        fields = ("select", "name", "email", "role", "active", "has_mfa", "last_login")
        sequence = fields
        empty_text = "No staff."

    def render_has_mfa(self, value):
        return "Yes" if value else mark_safe('<span class="sync-error-text">No</span>')


class TeamViewMixin:
    model = StaffMembership
    right = rights.MANAGE

    def get_object(self):
        membership = super().get_object()
        membership.viewer = self.request.user  # what one may not do to one's own login is said before the click
        return membership

    def verbose_name(self):
        return "colleague"

    def verbose_name_plural(self):
        return "colleagues"

    def base_queryset(self):
        if self.access.reseller_id is None:
            raise PermissionDenied("Platform admins manage logins in the admin.")
        totp = Authenticator.objects.filter(user=OuterRef("user"), type=Authenticator.Type.TOTP)
        return (StaffMembership.objects.for_request(self.request).filter(reseller_id=self.access.reseller_id)
                .select_related("user").annotate(has_mfa=Exists(totp)))


class TeamListView(TeamViewMixin, ObjectListView):
    filterset_class = TeamFilterSet
    table_class = TeamTable
    template_name = "accounts/team.html"
    actions = TEAM_ACTIONS
    list_url_name = "team"
    bulk_url_name = "team_bulk"
    title = "Team"

    def reseller(self) -> Reseller:
        return Reseller.objects.for_request(self.request).get(pk=self.access.reseller_id)

    def get(self, request, *args, invite_form=None, **kwargs):
        self.base_queryset()  # a platform admin without a reseller is refused here
        reseller = self.reseller()
        self.extra = {
            "reseller": reseller,
            "invitations": Invitation.objects.for_request(request).pending().filter(customer__isnull=True),
            "invite_form": invite_form or StaffInviteForm(reseller=reseller),
            "mfa_form": StaffMfaForm(instance=reseller),
            "without_mfa": self.base_queryset().filter(has_mfa=False, user__is_active=True).count(),
        }
        return super().get(request, *args, **kwargs)

    def results(self, request, fixed=None, url=None):
        context = super().results(request, fixed, url)
        context.update(getattr(self, "extra", {}))
        return context

    def post(self, request, *args, **kwargs):
        """Invite a colleague (the form sits under the list)."""
        reseller = self.reseller()
        form = StaffInviteForm(request.POST, reseller=reseller)
        if form.is_valid():
            try:
                invitation = services.invite_staff(
                    reseller=reseller, email=form.cleaned_data["email"], role=form.cleaned_data["role"],
                    invited_by=request.user, site_url=request.build_absolute_uri("/"),
                )
            except services.ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Invitation sent to {invitation.email}.")
                return redirect("team")
        return self.get(request, invite_form=form)


class TeamBulkView(TeamViewMixin, BulkActionView):
    actions = TEAM_ACTIONS
    list_url_name = "team"


class TeamMemberDetailView(TeamViewMixin, ObjectDetailView):
    url_name = "team_member_detail"
    list_url_name = "team"
    actions = TEAM_ACTIONS
    tabs = [Tab("overview", "Overview", "accounts/_member.html"), Tab("history", "History", "ui/_history.html")]

    def extra_context(self, membership):
        from portal.ui.history import history_of

        return {"entries": history_of(membership) if self.kwargs.get("tab") == "history" else None}


class TeamActionView(TeamViewMixin, ObjectActionView):
    actions = TEAM_ACTIONS
    detail_url_name = "team_member_detail"
    list_url_name = "team"
