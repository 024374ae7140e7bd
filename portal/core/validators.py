"""Validation of the values a VoIP portal lives on: E.164 numbers, SIP URIs, IPs."""

from __future__ import annotations

import ipaddress
import re

import phonenumbers
from django.core.exceptions import ValidationError

# user@host or host, with an optional port and URI parameters; the scheme is sip or sips.
SIP_URI_RE = re.compile(
    r"^sips?:(?:(?P<user>[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+)@)?"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>\d{1,5}))?(?P<params>(?:;[A-Za-z0-9\-_.!~*'()%]+(?:=[A-Za-z0-9\-_.!~*'()%]+)?)*)$"
)


def normalise_e164(value: str) -> str:
    """Return ``value`` as E.164 (``+441632960001``) or raise ValidationError.

    Accepts spaces, dashes and brackets, but the number must be international (start
    with ``+`` or ``00``): a reseller serves several countries, so a national number is
    ambiguous.
    """
    raw = (value or "").strip()
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if not raw.startswith("+"):
        raise ValidationError(
            "Enter the number in international format, starting with + and the country code "
            "(e.g. +44 20 7946 0000).",
            code="e164_prefix",
        )
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ValidationError("“%(value)s” is not a phone number.", code="e164", params={"value": value}) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            "“%(value)s” is not a valid number for its country.", code="e164_invalid", params={"value": value}
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def validate_e164(value: str) -> None:
    if normalise_e164(value) != value:
        raise ValidationError(
            "Store numbers in E.164 form without spaces (e.g. +442079460000).", code="e164_form"
        )


def validate_sip_uri(value: str) -> None:
    match = SIP_URI_RE.match(value or "")
    if not match:
        raise ValidationError(
            "“%(value)s” is not a SIP URI (e.g. sip:alice@pbx.example.com).", code="sip_uri", params={"value": value}
        )
    port = match.group("port")
    if port and not 0 < int(port) < 65536:
        raise ValidationError("The port of a SIP URI must be between 1 and 65535.", code="sip_port")


def normalise_destination(value: str) -> str:
    """A forward destination: a SIP URI as given, or a phone number as E.164."""
    value = (value or "").strip()
    if value.lower().startswith(("sip:", "sips:")):
        validate_sip_uri(value)
        return value
    try:
        return normalise_e164(value)
    except ValidationError:
        raise ValidationError(
            "“%(value)s” is neither an international phone number (+44…) nor a SIP URI (sip:user@host).",
            code="destination",
            params={"value": value},
        ) from None


def validate_ip_or_cidr(value: str) -> None:
    try:
        ipaddress.ip_network((value or "").strip(), strict=True)
    except ValueError as exc:
        reason = "host bits are set; use the network address" if "host bits" in str(exc) else "not an IP address or CIDR"
        raise ValidationError(
            "“%(value)s” is %(reason)s (e.g. 192.0.2.10 or 192.0.2.0/24).",
            code="ip_or_cidr",
            params={"value": value, "reason": reason},
        ) from None
