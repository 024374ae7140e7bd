from django.contrib import admin

from portal.core.admin import ScopedAdmin, ServiceAdmin

from .models import Customer, CustomerLogin
from .services import create_customer, delete_customer, update_customer


@admin.register(Customer)
class CustomerAdmin(ServiceAdmin):
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

    def create_object(self, request, fields):
        return create_customer(actor=request.user, **fields)

    def update_object(self, request, customer, changes):
        return update_customer(customer, actor=request.user, **changes)

    def delete_object(self, request, customer):
        delete_customer(customer, actor=request.user)


@admin.register(CustomerLogin)
class CustomerLoginAdmin(ScopedAdmin):
    list_display = ["user", "customer", "created_at"]
    list_select_related = ["user", "customer"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "customer__name"]
    autocomplete_fields = ["user", "customer"]
