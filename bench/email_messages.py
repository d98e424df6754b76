"""The messages every contender of bench/email_dispatch.py sends: the same 10,000, all headers on."""

from __future__ import annotations

from email.utils import make_msgid


def build_messages(n: int, domain: str = "mail.acme.example") -> list:
    from publishing.adapters.email import EmailMessageSpec

    return [
        EmailMessageSpec(
            to=f"lead{i}@example.org",
            from_email="Acme <hello@acme.example>",
            subject=f"Quick question, lead {i}",
            text=f"Hi lead {i},\n\nA short plain-text note from Acme.\n\nUnsubscribe: https://acme.example/u/t{i}/\n",
            html=f"<p>Hi lead {i},</p><p>A short note from Acme.</p><p><a href='https://acme.example/u/t{i}/'>Unsubscribe</a></p>",
            headers={
                "List-Unsubscribe": f"<https://acme.example/u/t{i}/>, <mailto:unsubscribe@acme.example?subject=t{i}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            message_id=make_msgid(idstring=str(i), domain=domain).strip("<>"),
            idempotency_key=f"send_email:1:{i}:1",
            metadata={"lead_id": str(i)},
            tags=("bench",),
        )
        for i in range(n)
    ]
