from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordMixin
from django.core.exceptions import ValidationError

from portal.tenancy.models import Reseller, Role

from . import services


class _InviteForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))

    def __init__(self, *args, reseller, **kwargs):
        super().__init__(*args, **kwargs)
        self.reseller = reseller

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        try:
            services.check_invitable(email, self.reseller)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["email"]) from None
        return email


class StaffInviteForm(_InviteForm):
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.AGENT,
        help_text="Managers can also manage carrier accounts and the team; agents manage customers.",
    )


class CustomerUserInviteForm(_InviteForm):
    pass


class StaffMfaForm(forms.ModelForm):
    class Meta:
        model = Reseller
        fields = ["require_staff_mfa"]


class AcceptInvitationForm(SetPasswordMixin, forms.Form):
    """Name and password of a new login; the password passes the site's validators."""

    first_name = forms.CharField(max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(max_length=150, required=False, widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    password1, password2 = SetPasswordMixin.create_password_fields()

    def __init__(self, *args, invitation, **kwargs):
        super().__init__(*args, **kwargs)
        self.invitation = invitation

    def clean(self):
        cleaned = super().clean()
        self.validate_passwords()
        # An unsaved user lets the similarity validator compare the password with the name and email.
        candidate = get_user_model()(
            email=self.invitation.email,
            first_name=cleaned.get("first_name", ""),
            last_name=cleaned.get("last_name", ""),
        )
        self.validate_password_for_user(candidate)
        return cleaned
