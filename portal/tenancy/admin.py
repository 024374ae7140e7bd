from django.contrib import admin

from portal.core.admin import ScopedAdmin, ScopedTabularInline

from .models import Reseller, Role, StaffMembership


class StaffMembershipInline(ScopedTabularInline):
    model = StaffMembership
    roles = (Role.MANAGER,)
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]


@admin.register(Reseller)
class ResellerAdmin(ScopedAdmin):
    roles = (Role.MANAGER,)
    reseller_filter = False
    list_display = ["name", "slug", "require_staff_mfa", "created_at"]
    list_filter = ["require_staff_mfa"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StaffMembershipInline]

    # Managers look after their own reseller; creating and removing tenants is the platform's job.
    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(StaffMembership)
class StaffMembershipAdmin(ScopedAdmin):
    roles = (Role.MANAGER,)
    list_display = ["user", "reseller", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "reseller"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "reseller__name"]
    autocomplete_fields = ["user"]
