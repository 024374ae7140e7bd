from django.contrib import admin

from portal.core.admin import ServiceAdmin, WriteOnlySecretForm, write_only_field

from .models import Subscriber
from .services import create_subscriber, delete_subscriber, reset_sip_password, update_subscriber


class SubscriberAdminForm(WriteOnlySecretForm):
    secret_field = "sip_password"
    # Left blank, create_subscriber generates one: a SIP account without a password would be
    # open to anyone who guesses the username.
    blank_on_add = "generate a strong one"
    new_sip_password = write_only_field("Set a new SIP password")

    class Meta:
        model = Subscriber
        exclude = ["sip_password"]


@admin.register(Subscriber)
class SubscriberAdmin(ServiceAdmin):
    form = SubscriberAdminForm
    list_display = ["username", "domain", "display_name", "customer", "primary_number", "status", "sync_badge"]
    list_filter = ["status", "sync_state", ("carrier_account", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["customer", "primary_number"]
    search_fields = ["username", "domain", "display_name", "customer__name", "primary_number__e164"]
    autocomplete_fields = ["customer", "primary_number"]
    actions = [*ServiceAdmin.actions, "reset_passwords"]

    def create_object(self, request, fields):
        typed = fields.pop("sip_password") or None
        subscriber, password = create_subscriber(actor=request.user, password=typed, **fields)
        if typed is None:
            self.reveal_once(request, subscriber, "SIP password", password)
        return subscriber

    def update_object(self, request, subscriber, changes):
        return update_subscriber(subscriber, actor=request.user, **changes)

    def delete_object(self, request, subscriber):
        delete_subscriber(subscriber, actor=request.user)

    @admin.action(description="Reset the SIP password of the selected subscribers")
    def reset_passwords(self, request, queryset):
        for subscriber in queryset:
            self.reveal_once(request, subscriber, "SIP password", reset_sip_password(subscriber, actor=request.user))
