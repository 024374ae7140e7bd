from __future__ import annotations

from portal.customers.forms import CustomerServiceForm
from portal.ui.forms import LinesField, PhoneNumberField

from .models import Trunk
from .services import HELD_AS


class TrunkForm(CustomerServiceForm):
    allowed_ips = LinesField(required=False, label="Allowed IPs",
                             help_text="One address or network per line, e.g. 192.0.2.10 or 192.0.2.0/24.")
    default_cli = PhoneNumberField(required=False, label="Default CLI",
                                   help_text="The number shown to the people called, e.g. 020 7946 0000.")

    fieldsets = [
        ("Trunk", ["customer", "name", "type", "enabled", "carrier_account"], ""),
        ("How the PBX connects", ["allowed_ips", "host"], ""),
        ("Limits and caller ID", ["channels_in", "channels_out", "default_cli", "force_cli",
                                  "max_cost_per_minute", "max_cost_per_call"], ""),
    ]

    class Meta:
        model = Trunk
        fields = ["customer", "name", "type", "enabled", "carrier_account", "allowed_ips", "host", "channels_in",
                  "channels_out", "default_cli", "force_cli", "max_cost_per_minute", "max_cost_per_call"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.not_held = []
        account = self.instance.carrier_account if self.instance.carrier_account_id else (
            self.customer.carrier_account if self.customer is not None else None)
        if account is None:
            return
        caps = account.capabilities
        label = account.get_kind_display()
        if not caps.trunks:
            self.intro = f"{label} holds no SIP trunks: choose another carrier account for this trunk."
            return
        # Offer only what the carrier can hold, and say what is left out and why.
        for field, spec_field in HELD_AS.items():
            if spec_field not in caps.trunk_fields and field in self.fields and not getattr(self.instance, field, None):
                self.not_held.append(str(self.fields[field].label or field))
                del self.fields[field]
        self.fields["type"].choices = [(v, l) for v, l in self.fields["type"].choices if v in caps.trunk_types]
        if self.not_held:
            self.intro = f"{label} cannot hold {', '.join(self.not_held).lower()} on a trunk, so they are not offered."
        if "auth" in caps.trunk_types:
            self.fields["type"].help_text = (f"With username and password, {label} makes the password; "
                                             "you see it once when the trunk is first synced.")
