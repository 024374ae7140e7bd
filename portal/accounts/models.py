from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from portal.tenancy.scoping import ScopedQuerySet


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("A user needs an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in with an email address. Superusers are platform admins."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(ScopedQuerySet):
    def pending(self):
        return self.filter(accepted_at__isnull=True, revoked=False, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """A one-time link that lets a colleague or a customer user set a password.

    Only a hash of the token is stored, so the link cannot be rebuilt from the database.
    An invitation is either for reseller staff (``reseller`` + ``role``) or for a
    customer's user (``customer``).
    """

    VALID_FOR = timedelta(days=7)

    email = models.EmailField()
    reseller = models.ForeignKey("tenancy.Reseller", on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, blank=True, help_text="For staff invitations: manager or agent.")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    objects = InvitationQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = "customer"  # a customer's admins see (and revoke) their colleagues' invitations

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    def clean(self) -> None:
        from portal.tenancy.models import Role

        if self.customer_id is None and self.role not in Role.values:
            raise ValidationError({"role": "Choose manager or agent for a staff invitation."})
        if self.customer_id is not None and self.role:
            raise ValidationError({"role": "A customer user has no staff role."})

    def issue_token(self) -> str:
        """Set a fresh token (and expiry) and return it; only its hash is kept."""
        token = secrets.token_urlsafe(32)
        self.token_hash = _hash_token(token)
        self.expires_at = timezone.now() + self.VALID_FOR
        return token

    @classmethod
    def from_token(cls, token: str) -> Invitation | None:
        return cls.objects.pending().filter(token_hash=_hash_token(token)).first()

    @property
    def is_for_staff(self) -> bool:
        return self.customer_id is None
