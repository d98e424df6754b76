"""A cursor that sends its parameters apart from the SQL (server-side binding), for the bulk statements.

Django's PostgreSQL backend binds on the client by default: psycopg quotes every value into the SQL
text, and a list becomes an array literal built in Python. For the hot bulk statements (audit rows,
compare-and-set of many rows, ``unnest`` of arrays) that quoting was most of their Python time: 75
audit rows cost 3.5 ms of CPU through ``bulk_create`` and 0.95 ms as one ``INSERT … SELECT FROM
unnest`` on this cursor, where psycopg sends the arrays in binary (docs/benchmarks.md, stop 23).

Only for statements written for it: every parameter whose type PostgreSQL cannot infer needs a cast
(``%s::text[]``). The cursor goes through Django's wrapper, so errors are Django's and the query
counts in tests still see it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.backends.postgresql.base import ServerBindingCursor


@contextmanager
def bound_cursor(connection: Any) -> Iterator[Any]:
    """Django's cursor wrapper around a server-binding psycopg cursor on ``connection`` (PostgreSQL)."""
    connection.ensure_connection()
    connection.validate_thread_sharing()
    # _prepare_cursor is what connection.cursor() wraps its own cursor with: errors mapped to Django's,
    # queries logged when DEBUG or a test counts them.
    with connection._prepare_cursor(ServerBindingCursor(connection.connection)) as cursor:
        yield cursor
