"""The one writer of audit rows, and the compare-and-set status transition every app uses."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import connections, models, router, transaction
from django.utils import timezone

from .bound_sql import bound_cursor, update_rows
from .errors import ConcurrentTransition, InvalidTransition
from .models import AuditEntry

SYSTEM = "system"


def actor_fields(actor: Any) -> dict[str, Any]:
    """An actor is a user, or a label such as ``"system:dispatcher"`` or ``"api-token:3"``."""
    if actor is None:
        return {"actor": None, "actor_label": SYSTEM}
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor}
    return {"actor": actor if actor.pk else None, "actor_label": actor.get_username()}


def audit_record(
    *,
    obj: models.Model,
    actor: Any,
    action: str,
    old: str = "",
    new: str = "",
    note: str = "",
    data: dict | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=str(obj.pk),
        action=action,
        old=old,
        new=new,
        note=note,
        data=data or {},
        **actor_fields(actor),
    )


def audit_record_many(*, model: type[models.Model], entries: list[dict[str, Any]]) -> None:
    """Many audit rows of one model in one INSERT. Each entry: pk, actor, action, and optionally
    old, new, note, data (as ``audit_record``)."""
    if not entries:  # as bulk_create of nothing: no statement
        return
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=True)
    connection = connections[router.db_for_write(AuditEntry)]
    if connection.vendor == "postgresql":
        _audit_insert_sql(connection, content_type.pk, entries)
        return
    AuditEntry.objects.bulk_create(
        AuditEntry(content_type=content_type, object_id=str(e["pk"]), action=e["action"], old=e.get("old", ""),
                   new=e.get("new", ""), note=e.get("note", ""), data=e.get("data") or {}, **actor_fields(e["actor"]))
        for e in entries
    )  # fmt: skip


_AUDIT_INSERT = """
    INSERT INTO campaigns_auditentry
        (content_type_id, created_at, object_id, actor_id, actor_label, action, old, new, note, data)
    SELECT %s, %s, o, a, l, act, od, nw, nt, d::jsonb
    FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])
        AS u(o, a, l, act, od, nw, nt, d)
"""


def _audit_insert_sql(connection: Any, content_type_id: int, entries: list[dict[str, Any]]) -> None:
    """PostgreSQL: the rows as arrays, bound apart from the SQL (see bound_sql); same values as the ORM path."""
    rows = []
    for e in entries:
        who = actor_fields(e["actor"])
        rows.append((str(e["pk"]), who["actor"].pk if who["actor"] is not None else None, who["actor_label"],
                     e["action"], e.get("old", ""), e.get("new", ""), e.get("note", ""),
                     json.dumps(e.get("data") or {})))  # fmt: skip
    columns = [list(column) for column in zip(*rows, strict=True)]
    with bound_cursor(connection) as cursor:
        cursor.execute(_AUDIT_INSERT, [content_type_id, timezone.now(), *columns])


def audit_trail(obj: models.Model):
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True), object_id=str(obj.pk)
    ).select_related("actor")


def transition(
    obj: models.Model,
    to: str,
    *,
    actor: Any,
    note: str = "",
    updates: dict[str, Any] | None = None,
    data: dict | None = None,
    field: str = "status",
) -> None:
    """Move ``obj`` to ``to`` if its ``TRANSITIONS`` allow it, with a compare-and-set and an audit row.

    Raises InvalidTransition (move not allowed; nothing written) or ConcurrentTransition (the row's
    status is no longer the one ``obj`` was read with; nothing written). ``updates`` are written in
    the same UPDATE, so the status and its companions never disagree.
    """
    old = getattr(obj, field)
    label = obj._meta.verbose_name
    if to not in type(obj).TRANSITIONS.get(old, set()):
        raise InvalidTransition(f"{label} {obj.pk}: cannot go from {old} to {to}")
    values = {field: to, **(updates or {})}
    # No savepoint inside a caller's transaction (two round trips per move on every path): a failed
    # audit INSERT dooms the whole transaction anyway, and a lost compare-and-set wrote nothing, so
    # it is raised after the block and the caller's transaction stays usable.
    with transaction.atomic(savepoint=False):
        changed = type(obj)._base_manager.filter(pk=obj.pk, **{field: old}).update(**values)
        if changed:
            audit_record(obj=obj, actor=actor, action=f"{field}:{to}", old=old, new=to, note=note, data=data)
    if not changed:
        current = type(obj)._base_manager.filter(pk=obj.pk).values_list(field, flat=True).first()
        raise ConcurrentTransition(
            f"{label} {obj.pk}: status changed to {current} by someone else while you were moving it from {old}; reload and try again"
        )
    for key, value in values.items():
        setattr(obj, key, value)


def transition_many(
    model: type[models.Model],
    pks: list[Any],
    to: str,
    *,
    old: str,
    actor: Any,
    note: str = "",
    updates: dict[str, Any] | None = None,
    per_row: dict[Any, dict[str, Any]] | None = None,
    data: dict[Any, dict] | None = None,
    actors: dict[Any, Any] | None = None,
    notes: dict[Any, str] | None = None,
) -> list[Any]:
    """``transition`` for many rows at once (same old and new status): returns the pks that moved.

    Rows no longer in ``old`` are skipped (the caller reports them as conflicts). One UPDATE and one
    INSERT of audit rows, whatever the number of rows. ``updates`` are the same for every row and
    may use expressions (F, Case); ``per_row`` maps every pk to values of its own (the same fields
    for each), e.g. the id each post got. ``data`` maps a pk to its audit row's data, ``actors`` to
    its actor (default ``actor``), ``notes`` to its note (default ``note``).
    """
    if to not in model.TRANSITIONS.get(old, set()):
        raise InvalidTransition(f"{model._meta.verbose_name}: cannot go from {old} to {to}")
    with transaction.atomic():
        # The row lock the UPDATE takes makes ``WHERE status = old`` a compare-and-set.
        moved = update_rows(model, pks, updates={"status": to, **(updates or {})}, per_row=per_row,
                            where={"status": old})  # fmt: skip
        if not moved:
            return []
        audit_record_many(model=model, entries=[
            {"pk": pk, "actor": (actors or {}).get(pk, actor), "action": f"status:{to}", "old": old, "new": to,
             "note": (notes or {}).get(pk, note), "data": (data or {}).get(pk)}
            for pk in moved
        ])  # fmt: skip
    return moved
