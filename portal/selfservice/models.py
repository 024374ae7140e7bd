from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from portal.tenancy.scoping import ScopedQuerySet


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class PhoneSettingsLinkQuerySet(ScopedQuerySet):
    def usable(self):
        return self.filter(revealed_at__isnull=True, expires_at__gt=timezone.now())


class PhoneSettingsLink(models.Model):
    """A one-time link, mailed to a phone's user, that shows a SIP account's new password once.

    Only a digest of the link's token is kept, so the link cannot be rebuilt from the
    database; the password is the SIP account's own (encrypted there), and a digest of
    it tells whether it is still the one the link was made for. The mail carries the
    link and the account's username and domain, never the password.
    """

    VALID_FOR = timedelta(hours=24)

    subscriber = models.ForeignKey("subscribers.Subscriber", on_delete=models.CASCADE, related_name="settings_links")
    email = models.EmailField(help_text="Where the link was sent.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    password_digest = models.CharField(max_length=64, editable=False)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revealed_at = models.DateTimeField(null=True, blank=True)

    objects = PhoneSettingsLinkQuerySet.as_manager()
    reseller_path = "subscriber__customer__reseller"
    customer_path = "subscriber__customer"

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Phone settings of {self.subscriber} sent to {self.email}"

    @property
    def expired(self) -> bool:
        return self.revealed_at is None and self.expires_at <= timezone.now()

    def issue_token(self) -> str:
        """A fresh token (its digest kept) and expiry; returns the token, for the mail only."""
        token = secrets.token_urlsafe(32)
        self.token_hash = token_digest(token)
        self.expires_at = timezone.now() + self.VALID_FOR
        return token
