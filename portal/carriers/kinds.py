"""What a portal carrier account of each kind must hold, to build its adapter's config.

``account_id_key`` names the setting the carrier's account id goes into; ``settings``
are plain values, ``secrets`` are encrypted at rest and write-only everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class CarrierKind(models.TextChoices):
    SIMWOOD = "simwood", "Simwood"
    SUREVOIP = "surevoip", "SureVoIP"
    SIPWISE = "sipwise", "Sipwise C5"
    SIMOTEL = "simotel", "Simotel"


@dataclass(frozen=True)
class KindFields:
    account_id_key: str | None
    settings: tuple[str, ...]
    secrets: tuple[str, ...]
    optional_settings: tuple[str, ...] = ()


KIND_FIELDS: dict[str, KindFields] = {
    CarrierKind.SIMWOOD: KindFields("account", ("api_user",), ("api_key",)),
    CarrierKind.SUREVOIP: KindFields("partner_id", ("username",), ("password",)),
    CarrierKind.SIPWISE: KindFields(
        "reseller_id", ("username", "billing_profile_id", "domain"), ("password",), ("customer_type",)
    ),
    CarrierKind.SIMOTEL: KindFields(None, ("username",), ("password", "api_key"), ("auth_mode",)),
}

FIELD_LABELS = {
    "api_user": "API user",
    "api_key": "API key",
    "username": "Username",
    "password": "Password",
    "billing_profile_id": "Billing profile id",
    "domain": "SIP domain",
    "customer_type": "Customer type",
    "auth_mode": "Authentication mode",
}
