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
