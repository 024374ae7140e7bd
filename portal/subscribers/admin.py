from django.contrib import admin

from portal.core.admin import ScopedAdmin, WriteOnlySecretForm, write_only_field

from .models import Subscriber, generate_sip_password


class SubscriberAdminForm(WriteOnlySecretForm):
    secret_field = "sip_password"
    blank_on_add = "generate a strong one"
    new_sip_password = write_only_field("Set a new SIP password")

    class Meta:
        model = Subscriber
        exclude = ["sip_password"]

    def secret_for_blank_add(self) -> str:
        # A SIP account without a password would be open to anyone who guesses the username.
        return generate_sip_password()


@admin.register(Subscriber)
class SubscriberAdmin(ScopedAdmin):
    form = SubscriberAdminForm
    list_display = ["username", "domain", "display_name", "customer", "primary_number", "status", "sync_badge"]
    list_filter = ["status", "sync_state", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["customer", "primary_number"]
    search_fields = ["username", "domain", "display_name", "customer__name", "primary_number__e164"]
    autocomplete_fields = ["customer", "primary_number"]
