from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from portal.core.fields import EncryptedJSONField
from portal.tenancy.scoping import ScopedQuerySet

from .base import AccountConfig
from .kinds import KIND_FIELDS, CarrierKind


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

    def clean(self) -> None:
        fields = KIND_FIELDS.get(self.kind)
        if fields is None:
            return
        missing = [key for key in fields.settings if not str(self.settings.get(key, "")).strip()]
        if missing:
            raise ValidationError({"settings": f"{self.get_kind_display()} needs: {', '.join(missing)}."})
        if fields.account_id_key and not self.account_id:
            raise ValidationError({"account_id": f"{self.get_kind_display()} needs the carrier's account id."})

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
