"""Branding of a reseller's self-service pages: the only writers of Branding."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from .colours import validate_primary_colour
from .images import logo_type
from .models import Branding

log = logging.getLogger(__name__)


def branding_of(reseller) -> Branding:
    """The reseller's branding (an unsaved, empty one until a manager sets it)."""
    return Branding.objects.filter(reseller=reseller).first() or Branding(reseller=reseller)


@transaction.atomic
def set_branding(reseller, *, actor=None, logo: bytes | None = None, remove_logo: bool = False, **fields) -> Branding:
    """Change the reseller's branding; ``logo`` (the uploaded bytes) replaces the logo.

    Every value is checked before anything is saved: a refused colour or logo changes nothing.
    """
    branding = branding_of(reseller)
    errors: dict[str, list[str]] = {}
    if fields.get("primary_colour"):
        try:
            fields["primary_colour"] = validate_primary_colour(fields["primary_colour"])
        except ValidationError as exc:
            errors["primary_colour"] = exc.messages
    if fields.get("login_host") is not None:
        fields["login_host"] = fields["login_host"].strip().lower().rstrip(".") or None
    for name, value in fields.items():
        setattr(branding, name, value)
    if logo is not None:
        try:
            branding.logo_type = logo_type(logo)
            branding.logo = logo
        except ValidationError as exc:
            errors["logo"] = exc.messages
    elif remove_logo:
        branding.logo, branding.logo_type = b"", ""
    try:
        branding.full_clean(exclude=["logo", "logo_type", "public_key"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    branding.save()
    log.info("branding of reseller %s changed by user %s", reseller.pk, getattr(actor, "pk", None))
    return branding
