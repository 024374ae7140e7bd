"""Encryption of secrets at rest (Fernet, keys from ``FIELD_ENCRYPTION_KEYS``).

``python -m portal.core.crypto`` prints a new key (for FIELD_ENCRYPTION_KEYS; see
docs/security.md for rotating one).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plain: str) -> str:
    return PREFIX + fernet().encrypt(plain.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("value is not encrypted")
    try:
        return fernet().decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt: the encryption key has changed") from None


def is_encrypted_with_first_key(stored: str) -> bool:
    keys = settings.FIELD_ENCRYPTION_KEYS
    try:
        Fernet(keys[0].encode()).decrypt(stored[len(PREFIX) :].encode())
    except InvalidToken:
        return False
    return True


def reencrypt(stored: str) -> str:
    """The same secret, encrypted with the first key (ValueError if no key decrypts it)."""
    if not stored.startswith(PREFIX):
        raise ValueError("value is not encrypted")
    try:
        return PREFIX + fernet().rotate(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt: no key in FIELD_ENCRYPTION_KEYS fits") from None


if __name__ == "__main__":
    print(Fernet.generate_key().decode())
