"""Strict reads of the environment: a bad value stops start-up with the variable's name.

django-environ parses; these wrappers turn its silent fall-backs (``DEBUG=maybe`` reads
as False) and its bare exceptions into ``ImproperlyConfigured`` naming the variable.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: {raw!r} is not a boolean (use true or false)")


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


def env_float(name: str, default: float, *, allow_zero: bool = False) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: {raw!r} is not a number") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ImproperlyConfigured(f"{name}: must be greater than 0, got {raw!r}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_db(name: str, default: str) -> dict:
    raw = os.environ.get(name, default)
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # django-environ raises several types for a bad URL
        raise ImproperlyConfigured(f"{name}: cannot parse {raw!r} ({exc})") from None
    if not config.get("ENGINE"):
        raise ImproperlyConfigured(f"{name}: unknown database scheme in {raw!r}")
    if config["ENGINE"] not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
        raise ImproperlyConfigured(f"{name}: only postgres:// and sqlite:// are supported, got {raw!r}")
    return config


def secret_key(*, production: bool, var_dir: Path) -> str:
    """SECRET_KEY from the environment; in development, generated once into var/secret_key."""
    value = os.environ.get("SECRET_KEY", "").strip()
    if value:
        return value
    if production:
        raise ImproperlyConfigured("SECRET_KEY: required when DJANGO_ENV=production")
    return generated_once(var_dir / "secret_key", lambda: secrets.token_urlsafe(50))


def generated_once(path: Path, make: Callable[[], str]) -> str:
    """A development secret: written once (mode 600) and read back on every later start."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once must not each write their own key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
    return path.read_text().strip()


def field_encryption_keys(*, production: bool, var_dir: Path) -> list[str]:
    """FIELD_ENCRYPTION_KEYS: comma list of Fernet keys, the first encrypts, all decrypt.

    In development one key is generated once into var/field_encryption_key (like SECRET_KEY);
    in production the variable is required, because losing the key loses every stored token.
    """
    from cryptography.fernet import Fernet

    raw = os.environ.get("FIELD_ENCRYPTION_KEYS", "").strip()
    if not raw:
        if production:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS: required when DJANGO_ENV=production")
        raw = generated_once(var_dir / "field_encryption_key", lambda: Fernet.generate_key().decode())
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return keys
