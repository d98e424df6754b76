"""The server-binding cursor and the bulk insert built on it: the same rows as the ORM, arrays in binary."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from psycopg.adapt import PyFormat
from psycopg.types.array import ListBinaryDumper

from campaigns.bound_sql import bound_cursor, bulk_insert, update_rows
from campaigns.models import AuditEntry, Campaign

pytestmark = pytest.mark.django_db

AWKWARD = ["plain", 'quote " and \\ backslash', "comma, {brace}", "", None, "NULL", "zoë ✓"]


def test_a_list_goes_as_a_binary_array_and_comes_back_as_it_was():
    with bound_cursor(connection) as cursor:
        assert cursor.cursor.adapters.get_dumper(list, PyFormat.AUTO) is ListBinaryDumper
        cursor.execute("SELECT %s::text[], %s::bigint[]", [AWKWARD, [1, None, 2**40]])
        assert cursor.fetchone() == (AWKWARD, [1, None, 2**40])


def _entries(content_type, actor, note_prefix: str) -> list[AuditEntry]:
    at = datetime.datetime(2026, 12, 8, 9, 30, tzinfo=datetime.UTC)
    return [
        AuditEntry(content_type=content_type, object_id=str(n), actor=actor if n % 2 else None,
                   actor_label=f"user {n}", action="status:sent", old="sending", new="sent",
                   note=f"{note_prefix} {AWKWARD[n % len(AWKWARD)] or ''}",
                   data={"n": n, "text": AWKWARD[n % len(AWKWARD)]}, created_at=at)
        for n in range(20)
    ]  # fmt: skip


def test_bulk_insert_writes_what_bulk_create_writes_and_sets_the_ids():
    content_type = ContentType.objects.get_for_model(Campaign)
    actor = get_user_model().objects.create_user("auditor", password="x")
    ours, django = _entries(content_type, actor, "ours"), _entries(content_type, actor, "django")

    bulk_insert(ours)
    AuditEntry.objects.bulk_create(django)

    assert all(e.pk and not e._state.adding for e in ours)
    assert len({e.pk for e in ours}) == 20
    columns = [f.attname for f in AuditEntry._meta.concrete_fields if f.attname not in ("id", "note")]
    rows = {e.pk: e for e in AuditEntry.objects.all()}
    for mine, theirs in zip(ours, django, strict=True):
        stored, reference = rows[mine.pk], rows[theirs.pk]
        assert [getattr(stored, c) for c in columns] == [getattr(reference, c) for c in columns]
        assert stored.note.removeprefix("ours") == reference.note.removeprefix("django")
        assert stored.object_id == mine.object_id  # RETURNING gave each object its own row's id


def test_bulk_insert_of_nothing_does_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        bulk_insert([])


def test_update_rows_gives_each_row_its_own_values_and_skips_rows_the_condition_excludes():
    content_type = ContentType.objects.get_for_model(Campaign)
    entries = _entries(content_type, None, "n")[:4]
    bulk_insert(entries)
    pks = [e.pk for e in entries]
    AuditEntry.objects.filter(pk=pks[3]).update(old="other")

    moved = update_rows(AuditEntry, pks, updates={"new": "done"}, where={"old": "sending"},
                        per_row={pk: {"note": f"row {pk}", "object_id": str(-pk)} for pk in pks})  # fmt: skip

    assert sorted(moved) == pks[:3]
    rows = {e.pk: e for e in AuditEntry.objects.filter(pk__in=pks)}
    assert [(rows[pk].new, rows[pk].note, rows[pk].object_id) for pk in pks[:3]] == [
        ("done", f"row {pk}", str(-pk)) for pk in pks[:3]
    ]
    assert (rows[pks[3]].new, rows[pks[3]].note) == ("sent", entries[3].note)  # its condition failed: untouched
