from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.core.validators import normalise_country, normalise_e164
from portal.sync.models import Provisioned
from portal.tenancy.scoping import ScopedQuerySet


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    TERMINATED = "terminated", "Terminated"


class Customer(Provisioned):
    """An end customer of a reseller."""

    reseller = models.ForeignKey("tenancy.Reseller", on_delete=models.CASCADE, related_name="customers")
    name = models.CharField(max_length=160)
    contact_name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="International format, e.g. +44 20 7946 0000.")
    address_line1 = models.CharField("address line 1", max_length=120, blank=True)
    address_line2 = models.CharField("address line 2", max_length=120, blank=True)
    city = models.CharField(max_length=80, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True, default="GB", help_text="ISO 3166 code, e.g. GB.")
    external_ref = models.CharField("external reference", max_length=64, blank=True)
    status = models.CharField(max_length=12, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE)

    objects = ScopedQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = "pk"

    class Meta:
        ordering = ["name"]
        # The staff list reads a reseller's customers in name order.
        indexes = [models.Index(fields=["reseller", "name"], name="customer_reseller_name")]
        constraints = [
            models.UniqueConstraint(
                fields=["reseller", "external_ref"],
                condition=~models.Q(external_ref=""),
                name="customer_external_ref_unique",
                violation_error_message="Another customer already has this external reference.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        errors = {}
        if self.phone:
            try:
                self.phone = normalise_e164(self.phone)
            except ValidationError as exc:
                errors["phone"] = exc.messages
        if self.country:
            try:
                self.country = normalise_country(self.country)
            except ValidationError as exc:
                errors["country"] = exc.messages
        if self.carrier_account_id and self.reseller_id and self.carrier_account.reseller_id != self.reseller_id:
            errors["carrier_account"] = "That carrier account belongs to another reseller."
        if errors:
            raise ValidationError(errors)


class CustomerLogin(models.Model):
    """Lets a user log in for self-service as one customer."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_login")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="logins")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    reseller_path = "customer__reseller"
    customer_path = "customer"

    def __str__(self) -> str:
        return f"{self.user} for {self.customer}"
