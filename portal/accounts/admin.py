from allauth.mfa.admin import AuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.models import Group
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from portal.core.admin import RoleScopedMixin, ScopedAdmin, users_visible_to
from portal.tenancy.models import Role

from . import services
from .models import Invitation, User


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta(auth_forms.AdminUserCreationForm.Meta):
        model = User
        fields = ("email",)
        field_classes = {}


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta(auth_forms.UserChangeForm.Meta):
        model = User
        field_classes = {}


@admin.register(User)
class UserAdmin(RoleScopedMixin, DjangoUserAdmin):
    """Platform admins manage every login; a manager sees their reseller's people and may
    rename or deactivate them, but not touch their email, password or permissions."""

    roles = (Role.MANAGER,)
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff", "is_superuser", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    filter_horizontal = ()
    search_fields = ["email", "first_name", "last_name"]
    ordering = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        # What a login may do follows its role (portal/core/admin.py), not Django's groups and
        # per-model permissions, which nothing reads: they are not offered.
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    manager_fieldsets = [
        (None, {"fields": ["email"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Status", {"fields": ["is_active", "is_staff"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "usable_password", "password1", "password2"]})]

    def scoped_queryset(self, request):
        return users_visible_to(self.access(request))

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not request.user.is_superuser:
            return self.manager_fieldsets
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return ["email", "is_staff", "last_login", "date_joined"]

    # New logins come from invitations (which prove the address); only the platform creates them by hand.
    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def user_change_password(self, request, id, form_url=""):
        # Setting a colleague's password would let a manager log in as them.
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


@admin.register(Invitation)
class InvitationAdmin(ScopedAdmin):
    """Invitations are sent from the portal (which mails the link); here they are looked up and revoked."""

    roles = (Role.MANAGER,)
    list_display = ["email", "reseller", "role", "customer", "state", "invited_by", "created_at", "expires_at"]
    list_filter = ["revoked", "role"]
    list_select_related = ["reseller", "customer", "invited_by"]
    search_fields = ["email", "customer__name"]
    fields = [
        "email",
        "reseller",
        "role",
        "customer",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # An invitation is never edited (un-revoking one would bypass the invitation rules);
        # the only change is the revoke action on the list.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="state")
    def state(self, invitation):
        if invitation.accepted_at:
            return "accepted"
        if invitation.revoked:
            return "revoked"
        return "pending" if invitation.expires_at > timezone.now() else "expired"

    @admin.action(description="Revoke the selected invitations", permissions=["change"])
    def revoke(self, request, queryset):
        pending = queryset.pending()
        for invitation in pending:
            services.revoke_invitation(invitation)
        self.message_user(request, f"Revoked {len(pending)} pending invitation(s).")


# Django's groups and permissions are not how the portal decides who may do what (roles are).
admin.site.unregister(Group)

# allauth's own admin shows an authenticator's data, which holds the TOTP secret.
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class SecretFreeAuthenticatorAdmin(AuthenticatorAdmin):
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
