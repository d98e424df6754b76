"""Stand-in for publishing.adapters.email (same interface), used only while that module is absent.

It sends through Django's mail backend (locmem in tests), so tests assert on mail.outbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.mail import EmailMultiAlternatives, get_connection


@dataclass(frozen=True)
class EmailMessageSpec:
    to: str
    from_email: str
    subject: str
    text: str
    html: str = ""
    headers: dict = field(default_factory=dict)
    message_id: str = ""
    idempotency_key: str = ""
    metadata: dict = field(default_factory=dict)
    tags: tuple = ()


@dataclass(frozen=True)
class EmailResult:
    message_id: str
    esp_message_id: str
    status: str


def send_email(spec: EmailMessageSpec, *, connection=None) -> EmailResult:
    headers = dict(spec.headers)
    if spec.message_id:
        headers["Message-ID"] = f"<{spec.message_id}>"
    to = [spec.to] if isinstance(spec.to, str) else list(spec.to)
    message = EmailMultiAlternatives(spec.subject, spec.text, spec.from_email, to, headers=headers,
                                     connection=connection or get_connection())  # fmt: skip
    if spec.html:
        message.attach_alternative(spec.html, "text/html")
    message.send()
    return EmailResult(message_id=spec.message_id, esp_message_id="", status="sent")
