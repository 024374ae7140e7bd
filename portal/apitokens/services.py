"""API tokens: make one (shown once), revoke it, and check one a request presents.

The only writers of ApiToken. A token is ``rpt_<key>.<secret>``: ``key`` finds the row,
the secret is checked against the stored HMAC digest under a server-side pepper.
Peppers come from ``API_TOKEN_PEPPERS`` (``id:secret,…``; the first makes new digests,
all check): to rotate, put a new one first. A token checked under an older pepper is
given a digest under the current one as it is used (its secret is in hand then), so the
old pepper can be dropped once the tokens in use have moved.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import secrets
import string
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from portal.core.validators import validate_ip_or_cidr

from .models import ApiToken

PREFIX = "rpt_"
KEY_LENGTH = 12
SECRET_LENGTH = 40
KEY_ALPHABET = string.ascii_lowercase + string.digits
SECRET_ALPHABET = string.ascii_letters + string.digits
TOKEN_RE = re.compile(rf"^{PREFIX}(?P<key>[a-z0-9]{{{KEY_LENGTH}}})\.(?P<secret>[A-Za-z0-9]{{{SECRET_LENGTH}}})$")
# last_used_at is written at most this often per token: a busy integration must not turn
# every read into a write.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
MAX_ALLOWED_IPS = 50


# ------------------------------------------------------------------ peppers
def peppers() -> dict[str, str]:
    """Pepper id → pepper, the current one first.

    ``API_TOKEN_PEPPERS`` lists ``id:secret`` pairs. Unset, the peppers are derived from
    SECRET_KEY and SECRET_KEY_FALLBACKS (each id names the key it came from), so that
    rotating SECRET_KEY the way Django documents (the old key kept as a fallback for a
    while) keeps the tokens working, and moves them to the new key's pepper as they are used.
    """
    configured = getattr(settings, "API_TOKEN_PEPPERS", [])
    if not configured:
        derived = {}
        for key in (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])):
            pepper = hmac.new(key.encode(), b"api-token-pepper", hashlib.sha256).hexdigest()
            derived.setdefault("k" + hashlib.sha256(pepper.encode()).hexdigest()[:8], pepper)
        return derived
    found: dict[str, str] = {}
    for entry in configured:
        pepper_id, _, pepper = entry.partition(":")
        if not pepper_id or len(pepper_id) > 16 or len(pepper) < 32:
            raise ImproperlyConfigured("API_TOKEN_PEPPERS: give id:secret pairs, each secret 32 characters or more.")
        found[pepper_id] = pepper
    return found


def _digest(secret: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ making and ending
@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown once, to the person who made it; never stored


def clean_allowed_ips(values) -> list[str]:
    """Addresses and networks, one per entry; a ValidationError on ``allowed_ips`` lists every bad one."""
    if not isinstance(values, (list, tuple)):
        raise ValidationError({"allowed_ips": "Give a list of addresses or networks."})
    if len(values) > MAX_ALLOWED_IPS:
        raise ValidationError({"allowed_ips": f"At most {MAX_ALLOWED_IPS} addresses or networks."})
    cleaned, problems = [], []
    for value in values:
        text = str(value).strip()
        try:
            validate_ip_or_cidr(text)
        except ValidationError as exc:
            problems.extend(exc.messages)
        else:
            network = ipaddress.ip_network(text, strict=False)
            single = network.prefixlen == network.max_prefixlen  # one address reads as itself
            cleaned.append(str(network.network_address) if single else str(network))
    if problems:
        raise ValidationError({"allowed_ips": problems})
    return cleaned


def create_token(
    user,
    *,
    description: str,
    write_enabled: bool = False,
    allowed_ips=(),
    expires_at: dt.datetime | None = None,
) -> IssuedToken:
    """A new token of ``user``; the returned plaintext is the only copy there will ever be."""
    description = (description or "").strip()
    errors: dict[str, str] = {}
    if not description:
        errors["description"] = "Say what will use the token, so that it can be recognised (and revoked) later."
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = "Choose a moment in the future, or none for a token that does not expire."
    try:
        networks = clean_allowed_ips(list(allowed_ips))
    except ValidationError as exc:
        errors.update({field: " ".join(messages) for field, messages in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    pepper_id, pepper = next(iter(peppers().items()))
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    while True:
        key = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))
        if not ApiToken.objects.filter(key=key).exists():
            break
    token = ApiToken.objects.create(
        user=user,
        key=key,
        digest=_digest(secret, pepper),
        pepper_id=pepper_id,
        description=description[:120],
        write_enabled=write_enabled,
        allowed_ips=networks,
        expires_at=expires_at,
    )
    return IssuedToken(token, f"{PREFIX}{key}.{secret}")


def revoke_token(token: ApiToken, *, actor=None) -> ApiToken:
    """End a token for good; it answers 401 from the next request on."""
    if token.revoked_at is not None:
        raise ValidationError("This token is already revoked.")
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor if getattr(actor, "pk", None) else None
        )
    token.refresh_from_db()
    return token


# ------------------------------------------------------------------ checking
class TokenRefused(Exception):
    """Why a presented token does not let the request in; ``status`` is 401 or 403."""

    def __init__(self, message: str, *, code: str, status: int = 401):
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


def check_token(presented: str, *, ip: str | None) -> ApiToken:
    """The usable token ``presented`` names, for a request from ``ip``; TokenRefused if none.

    Unknown, malformed, revoked and expired tokens, and inactive users, are 401; a good
    token used from an address it does not allow is 403 (it is known, just not from there).
    """
    match = TOKEN_RE.match(presented.strip())
    if match is None:
        raise TokenRefused("This is not an API token of this portal.", code="authentication_failed")
    token = _with_its_user(ApiToken.objects.filter(key=match["key"])).first()
    pepper = peppers().get(token.pepper_id) if token is not None else None
    if token is None or pepper is None or not hmac.compare_digest(token.digest, _digest(match["secret"], pepper)):
        raise TokenRefused("Invalid token.", code="authentication_failed")
    if token.revoked_at is not None:
        raise TokenRefused("This token was revoked.", code="token_revoked")
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        raise TokenRefused("This token has expired.", code="token_expired")
    if not token.user.is_active:
        raise TokenRefused("The token's user is deactivated.", code="authentication_failed")
    if token.allowed_ips and not _allowed(ip, token.allowed_ips):
        raise TokenRefused(f"This token may not be used from {ip or 'an unknown address'}.",
                           code="ip_not_allowed", status=403)
    _note_use(token, match["secret"], ip, now)
    token.user.has_totp = token.user_has_totp  # for access_for
    return token


def _with_its_user(tokens):
    """Tokens with their user and what the request's scope needs of that user (its staff
    role and reseller, whether it has an authenticator app), in one query, not three."""
    from allauth.mfa.models import Authenticator

    totp = Authenticator.objects.filter(user=OuterRef("user"), type=Authenticator.Type.TOTP)
    return tokens.select_related("user__staff_membership__reseller").annotate(user_has_totp=Exists(totp))


def _allowed(ip: str | None, networks: list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def _note_use(token: ApiToken, secret: str, ip: str | None, now: dt.datetime) -> None:
    """Record the use (at most once a minute) and move the digest to the current pepper."""
    changes: dict = {}
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION or token.last_used_ip != ip:
        changes.update(last_used_at=now, last_used_ip=ip)
    current_id, current = next(iter(peppers().items()))
    if token.pepper_id != current_id:
        changes.update(pepper_id=current_id, digest=_digest(secret, current))
    if changes:
        ApiToken.objects.filter(pk=token.pk).update(**changes)
        for name, value in changes.items():
            setattr(token, name, value)
