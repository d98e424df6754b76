"""CSV import of leads: column mapping, streaming in batches, a report with line numbers and reasons.

The file is read row by row (csv module over a text stream) and written in batches: existing people
(same identity hash) are updated only when a mapped, non-empty value differs, so importing the same
file twice changes nothing the second time. On PostgreSQL new rows go through COPY into a temporary
table and one ``INSERT … ON CONFLICT (identity_sha256) DO NOTHING`` per batch, so a concurrent
creator of the same person never fails the batch.
"""

from __future__ import annotations

import csv
import json
import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from campaigns.audit import audit_record
from campaigns.models import Campaign

from . import importing_sql
from .identity import email_domain, lead_identity_sha256, normalise_email, normalise_phone
from .models import Lead, Suppression

IMPORTABLE = (
    "name", "company", "role", "email", "phone", "linkedin_url", "timezone", "source_ref", "utm_source",
    "utm_medium", "utm_campaign", "utm_term", "utm_content", "tags", "score",
)  # fmt: skip
MAX_LEN = {f.name: f.max_length for f in Lead._meta.concrete_fields if getattr(f, "max_length", None)}
EMAIL_RE = re.compile(r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
URL_RE = re.compile(r"^(https?://)?[^\s/]+\.[^\s]+$", re.IGNORECASE)
BATCH = 2000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    duplicate: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0

    def summary(self) -> str:
        return (f"{self.rows} rows: {self.created} created, {self.updated} updated, {self.duplicate} duplicate, "
                f"{len(self.invalid)} invalid")  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "duplicate": self.duplicate,
                "invalid": len(self.invalid), "first_invalid": self.invalid[:20]}  # fmt: skip


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def column_mapping(header: list[str], mapping: dict[str, str] | None) -> dict[str, int]:
    """field → column index. Default: columns named like the fields (``E-mail``, ``LinkedIn URL`` …).

    ``mapping`` is {column header: lead field}. Raises ValidationError naming the bad column or field.
    """
    aliases = {"e_mail": "email", "mail": "email", "linkedin": "linkedin_url", "full_name": "name",
               "title": "role", "job_title": "role", "organisation": "company", "organization": "company",
               "tz": "timezone", "phone_number": "phone"}  # fmt: skip
    columns = {_key(h): i for i, h in enumerate(header)}
    result: dict[str, int] = {}
    if mapping:
        errors = {}
        for column, target in mapping.items():
            if target not in IMPORTABLE:
                errors[f"mapping.{column}"] = f"{target!r} is not an importable field ({', '.join(IMPORTABLE)})"
            elif _key(column) not in columns:
                errors[f"mapping.{column}"] = f"no column {column!r} in the header ({', '.join(header)})"
            else:
                result[target] = columns[_key(column)]
        if errors:
            raise ValidationError(errors)
    else:
        for key, index in columns.items():
            target = aliases.get(key, key)
            if target in IMPORTABLE and target not in result:
                result[target] = index
    if not {"email", "phone", "linkedin_url"} & set(result):
        raise ValidationError({"mapping": "no column maps to email, phone or linkedin_url: a lead needs one"})
    return result


_ZONES: set[str] = set()


def _clean_row(values: dict[str, str]) -> dict[str, Any]:
    """Normalise one row; raises ValueError with the reason (field named) when it cannot be a lead."""
    row: dict[str, Any] = {}
    for name, raw in values.items():
        value = (raw or "").strip()
        if not value:
            continue
        if "\x00" in value:  # PostgreSQL text cannot hold it: the row is refused, not the batch
            raise ValueError(f"{name}: contains a NUL character")
        if name == "email":
            value = normalise_email(value)
            if not EMAIL_RE.match(value):
                raise ValueError(f"email: {raw!r} is not an email address")
        elif name == "phone":
            try:
                value = normalise_phone(value)
            except ValueError as exc:
                raise ValueError(f"phone: {exc}") from None
        elif name == "linkedin_url" and not URL_RE.match(value):
            raise ValueError(f"linkedin_url: {raw!r} is not a URL")
        elif name == "timezone":
            if not _ZONES:
                _ZONES.update(zoneinfo.available_timezones())
            if value not in _ZONES:
                raise ValueError(f"timezone: {value!r} is not an IANA time zone")
        elif name == "tags":
            value = sorted({t.strip() for t in re.split(r"[;,|]", value) if t.strip()})
        elif name == "score":
            if not re.match(importing_sql.SCORE_PATTERN, value):  # int() would also take "٣" or "1_000"
                raise ValueError(f"score: {raw!r} {importing_sql.SCORE_RULE}")
            value = int(value)
        if isinstance(value, str) and name in MAX_LEN and len(value) > MAX_LEN[name]:
            raise ValueError(f"{name}: longer than {MAX_LEN[name]} characters")
        row[name] = value
    try:
        row["identity_sha256"] = lead_identity_sha256(email=row.get("email", ""), phone=row.get("phone", ""),
                                                      linkedin_url=row.get("linkedin_url", ""))  # fmt: skip
    except ValueError as exc:
        raise ValueError(f"email: {exc}") from None
    return row


def leads_import(
    *,
    stream: TextIO | Iterable[str],
    campaign: Campaign | None,
    actor: Any,
    mapping: dict[str, str] | None = None,
    source_ref: str = "csv",
    batch_size: int = BATCH,
    progress: Callable[[int], None] | None = None,
    engine: str = "auto",
) -> ImportReport:
    """Import leads from a CSV text stream (header on line 1). Returns the report; writes an audit row.

    A bad mapping or header raises ValidationError before anything is written. Bad rows are reported
    with their line number and reason and skipped; good rows are committed batch by batch (row path)
    or all at once (``engine="sql"``: PostgreSQL COPY path, chosen by "auto" when the mapped columns
    allow it, see importing_sql).
    """
    first = stream.readline() if hasattr(stream, "readline") else next(iter(stream), "")
    try:
        header = next(csv.reader([first]), None)
    except csv.Error as exc:
        raise ValidationError({"file": f"not a CSV file: {exc}"}) from None
    if not header:
        raise ValidationError({"file": "the file is empty (a header line is expected)"})
    columns = column_mapping(header, mapping)
    report = ImportReport()
    if engine == "sql" or (engine == "auto" and hasattr(stream, "read") and importing_sql.usable(columns)):
        importing_sql.run(stream=stream, header=header, columns=columns, campaign_id=campaign.pk if campaign else None,
                          source_ref=source_ref, report=report, progress=progress)  # fmt: skip
        _audit(campaign, actor, source_ref, report)
        return report
    reader = csv.reader(stream)
    seen: dict[int, int] = {}  # 8-byte prefix of the identity hash → first line (in-file duplicates)
    batch: list[tuple[int, dict[str, Any]]] = []
    line = 1
    try:
        for line, values in enumerate(reader, start=2):
            report.rows += 1
            if not any(v.strip() for v in values):
                report.rows -= 1
                continue
            try:
                row = _clean_row({f: values[i] if i < len(values) else "" for f, i in columns.items()})
            except ValueError as exc:
                report.invalid.append((line, str(exc)))
                continue
            prefix = int(row["identity_sha256"][:16], 16)
            if prefix in seen:
                report.duplicate += 1
                continue
            seen[prefix] = line
            batch.append((line, row))
            if len(batch) >= batch_size:
                _write_batch(batch, campaign=campaign, source_ref=source_ref, report=report)
                batch = []
                if progress:
                    progress(report.rows)
    except csv.Error as exc:
        report.invalid.append((line + 1, f"file: unreadable CSV from here on ({exc})"))
    if batch:
        _write_batch(batch, campaign=campaign, source_ref=source_ref, report=report)
    report.invalid.sort()
    if progress:
        progress(report.rows)
    _audit(campaign, actor, source_ref, report)
    return report


def _audit(campaign: Campaign | None, actor: Any, source_ref: str, report: ImportReport) -> None:
    if campaign is not None:
        audit_record(obj=campaign, actor=actor, action="leads:import", note=f"{source_ref}: {report.summary()}",
                     data=report.as_dict())  # fmt: skip


def _suppressed(rows: list[tuple[int, dict[str, Any]]]) -> dict[str, str]:
    """identity hash → reason, for rows whose identity, email or domain is suppressed (one query)."""
    K = Suppression.Kind
    ids = [r["identity_sha256"] for _, r in rows]
    emails = [r["email"] for _, r in rows if r.get("email")]
    domains = sorted({email_domain(e) for e in emails})
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            # Arrays, not IN lists: thousands of parameters cost more to send than the lookup itself.
            cur.execute(
                "SELECT kind, value, reason FROM outreach_suppression WHERE (kind = 'identity' AND value = ANY(%s)) "
                "OR (kind = 'email' AND value = ANY(%s)) OR (kind = 'domain' AND value = ANY(%s))",
                [ids, emails, domains],
            )
            hits = cur.fetchall()
    else:
        hits = (Suppression.objects.filter(kind=K.IDENTITY, value__in=ids)
                | Suppression.objects.filter(kind=K.EMAIL, value__in=emails)
                | Suppression.objects.filter(kind=K.DOMAIN, value__in=domains)).values_list("kind", "value", "reason")  # fmt: skip
    by_value = {(k, v): reason for k, v, reason in hits}
    if not by_value:
        return {}
    out = {}
    for _, r in rows:
        email = r.get("email", "")
        for key in ((K.IDENTITY, r["identity_sha256"]), (K.EMAIL, email), (K.DOMAIN, email_domain(email))):
            if key in by_value:
                out[r["identity_sha256"]] = f"suppressed ({key[0]}: {by_value[key]})"
                break
    return out


def _existing(identities: list[str], wanted: list[str]) -> dict[str, dict[str, Any]]:
    columns = ["id", "identity_sha256", "erased_at", *wanted]
    if connection.vendor != "postgresql":
        return {r["identity_sha256"]: r for r in Lead.objects.filter(identity_sha256__in=identities).values(*columns)}
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT {', '.join(columns)} FROM outreach_lead WHERE identity_sha256 = ANY(%s)",  # noqa: S608 - fixed names
            [identities],
        )
        found = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    for row in found:
        if isinstance(row.get("tags"), str):  # Django leaves jsonb as text for JSONField to parse
            row["tags"] = json.loads(row["tags"])
    return {row["identity_sha256"]: row for row in found}


def _write_batch(rows: list[tuple[int, dict[str, Any]]], *, campaign: Campaign | None, source_ref: str,
                 report: ImportReport) -> None:  # fmt: skip
    suppressed = _suppressed(rows)
    wanted = [name for name in IMPORTABLE if name != "source_ref"]
    with transaction.atomic():
        existing = _existing([r["identity_sha256"] for _, r in rows], wanted)
        new: list[tuple[int, dict[str, Any]]] = []
        changed: list[Lead] = []
        changed_fields: set[str] = set()
        for line, row in rows:
            identity = row["identity_sha256"]
            if identity in suppressed:
                report.invalid.append((line, suppressed[identity]))
                continue
            current = existing.get(identity)
            if current is None:
                new.append((line, row))
                continue
            if current["erased_at"]:
                report.invalid.append((line, "suppressed (erased on request)"))
                continue
            diff = {k: v for k, v in row.items() if k in wanted and v not in ("", None) and current.get(k) != v}
            if diff:
                lead = Lead(pk=current["id"], **diff)
                changed.append(lead)
                changed_fields |= set(diff)
                report.updated += 1
            else:
                report.duplicate += 1
        if changed:
            now = timezone.now()
            for lead in changed:
                lead.updated_at = now
            Lead.objects.bulk_update(changed, sorted(changed_fields | {"updated_at"}))
        if new:
            report.created += _insert_new(new, campaign=campaign, source_ref=source_ref, report=report)


INSERT_COLUMNS = (
    "identity_sha256", "campaign_id", "name", "company", "role", "email", "phone", "linkedin_url", "timezone",
    "source_channel", "source_ref", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "referrer", "consent_status", "consent_source", "consent_text", "tags", "enrichment", "score", "status",
    "created_at", "updated_at",
)  # fmt: skip


def _values(row: dict[str, Any], *, campaign: Campaign | None, source_ref: str, now) -> tuple:
    return (
        row["identity_sha256"], campaign.pk if campaign else None, row.get("name", ""), row.get("company", ""),
        row.get("role", ""), row.get("email", ""), row.get("phone", ""), row.get("linkedin_url", ""),
        row.get("timezone", ""), "csv", row.get("source_ref") or source_ref, row.get("utm_source", ""),
        row.get("utm_medium", ""), row.get("utm_campaign", ""), row.get("utm_term", ""), row.get("utm_content", ""),
        "", Lead.Consent.UNKNOWN, "", "", json.dumps(row.get("tags", [])), "{}", row.get("score", 0),
        Lead.Status.NEW, now, now,
    )  # fmt: skip


def _insert_new(rows: list[tuple[int, dict[str, Any]]], *, campaign: Campaign | None, source_ref: str,
                report: ImportReport) -> int:  # fmt: skip
    now = timezone.now()
    if connection.vendor != "postgresql":
        objs = [Lead(**dict(zip(INSERT_COLUMNS, _values(r, campaign=campaign, source_ref=source_ref, now=now),
                                strict=True))) for _, r in rows]  # fmt: skip
        for obj in objs:
            obj.tags = json.loads(obj.tags)
            obj.enrichment = {}
        before = Lead.objects.count()
        Lead.objects.bulk_create(objs, ignore_conflicts=True)
        made = Lead.objects.count() - before
        report.duplicate += len(rows) - made
        return made
    cols = ", ".join(INSERT_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS outreach_lead_stage ON COMMIT DELETE ROWS AS "  # noqa: S608
            f"SELECT {cols} FROM outreach_lead WITH NO DATA"
        )
        raw = cursor.cursor
        with raw.copy(f"COPY outreach_lead_stage ({cols}) FROM STDIN") as copy:
            for _, row in rows:
                copy.write_row(_values(row, campaign=campaign, source_ref=source_ref, now=now))
        cursor.execute(
            f"INSERT INTO outreach_lead ({cols}) SELECT {cols} FROM outreach_lead_stage "  # noqa: S608 - fixed names
            "ON CONFLICT (identity_sha256) DO NOTHING"
        )
        made = cursor.rowcount
        cursor.execute("TRUNCATE outreach_lead_stage")
    # Rows another writer created between our lookup and the insert: the same person, counted as duplicates.
    report.duplicate += len(rows) - made
    return made


def check_encoding(binary: Iterable[bytes], encoding: str = "utf-8") -> None:
    """A first pass over the file (streaming) so that an undecodable line stops the import before any
    row is written. Raises ValidationError naming the line."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    for chunk in binary:
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            raise ValidationError({"file": f"line {line} is not {encoding} text; save the file as UTF-8"}) from None
        line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)  # the file may end inside a character
    except UnicodeDecodeError:
        raise ValidationError({"file": f"line {line} is not {encoding} text; save the file as UTF-8"}) from None
