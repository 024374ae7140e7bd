from __future__ import annotations

from django.conf import settings
from django.db import models

from .scoping import ScopedQuerySet


class Role(models.TextChoices):
    MANAGER = "manager", "Manager"
    AGENT = "agent", "Agent"


class Reseller(models.Model):
    """A tenant: a business that resells VoIP services to its own customers."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    require_staff_mfa = models.BooleanField(
        "require MFA for staff",
        default=False,
        help_text="Staff must set up an authenticator app before they can use the portal.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    reseller_path = "pk"
    customer_path = None  # customer users see no reseller records

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StaffMembership(models.Model):
    """Makes a user staff of exactly one reseller, with a role."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_membership")
    reseller = models.ForeignKey(Reseller, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = None

    class Meta:
        ordering = ["reseller", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} at {self.reseller})"
