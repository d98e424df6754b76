"""Actions keep their place in line (``due_at``: when first due) across retries and releases.

The claim orders by (priority, due_at, id) instead of (priority, not_before, id): an action
released for a rate limit used to go behind everything that fell due while it waited.
"""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0006_event_log_partitioned_by_month"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="action", name="action_claimable"),
        migrations.AddField(
            model_name="action",
            name="due_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        # Existing actions: their best known place is the time they are next due.
        migrations.RunSQL("UPDATE campaigns_action SET due_at = not_before", migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="action",
            index=models.Index(
                condition=models.Q(("status__in", ["pending", "retry_wait"])),
                fields=["priority", "due_at", "id"],
                name="action_claimable_due",
            ),
        ),
    ]
