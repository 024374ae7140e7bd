from django.contrib import admin

from portal.core.admin import ServiceAdmin, WriteOnlySecretForm, write_only_field

from .models import Trunk
from .services import create_trunk, delete_trunk, update_trunk


class TrunkAdminForm(WriteOnlySecretForm):
    secret_field = "password"
    new_password = write_only_field("Set a new trunk password")

    class Meta:
        model = Trunk
        exclude = ["password"]


@admin.register(Trunk)
class TrunkAdmin(ServiceAdmin):
    form = TrunkAdminForm
    list_display = ["name", "customer", "type", "channels_in", "channels_out", "enabled", "sync_badge"]
    list_filter = ["type", "enabled", "sync_state", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["customer"]
    search_fields = ["name", "customer__name", "host", "default_cli", "numbers__e164"]
    autocomplete_fields = ["customer"]

    def create_object(self, request, fields):
        return create_trunk(actor=request.user, **fields)

    def update_object(self, request, trunk, changes):
        return update_trunk(trunk, actor=request.user, **changes)

    def delete_object(self, request, trunk):
        delete_trunk(trunk, actor=request.user)
