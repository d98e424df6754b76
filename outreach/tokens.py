"""Signed, opaque tokens for public links: unsubscribe (names lead and campaign) and double opt-in.

Unsubscribe tokens never expire: RFC 8058 links in old mail must keep working. They are signed
with SECRET_KEY (HMAC-SHA256 via django.core.signing), so they cannot be forged or edited.
"""

from __future__ import annotations

from django.core import signing

UNSUBSCRIBE_SALT = "outreach.unsubscribe.v1"
CONFIRM_SALT = "outreach.confirm.v1"
CONFIRM_MAX_AGE = 7 * 24 * 3600


class BadTokenError(ValueError):
    pass


def unsubscribe_token(*, lead_id: int, campaign_id: int | None) -> str:
    return signing.dumps({"l": lead_id, "c": campaign_id or 0}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, int | None]:
    """(lead id, campaign id or None). Raises BadTokenError for anything not signed by us."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return int(data["l"]), (int(data["c"]) or None)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise BadTokenError("this unsubscribe link is not valid") from None


def confirm_token(*, lead_id: int, campaign_id: int) -> str:
    return signing.dumps({"l": lead_id, "c": campaign_id}, salt=CONFIRM_SALT, compress=True)


def confirm_token_read(token: str) -> tuple[int, int]:
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
        return int(data["l"]), int(data["c"])
    except signing.SignatureExpired:
        raise BadTokenError("this confirmation link has expired; please sign up again") from None
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise BadTokenError("this confirmation link is not valid") from None
