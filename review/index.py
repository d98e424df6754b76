"""Keep ReviewItem equal to the reviewable objects, reading the audit trail as an outbox.

A status change of a reviewable object writes an AuditEntry in the same transaction (that is how
every status changes), so reading new audit rows finds every item whose queue row is stale. Rows
are re-read for a short window behind the cursor because an audit row with a smaller id can commit
after a larger one; re-processing is idempotent (each row is rebuilt from the object itself).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import AuditEntry

from .kinds import KINDS, Kind
from .models import ReviewCursor, ReviewItem

SETTLE = timedelta(seconds=10)  # audit rows younger than this are read again next time
BATCH = 5000


def _content_types() -> dict[int, Kind]:
    return {ContentType.objects.get_for_model(k.model_class).pk: k for k in KINDS.values()}


def refresh_objects(kind: Kind, object_ids: list[int]) -> int:
    """Rebuild the queue rows of these objects from their current state."""
    ct = ContentType.objects.get_for_model(kind.model_class)
    objects = {o.pk: o for o in kind.queryset().filter(pk__in=object_ids)}
    # The last move to pending_review of each object (ordered, so the latest wins in the dict).
    submitted = dict(
        AuditEntry.objects.filter(content_type=ct, object_id__in=[str(i) for i in object_ids], new="pending_review")
        .order_by("created_at")
        .values_list("object_id", "created_at")
    )
    ReviewItem.objects.filter(content_type=ct, object_id__in=set(object_ids) - set(objects)).delete()
    rows = []
    for pk, obj in objects.items():
        snap = kind.snapshot(obj)
        rows.append(ReviewItem(content_type=ct, object_id=pk, kind=kind.name, submitted_at=submitted.get(str(pk)),
                               **snap))  # fmt: skip
    ReviewItem.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["content_type", "object_id"],
        update_fields=["kind", "title", "campaign_id", "platforms", "author_id", "status", "submitted_at",
                       "scheduled_at", "content_sha256", "updated_at"],
    )  # fmt: skip
    return len(rows)


def refresh_status(kind: Kind, object_ids: list[int]) -> int:
    """After a decision only the status moved: copy it from the objects in one UPDATE."""
    ct = ContentType.objects.get_for_model(kind.model_class)
    current = kind.model_class._base_manager.filter(pk=OuterRef("object_id")).values("status")[:1]
    return ReviewItem.objects.filter(content_type=ct, object_id__in=object_ids).update(status=Subquery(current))


def refresh() -> int:
    """Catch up with the audit trail; returns how many queue rows were rebuilt. One query when idle."""
    kinds = _content_types()
    last_seen = Coalesce(Subquery(ReviewCursor.objects.filter(name="audit").values("last_audit_id")[:1]), Value(0))
    entries = list(
        AuditEntry.objects.filter(id__gt=last_seen, content_type_id__in=kinds)
        .order_by("id")
        .values_list("id", "content_type_id", "object_id", "created_at")[:BATCH]
    )
    if not entries:
        return 0
    touched: dict[int, set[int]] = defaultdict(set)
    for _, ct, object_id, _ in entries:
        touched[ct].add(int(object_id))
    settle_before = timezone.now() - SETTLE
    with transaction.atomic():
        count = sum(refresh_objects(kinds[ct], sorted(ids)) for ct, ids in touched.items())
        # Advance over settled rows only, and never past a young one (it may have older neighbours
        # still to commit); young rows are read again next time, which is idempotent.
        young = next((pk for pk, _, _, at in entries if at >= settle_before), None)
        new_cursor = (young - 1) if young is not None else entries[-1][0]
        cursor, _ = ReviewCursor.objects.get_or_create(name="audit")
        if new_cursor > cursor.last_audit_id:
            ReviewCursor.objects.filter(pk=cursor.pk).update(last_audit_id=new_cursor)
    return count
