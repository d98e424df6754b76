from django import template
from django.db.models import Count

from campaigns.controls import flags_get
from campaigns.models import Action

register = template.Library()


@register.inclusion_tag("admin/campaigns/queue_summary.html")
def queue_summary() -> dict:
    """Counts by status for the admin index, with links to the filtered queue."""
    counts = dict(Action.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {"counts": [(s, counts.get(s, 0)) for s in Action.Status.values], "flags": flags_get()}
