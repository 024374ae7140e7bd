"""API tokens in the admin: read-only (a token is made on its owner's page, shown once there),
revocable through the service, scoped like every admin page; managers and platform admins."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from portal.core.admin import ScopedAdmin
from portal.tenancy.models import Role

from .models import ApiToken
from .services import revoke_token


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    roles = (Role.MANAGER,)
    list_display = ["description", "prefix", "user", "write_enabled", "allowed_ips", "expires_at", "last_used_at",
                    "last_used_ip", "state_label"]
    list_select_related = ["user"]
    search_fields = ["description", "key", "user__email"]
    list_filter = ["write_enabled"]
    exclude = ["digest", "pepper_id"]
    actions = ["revoke"]

    def has_add_permission(self, request, obj=None):
        return False  # made by their owner, who sees the secret once

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, so that its history stays

    @admin.display(description="state")
    def state_label(self, token):
        return token.get_state_display()

    @admin.action(description="Revoke the selected tokens", permissions=["view"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            try:
                revoke_token(token, actor=request.user)
            except ValidationError:
                continue  # revoked by someone else meanwhile
            revoked += 1
        self.message_user(request, f"Revoked {revoked} token{'s' if revoked != 1 else ''}.", messages.SUCCESS)
