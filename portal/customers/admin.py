from django.contrib import admin

from portal.core.admin import ScopedAdmin

from .models import Customer, CustomerLogin


@admin.register(Customer)
class CustomerAdmin(ScopedAdmin):
    list_display = [
        "name",
        "reseller",
        "status",
        "contact_name",
        "email",
        "external_ref",
        "carrier_account",
        "sync_badge",
    ]
    list_filter = ["status", "sync_state", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["reseller", "carrier_account"]
    search_fields = ["name", "contact_name", "email", "phone", "external_ref"]


@admin.register(CustomerLogin)
class CustomerLoginAdmin(ScopedAdmin):
    list_display = ["user", "customer", "created_at"]
    list_select_related = ["user", "customer"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "customer__name"]
    autocomplete_fields = ["user", "customer"]
