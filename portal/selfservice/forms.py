from __future__ import annotations

from django import forms

from portal.customers.models import SelfServiceRouting
from portal.subscribers.models import Subscriber
from portal.trunks.models import Trunk
from portal.ui.forms import DestinationField, region_of

from .words import phone_label

PHONE, TRUNK, ELSEWHERE = "subscriber", "trunk", "destination"


class RoutingForm(forms.Form):
    """Where a number's calls go: one of the customer's phones or phone systems, or (if the
    reseller allows it) any number or SIP address."""

    where = forms.ChoiceField(label="Calls to this number go to",
                              widget=forms.RadioSelect(attrs={"data-reveals": "fields"}))
    subscriber = forms.ModelChoiceField(queryset=Subscriber.objects.none(), required=False, label="Phone",
                                        empty_label="Choose a phone")
    trunk = forms.ModelChoiceField(queryset=Trunk.objects.none(), required=False, label="Phone system (trunk)",
                                   empty_label="Choose a phone system")
    destination = DestinationField(required=False, label="Number or SIP address",
                                   help_text="As you would dial it (07911 123456), or sip:desk@pbx.example.com.")

    def __init__(self, *args, request, number, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        customer = number.customer
        subscribers = Subscriber.objects.for_request(request).filter(customer=customer)
        trunks = Trunk.objects.for_request(request).filter(customer=customer)
        self.fields["subscriber"].queryset = subscribers
        self.fields["subscriber"].label_from_instance = phone_label
        self.fields["trunk"].queryset = trunks
        self.fields["destination"].region = region_of(customer)
        choices = []
        if subscribers.exists():
            choices.append((PHONE, "One of your phones"))
        if trunks.exists():
            choices.append((TRUNK, "Your phone system (trunk)"))
        if customer.self_service_routing == SelfServiceRouting.ANYWHERE:
            choices.append((ELSEWHERE, "Another number or a SIP address"))
        self.fields["where"].choices = choices
        for name in (PHONE, TRUNK, ELSEWHERE):
            if name not in dict(choices):
                del self.fields[name]

    def clean(self):
        cleaned = super().clean()
        where = cleaned.get("where")
        if where and not cleaned.get(where) and where not in self.errors:
            self.add_error(where, "Choose where the calls go." if where != ELSEWHERE else "Type the number or address.")
        return cleaned

    def values(self) -> dict:
        where = self.cleaned_data["where"]
        return {
            "subscriber": self.cleaned_data.get(PHONE) if where == PHONE else None,
            "trunk": self.cleaned_data.get(TRUNK) if where == TRUNK else None,
            "destination": self.cleaned_data.get(ELSEWHERE) or "" if where == ELSEWHERE else "",
        }


class SendSettingsForm(forms.Form):
    email = forms.EmailField(label="The phone user’s e-mail address",
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}),
                             help_text="They get the username and server, and a link that shows the new password once.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ProfileForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False, label="First name",
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(max_length=150, required=False, label="Last name",
                                widget=forms.TextInput(attrs={"autocomplete": "family-name"}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
