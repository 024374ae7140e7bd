from __future__ import annotations

from portal.customers.forms import CustomerServiceForm
from portal.numbers.models import Number
from portal.ui.forms import PickerField

from .models import Subscriber


class SubscriberForm(CustomerServiceForm):
    primary_number = PickerField("number", Number.objects.none(), required=False,
                                 help_text="The number this SIP account calls from and is reached on.")

    fieldsets = [
        ("SIP account", ["customer", "username", "display_name", "domain"], ""),
        ("Numbers and carrier", ["primary_number", "carrier_account"], ""),
    ]
    intro = "A new SIP password is made for the account and shown to you once after saving."

    class Meta:
        model = Subscriber
        fields = ["customer", "username", "display_name", "domain", "primary_number", "carrier_account"]
        help_texts = {
            "username": "What the phone logs in with, e.g. 201 or kira.lee.",
            "display_name": "Who uses it, e.g. Kira (reception).",
            "domain": "The SIP domain (sip.example.com). Left empty on carriers that give each account its own domain.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].required = False
        numbers = self.fields["primary_number"]
        numbers.queryset = Number.objects.for_request(self.request).select_related("customer", "subscriber", "trunk")
        if self.customer is not None:
            numbers.limit(customer=self.customer)
            account = self.customer.carrier_account
            if account is not None and account.capabilities.fixed_sip_domain and not self.instance.pk:
                domain = account.settings.get("domain", "")
                self.fields["domain"].initial = domain
                self.fields["domain"].help_text = f"{account.get_kind_display()} keeps its SIP accounts in {domain}."
        else:
            numbers.queryset = numbers.queryset.none()
            numbers.help_text = "Choose the customer first: its numbers are offered here."
