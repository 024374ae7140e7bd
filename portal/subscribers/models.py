from __future__ import annotations

import re
import secrets
import string

from django.core.exceptions import ValidationError
from django.db import models

from portal.core.fields import EncryptedTextField
from portal.core.validators import validate_line_password
from portal.sync.models import Provisioned
from portal.tenancy.scoping import ScopedQuerySet

SIP_USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
PASSWORD_ALPHABET = string.ascii_letters + string.digits


def generate_sip_password(length: int = 24) -> str:
    """A strong SIP password of letters and digits (every carrier accepts those)."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
        if any(c.islower() for c in password) and any(c.isupper() for c in password) and any(
            c.isdigit() for c in password
        ):
            return password


class SubscriberStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    LOCKED = "locked", "Locked"
    TERMINATED = "terminated", "Terminated"


class Subscriber(Provisioned):
    """A SIP account (extension) of a customer."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="subscribers")
    username = models.CharField("SIP username", max_length=64)
    domain = models.CharField("SIP domain", max_length=253)
    sip_password = EncryptedTextField("SIP password", blank=True)
    display_name = models.CharField(max_length=120, blank=True)
    primary_number = models.OneToOneField(
        "numbers.Number", null=True, blank=True, on_delete=models.SET_NULL, related_name="primary_for"
    )
    status = models.CharField(max_length=12, choices=SubscriberStatus.choices, default=SubscriberStatus.ACTIVE)

    objects = ScopedQuerySet.as_manager()
    reseller_path = "customer__reseller"
    customer_path = "customer"

    class Meta:
        ordering = ["customer", "username"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "username"],
                name="subscriber_username_domain_unique",
                violation_error_message="This SIP username is already taken on this domain.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.domain}"

    @property
    def alias_numbers(self):
        return self.numbers.exclude(pk=self.primary_number_id)

    def clean(self) -> None:
        errors = {}
        if self.username and not SIP_USERNAME_RE.match(self.username):
            errors["username"] = "Use 2–64 letters, digits, dots, dashes or underscores, starting with a letter or digit."
        if self.domain and not DOMAIN_RE.match(self.domain):
            errors["domain"] = "Enter a domain name such as sip.example.com."
        try:
            validate_line_password(self.sip_password, username=self.username)
        except ValidationError as exc:
            errors["sip_password"] = exc.messages
        number = self.primary_number
        if number is not None:
            if number.subscriber_id not in (None, self.pk) or number.trunk_id is not None:
                errors["primary_number"] = f"{number.e164} is already assigned elsewhere."
            elif self.customer_id and number.customer_id not in (None, self.customer_id):
                errors["primary_number"] = f"{number.e164} belongs to another customer."
        if errors:
            raise ValidationError(errors)
