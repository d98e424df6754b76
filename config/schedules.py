"""django-q2 schedules, declared in code and applied by ``manage.py sync_schedules``.

Only schedules whose name starts with ``auto:`` are managed: sync creates, updates and
deletes those, and leaves schedules a person made in the admin alone.
"""

# How often IMAP inboxes are read; also the slot of the poll_imap action keys (one poll per slot).
IMAP_POLL_MINUTES = 5

SCHEDULES = [
    {
        "name": "auto:webhooks",
        "func": "campaigns.webhooks_out.webhook_scan_enqueue",
        "schedule_type": "I",  # each minute: new audit/action-log rows become signed webhook deliveries
        "minutes": 1,
        "repeats": -1,
    },
    {
        "name": "auto:dispatch",
        "func": "campaigns.tasks.dispatch_pass",
        "schedule_type": "I",  # minutes; actions enqueued as due also wake the dispatcher at once
        "minutes": 1,
        "repeats": -1,
    },
    {
        "name": "auto:ticks",
        "func": "campaigns.tasks.produce_ticks_task",
        "schedule_type": "I",
        "minutes": 1,  # = TICK_INTERVAL_SECONDS by default; a cron of every minute is django-q2's finest grain
        "repeats": -1,
    },
    {
        "name": "auto:metrics-fetch",
        "func": "analytics.tasks.enqueue_metric_fetches",
        "schedule_type": "H",  # hourly; each target is due hourly for 48 h, then daily to 30 days
        "repeats": -1,
    },
    {
        "name": "auto:metrics-rollup",
        "func": "analytics.tasks.enqueue_rollup",
        "schedule_type": "I",
        "minutes": 15,  # incremental; once a day it also redoes yesterday and today in full
        "repeats": -1,
    },
    {
        "name": "auto:event-partitions",
        "func": "campaigns.tasks.enqueue_event_partitions",
        "schedule_type": "D",  # daily: next months' partitions of the event log exist before they are needed
        "repeats": -1,
    },
    {
        "name": "auto:weekly-summary",
        "func": "analytics.tasks.enqueue_weekly_summaries",
        "schedule_type": "W",  # weekly; each campaign's summary of the last ISO week, once (keyed by week)
        "repeats": -1,
    },
    {
        "name": "auto:review-sweep",
        "func": "review.sweep.review_sweep_task",
        "schedule_type": "H",  # hourly: expire stale approvals, tell reviewers what waits
        "repeats": -1,
    },
    {
        "name": "auto:token-refresh",
        "func": "publishing.accounts.accounts_refresh_due",
        "schedule_type": "I",
        "minutes": 5,  # well inside TOKEN_REFRESH_AHEAD_SECONDS (15 min): every token gets two chances
        "repeats": -1,
    },
    {
        "name": "auto:imap-poll",
        "func": "outreach.imap_poll.imap_polls_enqueue_task",
        "schedule_type": "I",  # read replies from the IMAP inboxes set up in the admin
        "minutes": IMAP_POLL_MINUTES,
        "repeats": -1,
    },
]
