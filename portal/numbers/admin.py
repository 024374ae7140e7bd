from django.contrib import admin

from portal.core.admin import ScopedTabularInline, ServiceAdmin

from .models import EmergencyAddress, Number, NumberStatus
from .services import add_number, release_number, update_number


class EmergencyAddressInline(ScopedTabularInline):
    """Shown, not edited here: the number's page saves it through numbers.services.set_emergency_address."""

    model = EmergencyAddress
    fields = ["name", "premises", "thoroughfare", "locality", "postcode"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Number)
class NumberAdmin(ServiceAdmin):
    inlines = [EmergencyAddressInline]
    list_display = ["e164", "reseller", "customer", "status", "routed_to", "carrier_account", "sync_badge"]
    list_filter = ["status", "sync_state", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["reseller", "customer", "subscriber", "trunk", "carrier_account"]
    search_fields = ["e164", "customer__name", "subscriber__username", "trunk__name", "destination"]
    autocomplete_fields = ["customer", "subscriber", "trunk"]
    actions = [*ServiceAdmin.actions, "release"]

    @admin.display(description="routed to")
    def routed_to(self, number):
        return number.subscriber or number.trunk or number.destination or "—"

    def create_object(self, request, fields):
        return add_number(actor=request.user, **fields)

    def update_object(self, request, number, changes):
        return update_number(number, actor=request.user, **changes)

    # A number is released, never deleted: the carrier gets it back and the row stays as history.
    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Sync now: push the selected numbers to their carrier")
    def sync_now(self, request, queryset):
        # A released number is no longer ours: pushing it would take it back from the carrier.
        return super().sync_now(request, queryset.exclude(status=NumberStatus.RELEASED))

    @admin.action(description="Release the selected numbers back to their carrier")
    def release(self, request, queryset):
        numbers = list(queryset.exclude(status=NumberStatus.RELEASED))
        for number in numbers:
            release_number(number, actor=request.user)
        self.message_user(request, f"Released {len(numbers)} number{'s' if len(numbers) != 1 else ''}.")
