"""Secrets at rest: Fernet with the keys of ``FIELD_ENCRYPTION_KEYS`` (the first encrypts, all decrypt).

Rotation: put the new key first, keep the old ones after it, run ``manage.py rotate_field_keys``
(re-encrypts every stored secret with the first key), then drop the old keys.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class DecryptionError(Exception):
    """No configured key decrypts a stored value: a key was dropped from FIELD_ENCRYPTION_KEYS too early."""


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode() if value else ""


NO_KEY = "FIELD_ENCRYPTION_KEYS: no configured key decrypts a stored secret; put the old key back after the new one"


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(NO_KEY) from None


def rotate(token: str) -> str:
    """The same secret encrypted with the first key (a no-op for empty values). DecryptionError as decrypt."""
    try:
        return fernet().rotate(token.encode()).decode() if token else ""
    except InvalidToken:
        raise DecryptionError(NO_KEY) from None


class EncryptedTextField(models.TextField):
    """A text secret stored as a Fernet token; Python code sees plain text, the database never does.

    Not searchable or orderable by value (each encryption differs). Empty stays empty, so
    "no token" is visible without decrypting.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str:
        return decrypt(value) if value else ""

    def get_prep_value(self, value: Any) -> str:
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""
