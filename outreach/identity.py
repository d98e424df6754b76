"""The one identity function: the same person always hashes to the same value."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit


def normalise_email(email: str) -> str:
    return email.strip().lower()


def canonical_linkedin(url: str) -> str:
    if not url.strip():
        return ""
    parts = urlsplit(url.strip().lower())
    host = parts.netloc.removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}"


def lead_identity_sha256(*, email: str = "", linkedin_url: str = "") -> str:
    """Email first, else the LinkedIn profile. Raises ValueError when neither is given."""
    email = normalise_email(email)
    if email:
        key = f"email:{email}"
    elif canonical_linkedin(linkedin_url):
        key = f"linkedin:{canonical_linkedin(linkedin_url)}"
    else:
        raise ValueError("a lead needs an email or a LinkedIn URL")
    return hashlib.sha256(key.encode()).hexdigest()
