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


# ------------------------------------------------------------------ secrets, hosts, countries
# SIP and trunk passwords: what every carrier accepts. Sipwise C5 checks 12 to 40 characters
# (when its password rules are on) and refuses a password containing the username; Simotel
# writes trunk secrets into "key=value" option lines and register strings (user:secret@host),
# where ":", "@", ";", "=", "#" and spaces break the line. RFC 3986's unreserved characters
# need no quoting anywhere (URL, JSON, Asterisk option lines).
SECRET_MIN_LENGTH = 12
SECRET_MAX_LENGTH = 40
SECRET_PUNCTUATION = "-._~"
_SECRET_CHARACTERS = re.compile(rf"^[A-Za-z0-9{re.escape(SECRET_PUNCTUATION)}]*$")


def validate_line_password(value: str, *, username: str = "") -> None:
    """Check a new SIP or trunk password (one read back from storage is judged no more).

    Raises one ValidationError listing every rule the password breaks.
    """
    from .fields import StoredSecret

    if not value or isinstance(value, StoredSecret):
        return
    problems = []
    if not SECRET_MIN_LENGTH <= len(value) <= SECRET_MAX_LENGTH:
        problems.append(f"Use {SECRET_MIN_LENGTH} to {SECRET_MAX_LENGTH} characters (this one has {len(value)}).")
    if not _SECRET_CHARACTERS.match(value):
        problems.append(
            f"Use only letters, digits and {' '.join(SECRET_PUNCTUATION)}: some carriers refuse other characters."
        )
    if not (any(c.islower() for c in value) and any(c.isupper() for c in value) and any(c.isdigit() for c in value)):
        problems.append("Mix lower-case and capital letters and digits.")
    if username and len(username) >= 3 and username.lower() in value.lower():
        problems.append("The password must not contain the username.")
    if problems:
        raise ValidationError(problems, code="password_policy")


_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^(?=.{{1,253}}$)(?:{_HOST_LABEL}\.)+[A-Za-z][A-Za-z0-9-]{{0,61}}[A-Za-z0-9]$")


def validate_host(value: str) -> None:
    """A host name (pbx.example.com) or an IP address, without scheme, port or path."""
    value = (value or "").strip()
    try:
        ipaddress.ip_address(value)
        return
    except ValueError:
        pass
    if not _HOST_NAME.match(value):
        raise ValidationError(
            "“%(value)s” is neither a host name (pbx.example.com) nor an IP address (192.0.2.10).",
            code="host",
            params={"value": value},
        )


# ISO 3166-1 alpha-2: the officially assigned codes.
ISO_COUNTRY_CODES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
    BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK
    FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS
    IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM
    MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS
    PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK
    TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split()
)


def normalise_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code in capitals (``gb`` → ``GB``), or ValidationError."""
    code = (value or "").strip().upper()
    if code not in ISO_COUNTRY_CODES:
        raise ValidationError(
            "“%(value)s” is not a country code: use the two letters of ISO 3166 (GB, IE, DE…).",
            code="country",
            params={"value": value},
        )
    return code
