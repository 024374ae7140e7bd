"""API tokens: how a reseller's own systems (CRM, billing) log in to the REST API.

A token is shown once, when it is made: ``rpt_<key>.<secret>``. The portal keeps the
public ``key`` (to find the token and to name it in lists) and an HMAC-SHA256 digest of
the secret under a server-side pepper (``API_TOKEN_PEPPERS``), never the secret itself:
a copy of the database alone cannot be used to call the API, nor to check guesses.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.tenancy.scoping import ScopedQuerySet


class TokenState(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ApiTokenQuerySet(ScopedQuerySet):
    def usable(self):
        now = timezone.now()
        unexpired = models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        return self.filter(unexpired, revoked_at__isnull=True)


class ApiToken(models.Model):
    """One user's token: it acts with that user's scope and role, never more."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    key = models.CharField(max_length=16, unique=True, help_text="The token's public part: names it, finds it.")
    digest = models.CharField(max_length=64, help_text="HMAC-SHA256 of the secret part under the pepper.")
    pepper_id = models.CharField(max_length=16, help_text="Which of API_TOKEN_PEPPERS made the digest.")
    description = models.CharField(
        max_length=120, help_text="What uses it, e.g. “Billing system (nightly sync)”: for you and your colleagues."
    )
    write_enabled = models.BooleanField(
        "may change things",
        default=False,
        help_text="Off: the token can only read. On: it can also create, change and delete, as you can.",
    )
    allowed_ips = models.JSONField(
        "allowed addresses",
        default=list,
        blank=True,
        help_text="Addresses or networks the token may be used from; empty: anywhere.",
    )
    expires_at = models.DateTimeField("expires", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField("last used", null=True, blank=True)
    last_used_ip = models.GenericIPAddressField("last used from", null=True, blank=True)
    revoked_at = models.DateTimeField("revoked", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()
    reseller_path = "user__staff_membership__reseller"
    customer_path = None  # the API is for reseller staff

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.description} ({self.prefix})"

    @property
    def prefix(self) -> str:
        """How lists name the token: its public part, which is also how it starts."""
        return f"rpt_{self.key}"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return TokenState.REVOKED
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return TokenState.EXPIRED
        return TokenState.ACTIVE

    def get_state_display(self) -> str:
        return TokenState(self.state).label
