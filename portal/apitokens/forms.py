from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from portal.ui.forms import LinesField, PortalModelForm

from .models import ApiToken

LIFETIMES = [
    ("7", "7 days"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "1 year"),
    ("never", "Never (until revoked)"),
]


class TokenForm(PortalModelForm):
    allowed_ips = LinesField(
        label="Allowed addresses",
        required=False,
        help_text="One address or network per line (203.0.113.7, 198.51.100.0/24); empty: from anywhere.",
    )
    lifetime = forms.ChoiceField(
        label="Expires after",
        choices=LIFETIMES,
        initial="90",
        help_text="A token that expires limits the harm if it leaks; you can always make a new one.",
    )

    fieldsets = [
        ("Token", ["description", "write_enabled", "lifetime"], ""),
        ("Where from", ["allowed_ips"], "Limit the token to the addresses of the system that will use it."),
    ]

    class Meta:
        model = ApiToken
        fields = ["description", "write_enabled", "allowed_ips"]

    def expires_at(self) -> dt.datetime | None:
        lifetime = self.cleaned_data["lifetime"]
        return None if lifetime == "never" else timezone.now() + dt.timedelta(days=int(lifetime))
