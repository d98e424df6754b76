from datetime import datetime, time, timedelta

from django import template
from django.db.models import Min
from django.utils import timezone

from campaigns.models import Action
from publishing.models import PublishTarget, SocialAccount
from review.index import refresh
from review.models import ReviewItem

register = template.Library()


@register.inclusion_tag("admin/review/dashboard.html")
def review_dashboard() -> dict:
    """What needs a person today: reviews, failures, accounts to reconnect, today's posts."""
    refresh()
    pending = ReviewItem.objects.filter(status="pending_review")
    today = timezone.localdate()
    start = datetime.combine(today, time.min, tzinfo=timezone.get_current_timezone())
    outreach_sends = Action.objects.filter(
        action_type="send_email", not_before__range=(start, start + timedelta(days=1))
    )
    return {
        "pending": pending.count(),
        "oldest": pending.aggregate(m=Min("submitted_at"))["m"],
        "dead_letters": Action.objects.filter(status="dead_letter").count(),
        "needs_reconcile": PublishTarget.objects.filter(status="needs_reconcile").count(),
        "reconnect": SocialAccount.objects.filter(token_status__in=["revoked", "refresh_failed"]).count(),
        "today_posts": PublishTarget.objects.filter(due_at__range=(start, start + timedelta(days=1))).count(),
        "today_sends": outreach_sends.count(),
    }
