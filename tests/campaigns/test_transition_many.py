"""transition_many: one compare-and-set UPDATE for many rows, with values of their own per row."""

from __future__ import annotations

import pytest
from django.db.models import Value

from campaigns.audit import audit_trail, transition_many
from campaigns.errors import InvalidTransition
from publishing.models import PublishTarget
from tests.factories import TargetFactory

T = PublishTarget.Status


@pytest.mark.parametrize(
    "last_error",
    ["", Value("")],
    ids=["one statement (PostgreSQL, plain values)", "ORM fallback (an expression among the updates)"],
)
def test_rows_still_in_the_old_status_move_with_their_own_values_and_an_audit_row(db, last_error):
    moving = TargetFactory.create_batch(3, status=T.PUBLISHING, last_error="was failing")
    elsewhere = TargetFactory(status=T.FAILED, platform_post_id="kept")
    pks = [t.pk for t in [*moving, elsewhere]]

    moved = transition_many(
        PublishTarget, pks, T.PUBLISHED, old=T.PUBLISHING, actor="worker", actors={moving[0].pk: "action:1"},
        updates={"last_error": last_error},
        per_row={pk: {"platform_post_id": f"id-{pk}", "platform_url": f"https://p/{pk}"} for pk in pks},
    )  # fmt: skip

    assert sorted(moved) == sorted(t.pk for t in moving)
    for target in moving:
        target.refresh_from_db()
        assert (target.status, target.platform_post_id, target.platform_url, target.last_error) == (
            T.PUBLISHED, f"id-{target.pk}", f"https://p/{target.pk}", "")  # fmt: skip
        [entry] = audit_trail(target)
        assert (entry.action, entry.old, entry.new) == ("status:published", T.PUBLISHING, T.PUBLISHED)
    assert audit_trail(moving[0]).get().actor_label == "action:1"
    assert audit_trail(moving[1]).get().actor_label == "worker"
    elsewhere.refresh_from_db()
    assert (elsewhere.status, elsewhere.platform_post_id) == (T.FAILED, "kept")
    assert not audit_trail(elsewhere).exists()


def test_nothing_in_the_old_status_writes_nothing_and_a_forbidden_move_is_refused(db):
    target = TargetFactory(status=T.FAILED)
    assert transition_many(PublishTarget, [target.pk], T.PUBLISHED, old=T.PUBLISHING, actor=None) == []
    assert not audit_trail(target).exists()
    with pytest.raises(InvalidTransition):
        transition_many(PublishTarget, [target.pk], T.PUBLISHING, old=T.PUBLISHED, actor=None)


def test_audit_rows_in_bulk_keep_user_label_note_and_data_as_one_row_would(db, django_user_model):
    from campaigns.audit import audit_record, audit_record_many

    user = django_user_model.objects.create_user("rita", password="x")
    bulk, single = TargetFactory.create_batch(2)
    entry = {"actor": user, "action": "status:published", "old": "publishing", "new": "published",
             "note": "step 1 sent", "data": {"id": "ü-1", "n": [1, None]}}  # fmt: skip
    audit_record_many(model=PublishTarget, entries=[{"pk": bulk.pk, **entry}, {"pk": single.pk, "actor": None,
                                                                               "action": "x"}])  # fmt: skip
    audit_record(obj=single, **entry)

    fields = ("content_type_id", "actor_id", "actor_label", "action", "old", "new", "note", "data")
    written = audit_trail(bulk).get()
    expected = audit_trail(single).filter(actor=user).get()
    assert [getattr(written, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert written.object_id == str(bulk.pk) and written.created_at is not None
    bare = audit_trail(single).get(action="x")
    assert (bare.actor_id, bare.actor_label, bare.old, bare.note, bare.data) == (None, "system", "", "", {})
