"""The dispatcher's hot statements in SQL, because each one must be a single round trip.

Claim: ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) RETURNING *``, so
picking and marking a batch is one statement, control flags included (a global pause or kill, or a
stopped campaign, claims nothing) (SQLite ≥ 3.35, used by the demo, runs the same
statement without the lock clause: it serialises writers anyway).
Finish: on PostgreSQL the status updates and the execution-log inserts of a whole batch are one
statement (a data-modifying CTE over arrays), and the log rows are written only for the actions
this worker still held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from .models import Action, ActionLog, ControlFlag

A = Action._meta.db_table
L = ActionLog._meta.db_table
F = ControlFlag._meta.db_table


def _ts(value: datetime | None) -> Any:
    return None if value is None else connection.ops.adapt_datetimefield_value(value)


# What handlers and the dispatcher read; the other columns stay deferred (fewer values to parse).
CLAIM_COLUMNS = (
    "id, idempotency_key, action_type, payload, priority, attempts, max_attempts, campaign_id, parent_id, "
    "locked_by, fencing_token"
)


def claim(*, token: str, now: datetime, locked_until: datetime, limit: int) -> list[Action]:
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = f"""
        UPDATE {A} SET status = 'in_progress', locked_by = %s, locked_until = %s, attempts = attempts + 1,
               fencing_token = fencing_token + 1, started_at = %s, finished_at = NULL
         WHERE id IN (SELECT id FROM {A}
                       WHERE status IN ('pending', 'retry_wait') AND not_before <= %s
                         AND NOT EXISTS (SELECT 1 FROM {F} WHERE scope = 'global' AND (paused OR killed))
                         AND (campaign_id IS NULL OR campaign_id NOT IN (
                              SELECT campaign_id FROM {F} WHERE campaign_id IS NOT NULL AND (paused OR killed)))
                       ORDER BY priority, due_at, id LIMIT %s{lock})
           AND status IN ('pending', 'retry_wait')
        RETURNING {CLAIM_COLUMNS}"""  # noqa: S608 - table names come from model meta, values are parameters
    actions = list(Action.objects.raw(sql, [token, _ts(locked_until), _ts(now), _ts(now), limit]))
    # RETURNING has no order; (priority, id) is close enough to the claim's (priority, due_at, id) within one batch.
    actions.sort(key=lambda a: (a.priority, a.pk))
    return actions


def release_expired(*, now: datetime, actor_label: str) -> list[int]:
    """Put ``in_progress`` actions whose lease expired back in the queue, with a log row each."""
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {A} SET status = 'pending', locked_by = '', locked_until = NULL
                 WHERE status = 'in_progress' AND locked_until < %s RETURNING id, attempts, max_attempts""",  # noqa: S608
            [_ts(now)],
        )
        rows = cur.fetchall()
    ActionLog.objects.bulk_create(
        ActionLog(action_id=pk, attempt=attempts, level=ActionLog.Level.WARNING, status="pending",
                  message="lease expired while in progress (worker died or stalled); back in the queue",
                  actor_label=actor_label)
        for pk, attempts, _ in rows
    )  # fmt: skip
    return [pk for pk, _, _ in rows]


@dataclass(frozen=True)
class Finish:
    """One action's result as the dispatcher decided it (hashable: equal results group on SQLite)."""

    status: str
    last_error: str
    not_before: datetime | None
    result_json: str  # JSON text ("null" for none)
    log_level: str
    log_message: str
    artifact_ref: str = ""
    artifact_sha256: str = ""
    refund_attempt: bool = False  # a release: the attempt did not really happen


def finish(*, results: list[tuple[int, Finish]], token: str, actor: str, now: datetime) -> int:
    """Write each action's result, if ``token`` still holds it, with a log row each. Returns rows changed.

    PostgreSQL: one statement for the whole batch, however many distinct results (each success
    carries its own platform id, so results rarely repeat): the rows go in as arrays.
    """
    if not results:
        return 0
    if connection.vendor != "postgresql":
        return _finish_grouped(results=results, token=token, actor=actor, now=now)
    columns = list(zip(*[
        (pk, f.status, f.last_error, None if f.result_json == "null" else f.result_json, _ts(f.not_before),
         int(f.refund_attempt), f.log_level, f.log_message, f.artifact_ref, f.artifact_sha256)
        for pk, f in results
    ], strict=True))  # fmt: skip
    sql = f"""
        WITH v AS (
            SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::int[],
                                 %s::text[], %s::text[], %s::text[], %s::text[])
                     AS v(id, status, last_error, result, not_before, refund, level, message, artifact_ref,
                          artifact_sha256)),
        done AS (
            UPDATE {A} AS a SET status = v.status, last_error = v.last_error, result = v.result::jsonb,
                   finished_at = CASE WHEN v.status = 'retry_wait' THEN NULL ELSE %s END,
                   not_before = coalesce(v.not_before, a.not_before), attempts = a.attempts - v.refund,
                   locked_by = '', locked_until = NULL
              FROM v WHERE a.id = v.id AND a.locked_by = %s
            RETURNING a.id, a.attempts, v.level, v.status, v.message, v.artifact_ref, v.artifact_sha256)
        INSERT INTO {L} ({LOG_COLUMNS})
        SELECT id, attempts, level, status, message, artifact_ref, artifact_sha256, %s, %s FROM done"""  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql, [*(list(c) for c in columns), _ts(now), token, actor, _ts(now)])
        return cur.rowcount


LOG_COLUMNS = "action_id, attempt, level, status, message, artifact_ref, artifact_sha256, actor_label, created_at"


def _finish_grouped(*, results: list[tuple[int, Finish]], token: str, actor: str, now: datetime) -> int:
    """SQLite (the demo): one UPDATE … RETURNING per distinct result, then its log rows."""
    groups: dict[Finish, list[int]] = {}
    for pk, fin in results:
        groups.setdefault(fin, []).append(pk)
    changed = 0
    with transaction.atomic(), connection.cursor() as cur:
        for fin, ids in groups.items():
            extra_sets = ", not_before = %s" if fin.not_before is not None else ""
            if fin.refund_attempt:  # a release (paused, budget spent) is not a try
                extra_sets += ", attempts = attempts - 1"
            params: list[Any] = [fin.status, fin.last_error, None if fin.result_json == "null" else fin.result_json,
                                 None if fin.status == "retry_wait" else _ts(now)]  # fmt: skip
            if fin.not_before is not None:
                params.append(_ts(fin.not_before))
            marks = ", ".join(["%s"] * len(ids))
            cur.execute(
                f"""UPDATE {A} SET status = %s, last_error = %s, result = %s, finished_at = %s,
                           locked_by = '', locked_until = NULL{extra_sets}
                     WHERE id IN ({marks}) AND locked_by = %s RETURNING id, attempts""",  # noqa: S608
                [*params, *ids, token],
            )
            done = cur.fetchall()
            cur.executemany(
                f"INSERT INTO {L} ({LOG_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
                [[pk, attempts, fin.log_level, fin.status, fin.log_message, fin.artifact_ref, fin.artifact_sha256,
                  actor, _ts(now)] for pk, attempts in done],
            )  # fmt: skip
            changed += len(done)
    return changed
