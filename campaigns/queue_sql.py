"""The dispatcher's hot statements in SQL, because each one must be a single round trip.

Claim: ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) RETURNING *``, so
picking and marking a batch is one statement, control flags included (a global pause or kill, or a
stopped campaign, claims nothing) (SQLite ≥ 3.35, used by the demo, runs the same
statement without the lock clause: it serialises writers anyway).
Finish: on PostgreSQL the status update and the execution-log insert are one statement (a
data-modifying CTE), and the log rows are written only for the actions this worker still held.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection

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
                       ORDER BY priority, not_before, id LIMIT %s{lock})
           AND status IN ('pending', 'retry_wait')
        RETURNING {CLAIM_COLUMNS}"""  # noqa: S608 - table names come from model meta, values are parameters
    actions = list(Action.objects.raw(sql, [token, _ts(locked_until), _ts(now), _ts(now), limit]))
    # RETURNING has no order; (priority, id) is close enough to the claim order within one batch.
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


def finish(
    *,
    ids: list[int],
    token: str,
    status: str,
    last_error: str,
    result: dict | None,
    not_before: datetime | None,
    finished_at: datetime | None,
    log: dict[str, str],
    now: datetime,
    refund_attempt: bool = False,
) -> int:
    """Write one result to the actions ``ids`` still locked by ``token``; log each. Returns rows changed."""
    result_json = None if result is None else json.dumps(result)
    extra_sets = ", not_before = %s" if not_before is not None else ""
    if refund_attempt:  # a release (paused, budget spent) is not a try
        extra_sets += ", attempts = attempts - 1"
    params: list[Any] = [status, last_error, result_json, _ts(finished_at)]
    if not_before is not None:
        params.append(_ts(not_before))
    log_values = [
        log["level"],
        status,
        log["message"],
        log["artifact_ref"],
        log["artifact_sha256"],
        log["actor"],
        _ts(now),
    ]
    columns = "action_id, attempt, level, status, message, artifact_ref, artifact_sha256, actor_label, created_at"
    if connection.vendor == "postgresql":
        sql = f"""
            WITH done AS (
                UPDATE {A} SET status = %s, last_error = %s, result = %s::jsonb, finished_at = %s,
                       locked_by = '', locked_until = NULL{extra_sets}
                 WHERE id = ANY(%s) AND locked_by = %s
                RETURNING id, attempts)
            INSERT INTO {L} ({columns})
            SELECT id, attempts, %s, %s, %s, %s, %s, %s, %s FROM done"""  # noqa: S608
        with connection.cursor() as cur:
            cur.execute(sql, [*params, ids, token, *log_values])
            return cur.rowcount
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE {A} SET status = %s, last_error = %s, result = %s, finished_at = %s,
                       locked_by = '', locked_until = NULL{extra_sets}
                 WHERE id IN ({marks}) AND locked_by = %s RETURNING id, attempts""",  # noqa: S608
            [*params, *ids, token],
        )
        done = cur.fetchall()
        cur.executemany(
            f"INSERT INTO {L} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",  # noqa: S608
            [[pk, attempts, *log_values] for pk, attempts in done],
        )
    return len(done)
