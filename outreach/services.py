"""Lead services: upsert, consent, status, suppressions, unsubscribe/bounce/complaint, GDPR export and erase.

Every writer of Lead.status and of Suppression rows is here; each change writes an audit row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from campaigns.audit import audit_record, transition
from campaigns.errors import InvalidTransition
from campaigns.events import event_record
from campaigns.models import Campaign, Event

from .identity import email_domain, normalise_email, normalise_phone
from .models import Enrollment, EspEvent, Lead, OutreachTask, Reply, SendAttempt, Suppression

S = Lead.Status
K = Suppression.Kind
R = Suppression.Reason

# Fields a caller may set on a lead; status, identity and erase markers move only through services.
LEAD_FIELDS = {
    "name", "company", "role", "email", "phone", "linkedin_url", "timezone", "source_channel", "source_ref",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "consent_status",
    "consent_at", "consent_source", "consent_text", "tags", "enrichment", "score",
}  # fmt: skip


class LeadSuppressed(ValidationError):
    """The person is on the suppression list (unsubscribed, erased, DNC): no lead is created."""


def lead_prepare(*, campaign: Campaign | None = None, **fields: Any) -> Lead:
    """Build (not save) a validated lead with its identity hash. Raises ValidationError naming the field."""
    unknown = set(fields) - LEAD_FIELDS
    if unknown:
        raise ValidationError({name: "not a lead field" for name in sorted(unknown)})
    fields = {k: ("" if v is None and k not in ("consent_at",) else v) for k, v in fields.items()}
    if fields.get("email"):
        fields["email"] = normalise_email(fields["email"])
    if fields.get("phone"):
        try:
            fields["phone"] = normalise_phone(fields["phone"])
        except ValueError as exc:
            raise ValidationError({"phone": str(exc)})
    lead = Lead(campaign=campaign, **fields)
    try:
        lead.identity_sha256 = lead.compute_identity()
    except ValueError as exc:
        raise ValidationError({"email": str(exc)})
    lead.full_clean(exclude=["identity_sha256", "campaign"])
    return lead


def _suppression_text(kind: str, value: str, reason: str) -> str:
    shown = value[:12] + "…" if kind == K.IDENTITY else value
    return f"suppressed ({kind} {shown}: {reason})"


def _suppression_keys(email: str, identity_sha256: str) -> list[tuple[str, str]]:
    email = normalise_email(email)
    wanted = []
    if email:
        wanted += [(K.EMAIL, email), (K.DOMAIN, email_domain(email))]
    if identity_sha256:
        wanted.append((K.IDENTITY, identity_sha256))
    return wanted


def suppression_reason(*, email: str = "", identity_sha256: str = "") -> str | None:
    """Why this person must not be contacted (email, domain or identity hash suppressed), else None."""
    return suppression_reasons([Lead(pk=0, email=email, identity_sha256=identity_sha256)]).get(0)


def suppression_reasons(leads: list[Lead]) -> dict[int, str | None]:
    """Why each lead must not be contacted, in one query: lead pk → reason (absent: not suppressed).
    The email is checked first, then its domain, then the identity hash."""
    wanted = {lead.pk: _suppression_keys(lead.email, lead.identity_sha256) for lead in leads}
    by_kind: dict[str, set[str]] = {}
    for keys in wanted.values():
        for kind, value in keys:
            by_kind.setdefault(kind, set()).add(value)
    if not by_kind:
        return {}
    query = Suppression.objects.none()
    for kind, values in by_kind.items():
        query = query | Suppression.objects.filter(kind=kind, value__in=values)
    found = {(kind, value): reason for kind, value, reason in query.values_list("kind", "value", "reason")}
    reasons = {}
    for pk, keys in wanted.items():
        hit = next((key for key in keys if key in found), None)
        if hit:
            reasons[pk] = _suppression_text(*hit, found[hit])
    return reasons


def lead_upsert(*, actor: Any, campaign: Campaign | None = None, **fields: Any) -> tuple[Lead, bool]:
    """Create a lead, or return the existing one for the same person (same identity hash).

    Raises ValidationError naming the field, or LeadSuppressed for an erased/suppressed identity.
    Race-safe: the unique identity hash decides between two concurrent creators.
    """
    lead = lead_prepare(campaign=campaign, **fields)
    existing = Lead.objects.filter(identity_sha256=lead.identity_sha256).first()
    if existing and not existing.erased_at:
        return existing, False
    if existing or Suppression.objects.filter(kind=K.IDENTITY, value=lead.identity_sha256).exists():
        raise LeadSuppressed({"email": "this person asked not to be contacted (suppression list)"})
    try:
        with transaction.atomic():
            lead.save()
            audit_record(obj=lead, actor=actor, action="created", new=lead.status,
                         data={"source": lead.source_channel})  # fmt: skip
    except IntegrityError:
        return Lead.objects.get(identity_sha256=lead.identity_sha256), False
    return lead, True


def lead_update(*, lead: Lead, actor: Any, **changes: Any) -> Lead:
    """Edit a lead's fields; the identity hash follows. Raises ValidationError naming the field."""
    unknown = set(changes) - LEAD_FIELDS
    if unknown:
        raise ValidationError({name: "not a field you can set" for name in sorted(unknown)})
    if "email" in changes:
        changes["email"] = normalise_email(changes["email"])
    if changes.get("phone"):
        try:
            changes["phone"] = normalise_phone(changes["phone"])
        except ValueError as exc:
            raise ValidationError({"phone": str(exc)})
    for key, value in changes.items():
        setattr(lead, key, value)
    try:
        lead.identity_sha256 = lead.compute_identity()
    except ValueError as exc:
        raise ValidationError({"email": str(exc)})
    lead.full_clean(exclude=["identity_sha256"])
    if Lead.objects.filter(identity_sha256=lead.identity_sha256).exclude(pk=lead.pk).exists():
        raise ValidationError({"email": "another lead is already this person (same email/phone/LinkedIn)"})
    with transaction.atomic():
        lead.save()
        audit_record(obj=lead, actor=actor, action="updated", note=", ".join(sorted(changes)))
    return lead


def consent_record(*, lead: Lead, actor: Any, status: str, source: str, text: str = "") -> None:
    """Record a consent decision with its source and the exact text shown. DNC/withdrawn stop sequences."""
    if status not in Lead.Consent.values:
        raise ValidationError({"consent_status": f"one of {', '.join(Lead.Consent.values)}"})
    with transaction.atomic():
        old = lead.consent_status
        lead.consent_status, lead.consent_source, lead.consent_at = status, source, timezone.now()
        if text:
            lead.consent_text = text
        lead.save(update_fields=["consent_status", "consent_source", "consent_at", "consent_text", "updated_at"])
        audit_record(obj=lead, actor=actor, action="consent", old=old, new=status, note=source)
        if status in (Lead.Consent.DNC, Lead.Consent.WITHDRAWN):
            enrollments_stop(lead=lead, actor=actor, reason=f"consent {status}")


def lead_move(*, lead: Lead, to: str, actor: Any, note: str = "") -> bool:
    """Move the lead's status if the machine allows it; False (nothing written) if it does not.

    Used by sends and events, which must not fail because a lead already moved on (e.g. a reply
    arriving for a lead that is already qualified).
    """
    if lead.status == to or to not in Lead.TRANSITIONS.get(lead.status, set()):
        return False
    lead.refresh_from_db(fields=["status"])
    if lead.status == to or to not in Lead.TRANSITIONS.get(lead.status, set()):
        return False
    transition(lead, to, actor=actor, note=note)
    return True


def lead_set_status(*, lead: Lead, to: str, actor: Any, note: str = "") -> None:
    """The admin's status change (e.g. replied → qualified). Raises InvalidTransition."""
    transition(lead, to, actor=actor, note=note)
    if to in Lead.CONTACT_TERMINAL or to == S.LOST:
        enrollments_stop(lead=lead, actor=actor, reason=f"lead {to}")


def enrollments_stop(*, lead: Lead, actor: Any, reason: str) -> int:
    """Stop every active enrollment of the lead (a reply, an unsubscribe, a bounce)."""
    stopped = 0
    for enrollment in Enrollment.objects.filter(lead=lead, status=Enrollment.Status.ACTIVE):
        try:
            transition(enrollment, Enrollment.Status.STOPPED, actor=actor, note=reason,
                       updates={"stop_reason": reason[:255], "next_due_at": None})  # fmt: skip
            stopped += 1
        except InvalidTransition:
            continue
    return stopped


def suppression_add(
    *, kind: str, value: str, reason: str, actor: Any, source: str = "", campaign: Campaign | None = None
) -> tuple[Suppression, bool]:
    """Add a suppression (idempotent on kind+value). Every gate check honours it from now on."""
    if kind not in K.values:
        raise ValidationError({"kind": f"one of {', '.join(K.values)}"})
    if reason not in R.values:
        raise ValidationError({"reason": f"one of {', '.join(R.values)}"})
    value = (value or "").strip().lower()
    limit = Suppression._meta.get_field("value").max_length
    if "\x00" in value or len(value) > limit:  # checked here: the database would refuse the row (a 500)
        raise ValidationError({"value": f"contains a NUL character or is longer than {limit} characters"})
    if kind == K.EMAIL:
        value = normalise_email(value)
        if "@" not in value:
            raise ValidationError({"value": f"{value!r} is not an email address"})
    elif kind == K.DOMAIN:
        value = value.removeprefix("@")
        if "." not in value or "@" in value or " " in value:
            raise ValidationError({"value": f"{value!r} is not a domain"})
    elif len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ValidationError({"value": "an identity hash is 64 hex characters"})
    with transaction.atomic():
        row, created = Suppression.objects.get_or_create(
            kind=kind, value=value, defaults={"reason": reason, "source": source[:255], "campaign": campaign}
        )
        if created:
            audit_record(obj=row, actor=actor, action="suppressed", new=reason, note=source)
    return row, created


def dnc_import(*, lines: Iterable[str], actor: Any, source: str) -> dict[str, Any]:
    """Import a do-not-contact list: one email or domain (``@example.com`` or ``example.com``) a line.

    Returns counts and the invalid lines (line number, reason). Valid lines are stored even if
    others are invalid; each is its own idempotent insert.
    """
    report: dict[str, Any] = {"added": 0, "existing": 0, "invalid": []}
    for number, line in enumerate(lines, start=1):
        value = line.strip().strip(",;").strip()
        if not value or value.startswith("#"):
            continue
        kind = K.EMAIL if "@" in value.lstrip("@") else K.DOMAIN
        try:
            _, created = suppression_add(kind=kind, value=value, reason=R.DNC_IMPORT, actor=actor, source=source)
        except ValidationError as exc:
            report["invalid"].append((number, " ".join(exc.messages)))
            continue
        report["added" if created else "existing"] += 1
    return report


def _suppress_person(*, lead: Lead, reason: str, to: str, actor: Any, campaign: Campaign | None, source: str,
                     event_kind: str, dedupe_key: str | None) -> None:  # fmt: skip
    with transaction.atomic():
        if lead.email:
            suppression_add(kind=K.EMAIL, value=lead.email, reason=reason, actor=actor, source=source,
                            campaign=campaign)  # fmt: skip
        suppression_add(kind=K.IDENTITY, value=lead.identity_sha256, reason=reason, actor=actor, source=source,
                        campaign=campaign)  # fmt: skip
        lead_move(lead=lead, to=to, actor=actor, note=source)
        enrollments_stop(lead=lead, actor=actor, reason=reason)
        event_record(kind=event_kind, campaign=campaign, channel="email", lead_id=lead.pk, source=source,
                     dedupe_key=dedupe_key)  # fmt: skip


def lead_unsubscribe(*, lead: Lead, campaign: Campaign | None, actor: Any, source: str = "unsubscribe link") -> None:
    """Unsubscribe: suppression by email and identity, lead → unsubscribed, sequences stop. Repeat-safe."""
    _suppress_person(lead=lead, reason=R.UNSUBSCRIBE, to=S.UNSUBSCRIBED, actor=actor, campaign=campaign,
                     source=source, event_kind="email_unsubscribed",
                     dedupe_key=f"unsubscribe:{lead.pk}:{campaign.pk if campaign else 0}")  # fmt: skip


def lead_bounced(*, lead: Lead, campaign: Campaign | None, actor: Any, source: str, dedupe_key: str | None) -> None:
    """A hard bounce: the address is dead for every campaign."""
    _suppress_person(lead=lead, reason=R.HARD_BOUNCE, to=S.BOUNCED, actor=actor, campaign=campaign, source=source,
                     event_kind="email_bounced", dedupe_key=dedupe_key)  # fmt: skip


def lead_complained(*, lead: Lead, campaign: Campaign | None, actor: Any, source: str, dedupe_key: str | None) -> None:
    """A spam complaint: never again, anywhere."""
    _suppress_person(lead=lead, reason=R.COMPLAINT, to=S.SUPPRESSED, actor=actor, campaign=campaign, source=source,
                     event_kind="email_complained", dedupe_key=dedupe_key)  # fmt: skip


def lead_export(*, lead: Lead, actor: Any) -> dict[str, Any]:
    """Everything stored about the person (GDPR access request), as JSON-ready data. Audited."""
    data = model_to_dict(lead, exclude=["campaign"])
    data.update(
        id=lead.pk,
        campaign=lead.campaign.name if lead.campaign else None,
        identity_sha256=lead.identity_sha256,
        status=lead.status,
        created_at=lead.created_at,
        enrollments=list(Enrollment.objects.filter(lead=lead).values("sequence__name", "status", "next_position",
                                                                     "created_at", "stop_reason")),
        emails_sent=list(SendAttempt.objects.filter(lead=lead).values("to_email", "subject", "status", "created_at",
                                                                      "message_id")),
        replies=list(Reply.objects.filter(lead=lead).values("from_email", "subject", "text", "label", "received_at")),
        tasks=list(OutreachTask.objects.filter(lead=lead).values("text", "status", "created_at")),
        events=list(Event.objects.filter(lead_id=lead.pk).values("kind", "occurred_at", "source", "data")),
    )  # fmt: skip
    audit_record(obj=lead, actor=actor, action="gdpr:export")
    return data


def lead_erase(*, lead: Lead, actor: Any) -> None:
    """GDPR erasure: personal data removed, the identity hash kept as a suppression so the person is
    never re-imported or contacted again. Replies, raw ESP events naming the address and its email
    suppression (which holds the address itself) are deleted; counts in the event log stay."""
    if lead.erased_at:
        return
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        email = lead.email
        suppression_add(kind=K.IDENTITY, value=lead.identity_sha256, reason=R.GDPR_ERASE, actor=actor,
                        source=f"erase of lead {lead.pk}")  # fmt: skip
        if email:
            Suppression.objects.filter(kind=K.EMAIL, value=email).delete()
            EspEvent.objects.filter(recipient__iexact=email).delete()  # a scan, but erasure is rare
        Reply.objects.filter(lead=lead).delete()
        OutreachTask.objects.filter(lead=lead).delete()
        SendAttempt.objects.filter(lead=lead).update(to_email="", subject="")
        enrollments_stop(lead=lead, actor=actor, reason="erased (GDPR)")
        lead_move(lead=lead, to=S.SUPPRESSED, actor=actor, note="GDPR erase")
        blank = {f: "" for f in LEAD_FIELDS if isinstance(getattr(lead, f), str) and f != "consent_status"}
        Lead.objects.filter(pk=lead.pk).update(**blank, tags=[], enrichment={}, score=0, consent_at=None,
                                               erased_at=timezone.now())  # fmt: skip
        audit_record(obj=lead, actor=actor, action="gdpr:erase", note="personal data removed; identity hash kept")
    lead.refresh_from_db()
