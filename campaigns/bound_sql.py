"""A cursor that sends its parameters apart from the SQL (server-side binding), for the bulk statements.

Django's PostgreSQL backend binds on the client by default: psycopg quotes every value into the SQL
text, and a list becomes an array literal built in Python. For the hot bulk statements (audit rows,
compare-and-set of many rows, ``unnest`` of arrays) that quoting was most of their Python time: 75
audit rows cost 3.5 ms of CPU through ``bulk_create`` and 0.95 ms as one ``INSERT … SELECT FROM
unnest`` on this cursor (docs/benchmarks.md, stop 23); its lists go as binary arrays.

Only for statements written for it: every parameter whose type PostgreSQL cannot infer needs a cast
(``%s::text[]``). The cursor goes through Django's wrapper, so errors are Django's and the query
counts in tests still see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, models, router
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import Case, Value, When
from psycopg.types.array import ListBinaryDumper


@contextmanager
def bound_cursor(connection: Any) -> Iterator[Any]:
    """Django's cursor wrapper around a server-binding psycopg cursor on ``connection`` (PostgreSQL)."""
    connection.ensure_connection()
    connection.validate_thread_sharing()
    # _prepare_cursor is what connection.cursor() wraps its own cursor with: errors mapped to Django's,
    # queries logged when DEBUG or a test counts them.
    raw = ServerBindingCursor(connection.connection)
    # A ``%s`` list would still go as a text array literal, each element escaped in Python: 1.9 ms for
    # 200 short strings against 0.03 ms in binary (psycopg 3.3). Binary for this cursor's lists only.
    raw.adapters.register_dumper(list, ListBinaryDumper)
    with connection._prepare_cursor(raw) as cursor:
        yield cursor


def bulk_insert(objs: list[Any]) -> None:
    """Insert ``objs`` (of one model) as ``bulk_create`` does and set their pks: on PostgreSQL in one
    ``INSERT … SELECT FROM unnest`` with binary arrays; elsewhere (the demo's SQLite) by bulk_create.

    Django's own bulk_create also unnests, but binds on the client: its arrays become text literals
    escaped in Python, which made 100 send attempts cost about 4 ms of CPU (a sixth of a group
    send's reservation, profiled). Same values as bulk_create: each concrete field's ``pre_save``
    and ``get_db_prep_save``; an auto primary key comes back by RETURNING, in row order.
    """
    if not objs:
        return
    model = type(objs[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model._base_manager.bulk_create(objs)
        return
    meta, quote = model._meta, connection.ops.quote_name
    pk = meta.pk
    auto_pk = pk.db_returning
    fields = [f for f in meta.concrete_fields if not (f is pk and auto_pk) and not getattr(f, "generated", False)]
    columns = [[f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs] for f in fields]
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    names = ", ".join(quote(f.column) for f in fields)
    # Names and types come from the model's meta; values are parameters.
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT * FROM unnest({arrays})"  # noqa: S608
    if auto_pk:
        sql += f" RETURNING {quote(pk.column)}"
    with bound_cursor(connection) as cursor:
        cursor.execute(sql, columns)
        if auto_pk:
            for obj, (value,) in zip(objs, cursor.fetchall(), strict=True):
                setattr(obj, pk.attname, value)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def update_rows(model: type[models.Model], pks: list[Any], *, updates: dict[str, Any],
                per_row: dict[Any, dict[str, Any]] | None = None, where: dict[str, Any] | None = None) -> list[Any]:  # fmt: skip
    """UPDATE the rows of ``pks`` that still match ``where`` (field → value); returns the pks updated.

    ``updates`` are the same for every row; ``per_row`` maps every pk to values of its own (the same
    fields for each). On PostgreSQL one ``UPDATE … FROM unnest(…) … RETURNING`` with the per-row
    values joined from binary arrays: Django would build a CASE with a WHEN per row and field, whose
    compilation cost more than the statement on the hot send paths. Elsewhere (SQLite), or with
    expressions (F, Case) in ``updates``: SELECT … FOR UPDATE, then the ORM's UPDATE with CASEs.
    """
    per_row, where = per_row or {}, where or {}
    connection = connections[router.db_for_write(model)]
    names = sorted({name for values in per_row.values() for name in values})
    plain = not any(hasattr(v, "resolve_expression") for v in updates.values())
    if connection.vendor == "postgresql" and plain:
        return _update_rows_sql(connection, model, pks, updates=updates, per_row=per_row, where=where, names=names)
    moved = list(model._base_manager.select_for_update().filter(pk__in=pks, **where).values_list("pk", flat=True))
    if moved:
        by_field = {
            name: Case(*[When(pk=pk, then=Value(per_row[pk][name])) for pk in moved], output_field=model._meta.get_field(name))
            for name in names
        }  # fmt: skip
        model._base_manager.filter(pk__in=moved).update(**updates, **by_field)
    return moved


def _update_rows_sql(
    connection: Any, model: type[models.Model], pks: list[Any], *, updates: dict[str, Any],
    per_row: dict[Any, dict[str, Any]], where: dict[str, Any], names: list[str],
) -> list[Any]:  # fmt: skip
    meta, quote = model._meta, connection.ops.quote_name
    sets, params = [], []
    for name, value in updates.items():
        field = meta.get_field(name)
        sets.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    pk_field = meta.pk
    table = quote(meta.db_table)
    if names:
        fields = [meta.get_field(name) for name in names]
        sets += [f"{quote(f.column)} = v.{quote(f.column)}" for f in fields]
        columns = [pk_field, *fields]
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
        source = f" FROM unnest({arrays}) AS v({', '.join(quote(f.column) for f in columns)})"
        conditions = [f"{table}.{quote(pk_field.column)} = v.{quote(pk_field.column)}"]
        params += [list(pks)] + [[f.get_db_prep_save(per_row[pk][f.name], connection) for pk in pks] for f in fields]
    else:
        source = ""
        conditions = [f"{table}.{quote(pk_field.column)} = ANY(%s::{pk_field.db_type(connection)}[])"]
        params.append(list(pks))
    for name, value in where.items():
        field = meta.get_field(name)
        conditions.append(f"{table}.{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    # Names come from the model's meta, values are parameters.
    sql = f"UPDATE {table} SET {', '.join(sets)}{source} WHERE {' AND '.join(conditions)}"  # noqa: S608
    sql += f" RETURNING {table}.{quote(pk_field.column)}"
    with bound_cursor(connection) as cur:
        cur.execute(sql, params)
        return [row[0] for row in cur.fetchall()]
