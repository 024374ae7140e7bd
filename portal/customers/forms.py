from __future__ import annotations

from django import forms

from portal.carriers.models import CarrierAccount
from portal.ui import rights
from portal.ui.forms import DEFAULT_REGION, PhoneNumberField, PortalModelForm

from .models import Customer


class CustomerForm(PortalModelForm):
    phone = PhoneNumberField(required=False, help_text="As you would dial it, e.g. 020 7946 0000 or +1 212 555 0100.")
    country = forms.CharField(
        max_length=2, initial=DEFAULT_REGION, help_text="Two letters (GB, IE, US…): numbers typed without +country are read in this country.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 3}),
    )

    fieldsets = [
        ("Customer", ["name", "external_ref", "carrier_account"], ""),
        ("Contact", ["contact_name", "email", "phone"], ""),
        ("Address", ["address_line1", "address_line2", "city", "postcode", "country"], ""),
        ("Self-service", ["self_service_routing"], "What the customer's own logins may change on their pages."),
    ]

    class Meta:
        model = Customer
        fields = ["name", "external_ref", "carrier_account", "contact_name", "email", "phone",
                  "address_line1", "address_line2", "city", "postcode", "country", "self_service_routing"]
        help_texts = {"external_ref": "Your CRM or billing reference, if any; unique among your customers."}

    def __init__(self, *args, reseller=None, **kwargs):
        super().__init__(*args, **kwargs)
        country = (self.data.get("country") or (self.instance.country if self.instance else "") or DEFAULT_REGION)
        self.fields["phone"].region = country.strip().upper()[:2] or DEFAULT_REGION
        accounts = CarrierAccount.objects.for_request(self.request).filter(enabled=True)
        if reseller is not None:
            accounts = accounts.filter(reseller=reseller)
        self.fields["self_service_routing"].required = False
        account_field = self.fields["carrier_account"]
        account_field.queryset = accounts
        account_field.required = True
        account_field.empty_label = None
        account_field.help_text = "Where this customer's SIP accounts, numbers and trunks are provisioned by default."
        if not self.instance.pk:
            account_field.initial = accounts.values_list("pk", flat=True).first()
        elif not rights.may(self.access, rights.CHANGE_CARRIER_ACCOUNT):
            account_field.disabled = True
            account_field.help_text = rights.REFUSALS[rights.CHANGE_CARRIER_ACCOUNT]

    def clean_self_service_routing(self):
        # Not posted (a form of an older page, a script): the customer keeps what it has.
        return self.cleaned_data.get("self_service_routing") or self.instance.self_service_routing

    def clean_country(self):
        country = self.cleaned_data["country"].strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise forms.ValidationError("Use the two-letter country code, e.g. GB.")
        return country


class CustomerServiceForm(PortalModelForm):
    """Base of the forms of what a customer has (SIP accounts, trunks).

    The customer is chosen first (fixed when editing, or given as ``?customer=``); the
    pickers then offer only that customer's things. The carrier account defaults to the
    customer's own, and an object a carrier holds is never saved without one.
    """

    customer = forms.ModelChoiceField(queryset=Customer.objects.none(), help_text="Whose it is.")
    carrier_account = forms.ModelChoiceField(queryset=CarrierAccount.objects.none(), required=False)

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        from portal.ui.forms import PickerSelect, region_of

        customers = Customer.objects.for_request(self.request).select_related("carrier_account")
        field = self.fields["customer"]
        field.queryset = customers
        field.label_from_instance = lambda c: f"{c.name}" + (f" · {c.external_ref}" if c.external_ref else "")
        field.widget = PickerSelect("customer")
        field.widget.choices = field.choices
        if self.instance.pk:
            customer = self.instance.customer
            field.disabled = True
        elif customer is None and self.data.get(self.add_prefix("customer"), "").isdigit():
            customer = customers.filter(pk=int(self.data[self.add_prefix("customer")])).first()
        if customer is not None:
            field.initial = customer.pk
        self.customer = customer
        self.region = region_of(customer)
        for each in self.fields.values():
            if isinstance(each, PhoneNumberField):
                each.region = self.region

        accounts = CarrierAccount.objects.for_request(self.request).filter(enabled=True)
        account = self.fields["carrier_account"]
        account.queryset = accounts
        own = customer.carrier_account if customer is not None and customer.carrier_account_id else None
        account.empty_label = f"The customer's own: {own}" if own else "The customer's own (choose the customer first)"
        account.help_text = "Where this is provisioned. Leave it on the customer's own unless you know otherwise."
        if self.instance.pk:
            account.empty_label = None
            account.required = True
            if not rights.may(self.access, rights.CHANGE_CARRIER_ACCOUNT):
                account.disabled = True
                account.help_text = rights.REFUSALS[rights.CHANGE_CARRIER_ACCOUNT]

    def clean(self):
        cleaned = super().clean()
        customer = cleaned.get("customer") or self.customer
        if customer is not None and not cleaned.get("carrier_account"):
            if customer.carrier_account_id:
                cleaned["carrier_account"] = customer.carrier_account
                self.instance.carrier_account = customer.carrier_account
            else:
                self.add_error("carrier_account", f"{customer} has no carrier account: choose where to provision this.")
        return cleaned
