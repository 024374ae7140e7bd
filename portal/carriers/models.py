from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import models

from portal.core.fields import EncryptedJSONField
from portal.tenancy.scoping import ScopedQuerySet

from .base import AccountConfig
from .kinds import KIND_FIELDS, CarrierKind

log = logging.getLogger(__name__)

# What an account may be set to (and what each carrier accepts or its API allows).
CONNECT_TIMEOUT_RANGE = (0.5, 30.0)
READ_TIMEOUT_RANGE = (1.0, 120.0)
MAX_IN_FLIGHT_RANGE = (1, 32)
RATE_LIMIT_REQUESTS_RANGE = (1, 100_000)
RATE_LIMIT_WINDOW_RANGE = (1, 86_400)


def host_allowed(host: str, patterns) -> bool:
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().strip()
        if pattern.startswith("*.") and host.endswith(pattern[1:]):
            return True
        if host == pattern:
            return True
    return False


def check_api_address(kind: str, url: str) -> str | None:
    """Why ``url`` may not be the API address of a ``kind`` account, or None if it may.

    The worker sends the account's credentials there, so only the carrier's own hosts
    (CARRIER_API_HOSTS; self-hosted platforms list theirs in the environment) are allowed,
    over HTTPS. CARRIER_ANY_HOST (DEBUG) lifts the rule; SANDBOX_CARRIERS allows exactly
    the sandbox's host and port.
    """
    if django_settings.CARRIER_ANY_HOST:
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "Enter a valid URL."
    if django_settings.SANDBOX_CARRIERS:
        sandbox = urlsplit(django_settings.SANDBOX_URL)
        if (host, port) == (sandbox.hostname, sandbox.port):
            return None
    known = django_settings.CARRIER_API_HOSTS.get(kind, [])
    label = CarrierKind(kind).label if kind in CarrierKind.values else kind
    if not known:
        return (
            f"{label} runs on the operator's own servers: the platform must list its host in "
            f"CARRIER_HOSTS_{kind.upper()} before an account can use it."
        )
    if parts.scheme != "https" or not host_allowed(host, known):
        return f"{label}'s API is at {', '.join('https://' + h for h in known)}; credentials are sent nowhere else."
    return None


class CarrierAccount(models.Model):
    """A reseller's account at a wholesale carrier, and how to reach its API."""

    reseller = models.ForeignKey("tenancy.Reseller", on_delete=models.CASCADE, related_name="carrier_accounts")
    kind = models.CharField(max_length=16, choices=CarrierKind.choices)
    name = models.CharField(max_length=120)
    base_url = models.URLField("API base URL", max_length=300)
    account_id = models.CharField("carrier account id", max_length=64, blank=True)
    credentials = EncryptedJSONField(blank=True, default=dict, help_text="Secrets; write-only.")
    settings = models.JSONField(blank=True, default=dict, help_text="Kind-specific, non-secret settings.")
    connect_timeout = models.FloatField(default=5.0)
    read_timeout = models.FloatField(default=15.0)
    rate_limit_requests = models.PositiveIntegerField(
        null=True, blank=True, help_text="Requests allowed per window; blank: the carrier's published limit."
    )
    rate_limit_window = models.PositiveIntegerField("rate limit window (seconds)", null=True, blank=True)
    max_in_flight = models.PositiveSmallIntegerField(
        default=4, help_text="Changes sent to this account at the same time, so one account cannot starve others."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    reseller_path = "reseller"
    customer_path = None

    class Meta:
        ordering = ["reseller", "name"]
        constraints = [models.UniqueConstraint(fields=["reseller", "name"], name="carrier_account_name_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @classmethod
    def from_db(cls, db, field_names, values):
        account = super().from_db(db, field_names, values)
        if {"kind", "base_url", "credentials"} <= set(field_names):
            account._stored_endpoint = (account.kind, account.base_url)
            account._stored_credentials = account.credentials
        return account

    def credentials_carried_over(self) -> bool:
        """Credentials stored for another carrier or API address, and not given again since.

        A secret belongs to the address it was issued for: pointed elsewhere, the worker
        would send it there (another carrier, or an internal address).
        """
        stored = getattr(self, "_stored_endpoint", None)
        return (
            stored is not None
            and stored != (self.kind, self.base_url)
            and bool(self.credentials)
            and self.credentials is self._stored_credentials
        )

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not isinstance(self.settings, dict):
            errors["settings"] = 'Give the settings as a JSON object, e.g. {"api_user": "portal"}.'
        if self.kind and self.base_url and (reason := check_api_address(self.kind, self.base_url)):
            errors["base_url"] = reason
        for name, (low, high) in {
            "connect_timeout": CONNECT_TIMEOUT_RANGE,
            "read_timeout": READ_TIMEOUT_RANGE,
            "max_in_flight": MAX_IN_FLIGHT_RANGE,
            "rate_limit_requests": RATE_LIMIT_REQUESTS_RANGE,
            "rate_limit_window": RATE_LIMIT_WINDOW_RANGE,
        }.items():
            value = getattr(self, name)
            if value is not None and not low <= value <= high:
                errors[name] = f"Choose between {low:g} and {high:g}."
        if (self.rate_limit_requests is None) != (self.rate_limit_window is None):
            errors.setdefault("rate_limit_window", "Give both the requests and the window, or neither.")
        if self.credentials_carried_over():
            errors["credentials"] = (
                "The carrier or its API address changed: enter the credentials again "
                "(stored ones are never sent to a new address)."
            )
        fields = KIND_FIELDS.get(self.kind)
        if fields is not None and "settings" not in errors:
            missing = [key for key in fields.settings if not str(self.settings.get(key, "")).strip()]
            if missing:
                errors["settings"] = f"{self.get_kind_display()} needs: {', '.join(missing)}."
            if fields.account_id_key and not self.account_id:
                errors["account_id"] = f"{self.get_kind_display()} needs the carrier's account id."
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        if self.credentials_carried_over():
            # Whoever skipped clean() (a script, a future page) still never sends the old secrets on.
            log.warning("carrier account %s: API address changed, stored credentials cleared", self.pk)
            self.credentials = {}
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "credentials"}
        super().save(*args, **kwargs)
        self._stored_endpoint = (self.kind, self.base_url)
        self._stored_credentials = self.credentials

    def adapter_config(self) -> AccountConfig:
        settings = dict(self.settings)
        fields = KIND_FIELDS[self.kind]
        if fields.account_id_key:
            settings[fields.account_id_key] = self.account_id
        return AccountConfig(
            base_url=self.base_url,
            credentials=dict(self.credentials),
            settings=settings,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )

    @property
    def capabilities(self):
        from . import adapter_class

        return adapter_class(self.kind).capabilities
