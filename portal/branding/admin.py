from django.contrib import admin

from portal.core.admin import ScopedAdmin
from portal.tenancy.models import Role

from .models import Branding


@admin.register(Branding)
class BrandingAdmin(ScopedAdmin):
    """Read-only here: managers change their branding on their Branding page (its checks live there)."""

    roles = (Role.MANAGER,)
    list_display = ["reseller", "portal_name", "primary_colour", "login_host", "updated_at"]
    readonly_fields = ["reseller", "portal_name", "primary_colour", "logo_type", "support_email", "support_phone",
                       "support_url", "login_host", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
