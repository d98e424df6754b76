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

from django.db import connections, router
from django.db.backends.postgresql.base import ServerBindingCursor
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
