from django.contrib import admin

from portal.core.admin import ScopedAdmin, WriteOnlySecretForm, write_only_field

from .models import Trunk


class TrunkAdminForm(WriteOnlySecretForm):
    secret_field = "password"
    new_password = write_only_field("Set a new trunk password")

    class Meta:
        model = Trunk
        exclude = ["password"]


@admin.register(Trunk)
class TrunkAdmin(ScopedAdmin):
    form = TrunkAdminForm
    list_display = ["name", "customer", "type", "channels_in", "channels_out", "enabled", "sync_badge"]
    list_filter = ["type", "enabled", "sync_state", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["customer"]
    search_fields = ["name", "customer__name", "host", "default_cli", "numbers__e164"]
    autocomplete_fields = ["customer"]
