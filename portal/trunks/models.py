from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from portal.core.fields import EncryptedTextField
from portal.core.validators import normalise_e164, validate_host, validate_ip_or_cidr, validate_line_password
from portal.sync.models import Provisioned
from portal.tenancy.scoping import ScopedQuerySet


class TrunkType(models.TextChoices):
    IP = "ip", "IP-authenticated"
    AUTH = "auth", "Username and password"


class Trunk(Provisioned):
    """A SIP trunk of a customer: how its PBX reaches the carrier."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="trunks")
    name = models.CharField(max_length=80)
    type = models.CharField(max_length=8, choices=TrunkType.choices, default=TrunkType.IP)
    allowed_ips = models.JSONField(
        "allowed IPs", default=list, blank=True, help_text="Addresses or networks the PBX calls from (192.0.2.10, 192.0.2.0/24)."
    )
    host = models.CharField(max_length=253, blank=True, help_text="The PBX address calls are sent to, where the carrier needs it.")
    password = EncryptedTextField(blank=True, help_text="For username/password trunks; shown once.")
    password_shown_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the password was shown, the one time it is."
    )
    channels_in = models.PositiveIntegerField(
        "concurrent inbound calls", null=True, blank=True, validators=[MaxValueValidator(10000)]
    )
    channels_out = models.PositiveIntegerField(
        "concurrent outbound calls", null=True, blank=True, validators=[MaxValueValidator(10000)]
    )
    default_cli = models.CharField("default CLI", max_length=20, blank=True)
    force_cli = models.BooleanField("always present the default CLI", default=False)
    max_cost_per_minute = models.DecimalField(
        max_digits=8, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    max_cost_per_call = models.DecimalField(
        max_digits=8, decimal_places=4, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    enabled = models.BooleanField(default=True)

    objects = ScopedQuerySet.as_manager()
    reseller_path = "customer__reseller"
    customer_path = "customer"
    # The carriers generate a trunk's password (shown once): the engine stores it.
    ENGINE_FIELDS = Provisioned.ENGINE_FIELDS + ("password",)

    class Meta:
        ordering = ["customer", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "name"],
                name="trunk_name_unique_per_customer",
                violation_error_message="This customer already has a trunk with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, list[str] | str] = {}
        if not isinstance(self.allowed_ips, list):
            errors["allowed_ips"] = "Give a list of addresses or networks."
        else:
            messages = []
            for value in self.allowed_ips:
                try:
                    validate_ip_or_cidr(str(value))
                except ValidationError as exc:
                    messages.extend(exc.messages)
            if messages:
                errors["allowed_ips"] = messages
            elif self.type == TrunkType.IP and not self.allowed_ips:
                errors["allowed_ips"] = "An IP-authenticated trunk needs at least one address."
        if self.default_cli:
            try:
                self.default_cli = normalise_e164(self.default_cli)
            except ValidationError as exc:
                errors["default_cli"] = exc.messages
        if self.force_cli and not self.default_cli:
            errors["default_cli"] = "Set a default CLI to always present it."
        if self.host:
            try:
                validate_host(self.host)
            except ValidationError as exc:
                errors["host"] = exc.messages
        try:
            validate_line_password(self.password, username=self.name)
        except ValidationError as exc:
            errors["password"] = exc.messages
        if errors:
            raise ValidationError(errors)
