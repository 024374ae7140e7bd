from django.contrib import admin

from portal.core.admin import ScopedAdmin

from .models import Number


@admin.register(Number)
class NumberAdmin(ScopedAdmin):
    list_display = ["e164", "reseller", "customer", "status", "routed_to", "carrier_account", "sync_badge"]
    list_filter = ["status", "sync_state", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["reseller", "customer", "subscriber", "trunk", "carrier_account"]
    search_fields = ["e164", "customer__name", "subscriber__username", "trunk__name", "destination"]
    autocomplete_fields = ["customer", "subscriber", "trunk"]

    @admin.display(description="routed to")
    def routed_to(self, number):
        return number.subscriber or number.trunk or number.destination or "—"
