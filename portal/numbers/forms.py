from __future__ import annotations

from django import forms

from portal.carriers.models import CarrierAccount
from portal.customers.models import Customer
from portal.subscribers.models import Subscriber
from portal.trunks.models import Trunk
from portal.ui.forms import (
    DestinationField,
    LinesField,
    PickerField,
    national_format,
    PortalModelForm,
    parse_number,
    region_of,
)

from .models import EmergencyAddress, Number


class NumberRoutingForm(PortalModelForm):
    """Who has the number and where its calls go: a SIP account, a trunk, or a destination."""

    customer = PickerField("customer", Customer.objects.none(), required=False,
                           help_text="Leave empty to keep the number in your stock.")
    subscriber = PickerField("subscriber", Subscriber.objects.none(), required=False, label="SIP account",
                             help_text="Calls ring this SIP account.")
    trunk = PickerField("trunk", Trunk.objects.none(), required=False, help_text="Or: calls go to this trunk.")
    destination = DestinationField(required=False, help_text="Or: calls go to this number or SIP address "
                                   "(07911 123456, sip:desk@pbx.example.com).")

    fieldsets = [
        ("Customer", ["customer"], ""),
        ("Where calls go", ["subscriber", "trunk", "destination"], "Choose one: a SIP account, a trunk or a destination."),
    ]

    class Meta:
        model = Number
        fields = ["customer", "subscriber", "trunk", "destination"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.request
        self.fields["customer"].queryset = Customer.objects.for_request(request)
        raw = self.data.get("customer") if self.is_bound else None
        customer = None
        if raw and str(raw).isdigit():
            customer = Customer.objects.for_request(request).filter(pk=int(raw)).first()
        elif not self.is_bound and self.instance.customer_id:
            customer = self.instance.customer
        self.fields["destination"].region = region_of(customer)
        subscribers = Subscriber.objects.for_request(request).select_related("customer", "primary_number")
        trunks = Trunk.objects.for_request(request).select_related("customer")
        self.fields["subscriber"].queryset = subscribers
        self.fields["trunk"].queryset = trunks
        if customer is None:
            for name in ("subscriber", "trunk"):
                self.fields[name].queryset = self.fields[name].queryset.none()
                self.fields[name].help_text = "Choose the customer first."
        else:
            self.fields["subscriber"].limit(customer=customer)
            self.fields["trunk"].limit(customer=customer)

    def clean(self):
        cleaned = super().clean()
        targets = [n for n in ("subscriber", "trunk", "destination") if cleaned.get(n)]
        if len(targets) > 1:
            raise forms.ValidationError("Choose one place for the calls: a SIP account, a trunk or a destination.")
        return cleaned


class NumberSearchForm(forms.Form):
    """What to look for in a carrier's available numbers."""

    carrier_account = forms.ModelChoiceField(queryset=CarrierAccount.objects.none(), empty_label=None)
    area_code = forms.CharField(required=False, max_length=12, label="Area code",
                                help_text="As dialled at home, e.g. 020 or 0161; or international, e.g. +44161.",
                                widget=forms.TextInput(attrs={"inputmode": "tel"}))
    contains = forms.CharField(required=False, max_length=12, label="Digits anywhere",
                               help_text="e.g. 1234 for a memorable number.",
                               widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    count = forms.TypedChoiceField(choices=[(10, "10"), (20, "20"), (50, "50")], coerce=int, initial=20, label="How many")
    block = forms.TypedChoiceField(coerce=int, required=False, empty_value=0, label="Numbers in a row",
                                   help_text="A block of consecutive numbers (e.g. for a PBX's DDI range), "
                                             "where the carrier offers them.")

    def __init__(self, *args, request=None, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        scoped = CarrierAccount.objects.for_request(request).filter(enabled=True)
        self.fields["carrier_account"].queryset = scoped
        self.fields["carrier_account"].label_from_instance = lambda a: f"{a.name} ({a.get_kind_display()})"
        accounts = list(scoped)
        sizes = sorted({size for account in accounts for size in account.capabilities.number_blocks})
        if sizes:
            offered_by = ", ".join(sorted({a.get_kind_display() for a in accounts if a.capabilities.number_blocks}))
            self.fields["block"].choices = [("", "No: single numbers")] + [(n, f"A block of {n}") for n in sizes]
            self.fields["block"].help_text += f" Offered by {offered_by}."
        else:
            del self.fields["block"]  # none of the reseller's carriers offers blocks

    def clean(self):
        cleaned = super().clean()
        account, block = cleaned.get("carrier_account"), cleaned.get("block")
        if account is not None and block and block not in account.capabilities.number_blocks:
            label = account.get_kind_display()
            self.add_error("block", f"{label} offers no consecutive blocks through its API: search for single numbers."
                           if not account.capabilities.number_blocks else f"{label} offers no block of {block}.")
        return cleaned

    def clean_area_code(self):
        """An area code typed nationally becomes an E.164 prefix (0161 → +44161)."""
        import phonenumbers

        value = "".join(c for c in self.cleaned_data["area_code"] if c.isdigit() or c == "+")
        if not value or value.startswith("+"):
            return value
        if value.startswith("00"):
            return "+" + value[2:]
        code = phonenumbers.country_code_for_region(region_of())
        return f"+{code}{value.lstrip('0')}"

    def clean_contains(self):
        value = self.cleaned_data["contains"].strip()
        if value and not value.isdigit():
            raise forms.ValidationError("Digits only.")
        return value


def found_label(available) -> str:
    """“020 3438 8901 · 1.00 · gold”: the number as people read it, and the carrier's quote."""
    extras = [part for part in (available.price, available.tier) if part]
    return " · ".join([national_format(available.e164), *extras])


class NumberAllocateForm(forms.Form):
    """Numbers to take onto a carrier account: picked from a search, a consecutive block
    (taken whole), or typed (already held)."""

    carrier_account = forms.ModelChoiceField(queryset=CarrierAccount.objects.none(), empty_label=None)
    block = forms.MultipleChoiceField(required=False, widget=forms.MultipleHiddenInput)
    picked = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, label="Numbers found")
    typed = LinesField(required=False, label="Or type numbers",
                       help_text="One per line, as you would dial them (020 7946 0001) or international (+44 20…).")
    customer = PickerField("customer", Customer.objects.none(), required=False,
                           help_text="Give them straight to this customer, or leave empty to keep them in stock.")

    def __init__(self, *args, request=None, found=(), block=(), **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["carrier_account"].queryset = CarrierAccount.objects.for_request(request).filter(enabled=True)
        self.fields["carrier_account"].label_from_instance = lambda a: f"{a.name} ({a.get_kind_display()})"
        self.fields["customer"].queryset = Customer.objects.for_request(request)
        picked = self.data.getlist("picked") if self.is_bound else []
        labels = {n.e164: found_label(n) for n in found}
        self.fields["picked"].choices = [(n, labels.get(n, national_format(n))) for n in dict.fromkeys([*labels, *picked])]
        if not self.fields["picked"].choices:
            self.fields["picked"].widget = forms.MultipleHiddenInput()
        in_block = self.data.getlist("block") if self.is_bound else [n.e164 for n in block]
        self.fields["block"].choices = [(n, n) for n in in_block]
        self.initial.setdefault("block", [n.e164 for n in block])

    @property
    def block_numbers(self) -> list[str]:
        """The consecutive block on offer (E.164, in order), taken whole."""
        return [value for value, _ in self.fields["block"].choices]

    def clean(self):
        cleaned = super().clean()
        block = cleaned.get("block") or []
        digits = [int(n[1:]) if n.startswith("+") and n[1:].isdigit() else None for n in block]
        if None in digits or any(b != a + 1 for a, b in zip(digits, digits[1:])):
            # The block travels in hidden fields: its error is the form's, shown above it.
            raise forms.ValidationError("A block is numbers in a row: search for it again.")
        region = region_of(cleaned.get("customer"))
        cleaned["found"] = list(dict.fromkeys([*(cleaned.get("block") or []), *(cleaned.get("picked") or [])]))
        numbers, problems = list(cleaned["found"]), []
        for line in cleaned.get("typed") or []:
            try:
                numbers.append(parse_number(line, region))
            except forms.ValidationError as exc:
                problems.append(f"{line}: {exc.messages[0]}")
        if problems:
            self.add_error("typed", problems)
        elif not numbers:
            raise forms.ValidationError("Pick at least one number from the search, or type one.")
        cleaned["typed_numbers"] = [n for n in dict.fromkeys(numbers) if n not in cleaned["found"]]
        return cleaned


class EmergencyAddressForm(PortalModelForm):
    intro = "Where the line is, for the emergency services. Every line is needed."

    class Meta:
        model = EmergencyAddress
        fields = ["name", "premises", "thoroughfare", "locality", "postcode"]
