from __future__ import annotations

from allauth.account import forms as allauth_forms
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordMixin
from django.core.exceptions import ValidationError
from django.db import transaction

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


class AddEmailForm(allauth_forms.AddEmailForm):
    """The address a login wants to change to: never another login's, nor a pending invitation's.

    allauth hides whether an address has a login (enumeration); here a logged-in person is
    told plainly, because taking someone's address would break their login or invitation.
    The new address replaces the old one only once its link is followed (ACCOUNT_CHANGE_EMAIL).
    """

    def clean_email(self) -> str:
        email = super().clean_email()
        if services.address_is_taken(email, by_other_than=self.user):
            raise ValidationError(
                "This address belongs to another login or to a pending invitation, so it cannot be yours.",
                code="taken",
            )
        return email

    def save(self, request):
        """Add the address as the one to change to, and mail it its link.

        allauth's own version takes the login's newest unverified address for a previous
        attempt and removes it, which removes the current address itself when that one was
        never verified (a login made by hand): only earlier attempts are replaced here.
        """
        from allauth.account.models import EmailAddress

        with transaction.atomic():
            earlier_attempts = EmailAddress.objects.filter(user=self.user, verified=False).exclude(
                email__iexact=self.user.email
            )
            for earlier in earlier_attempts:
                earlier.remove()
            address = EmailAddress.objects.create(user=self.user, email=self.cleaned_data["email"])
        address.send_confirmation(request)
        return address
