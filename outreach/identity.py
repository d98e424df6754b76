"""The one identity function: the same person always hashes to the same value.

Precedence: normalised email, else E.164 phone, else canonical LinkedIn profile URL. Every path that
creates or matches a lead (services, capture, CSV import, suppressions, GDPR erase) goes through
``lead_identity_sha256``, so one person is one row (unique constraint on the hash).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

import phonenumbers


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def email_domain(email: str) -> str:
    return normalise_email(email).rpartition("@")[2]


def normalise_phone(phone: str, *, region: str | None = None) -> str:
    """E.164 (``+493012345678``). Raises ValueError for a number that cannot be a phone number."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{phone!r} is not a phone number ({exc}); write it with the country code, e.g. +49…")
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"{phone!r} is not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def canonical_linkedin(url: str) -> str:
    if not (url or "").strip():
        return ""
    raw = url.strip().lower()
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    host = parts.netloc.removeprefix("www.")
    for prefix in ("de.", "fr.", "uk.", "es.", "it.", "nl.", "br.", "in.", "ca."):
        host = host.removeprefix(prefix) if host.endswith("linkedin.com") else host
    return f"{host}{parts.path.rstrip('/')}"


def identity_key(*, email: str = "", phone: str = "", linkedin_url: str = "") -> str:
    """The readable key behind the hash. ``phone`` must already be E.164 (see normalise_phone)."""
    email = normalise_email(email)
    if email:
        return f"email:{email}"
    if phone:
        return f"phone:{phone}"
    linkedin = canonical_linkedin(linkedin_url)
    if linkedin:
        return f"linkedin:{linkedin}"
    raise ValueError("a lead needs an email, a phone number or a LinkedIn URL")


def lead_identity_sha256(*, email: str = "", phone: str = "", linkedin_url: str = "") -> str:
    """Email first, else phone (E.164), else the LinkedIn profile. Raises ValueError when none is given."""
    return hashlib.sha256(identity_key(email=email, phone=phone, linkedin_url=linkedin_url).encode()).hexdigest()


def email_identity_sha256(email: str) -> str:
    return lead_identity_sha256(email=email)
