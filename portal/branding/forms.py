from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from portal.core.validators import validate_host
from portal.ui.forms import PhoneNumberField

from .images import MAX_LOGO_BYTES

DEFAULT_COLOUR = "#1d4ed8"  # the portal's own blue (static/css/portal.css --accent)


class BrandingForm(forms.Form):
    portal_name = forms.CharField(max_length=60, required=False, label="Portal name",
                                  help_text="What your customers see in the page title and header; your company name "
                                  "if empty.")
    primary_colour = forms.CharField(label="Primary colour", widget=forms.TextInput(attrs={"type": "color"}),
                                     help_text="Buttons and links; the header uses a darker shade. White text must "
                                     "be readable on it.")
    logo = forms.FileField(required=False, label="Logo",
                           widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}),
                           help_text=f"PNG, JPEG, GIF or WebP, up to {MAX_LOGO_BYTES // 1024} KB; shown 40 pixels "
                           "high. Not SVG.")
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")
    support_email = forms.EmailField(required=False, label="Support e-mail")
    support_phone = PhoneNumberField(required=False, label="Support phone", help_text="As you would dial it.")
    support_url = forms.URLField(required=False, label="Support page", assume_scheme="https",
                                 help_text="e.g. https://example.com/help")
    login_host = forms.CharField(max_length=253, required=False, label="Your own host name",
                                 help_text="Optional, e.g. voice.example.com: its login page shows this branding "
                                 "(the name must point at the portal; the platform adds it to ALLOWED_HOSTS).")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_logo(self):
        upload = self.cleaned_data.get("logo")
        if upload and upload.size > MAX_LOGO_BYTES:
            raise ValidationError(f"The logo is {upload.size // 1024} KB; at most {MAX_LOGO_BYTES // 1024} KB, please.")
        return upload

    def clean_primary_colour(self):
        colour = self.cleaned_data["primary_colour"].strip().lower()
        return "" if colour == DEFAULT_COLOUR else colour

    def clean_login_host(self):
        host = self.cleaned_data["login_host"].strip().lower().rstrip(".")
        if host:
            validate_host(host)
        return host

    def values(self) -> dict:
        values = dict(self.cleaned_data)
        upload = values.pop("logo", None)
        values["logo"] = upload.read() if upload else None
        return values
