"""Settings, all read from the environment (see README's configuration table)."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from . import schedules
from .env import env_bool, env_choice, env_db, env_float, env_list, field_encryption_keys, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

DJANGO_ENV = env_choice("DJANGO_ENV", "development", ("development", "production"))
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = secret_key(production=PRODUCTION, var_dir=VAR_DIR)
# Social account tokens at rest (publishing/crypto.py): the first key encrypts, all decrypt.
FIELD_ENCRYPTION_KEYS = field_encryption_keys(production=PRODUCTION, var_dir=VAR_DIR)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "campaigns",
    "publishing",
    "outreach",
    "analytics",
    "review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "campaigns.middleware.RefuseNulInQueryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_db("DATABASE_URL", f"sqlite:///{VAR_DIR / 'demo.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo runs the web server and the django-q2 cluster on one file. A busy timeout alone is not
    # enough: a transaction that read first and then writes gets "database is locked" at once (SQLite
    # will not wait there, to avoid a deadlock). BEGIN IMMEDIATE takes the write lock up front, so it
    # waits its turn instead; WAL lets the admin read while the cluster writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Serve the admin's files from the app directories without collectstatic (demo and tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Security (manage.py check --deploy is clean with DJANGO_ENV=production values) ---
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_HSTS_SECONDS = int(env_float("SECURE_HSTS_SECONDS", 31536000)) if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", PRODUCTION) else None
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "campaigns.api.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["campaigns.api.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "campaigns.api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "campaigns.api.schema.ApiAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
# --- HTTP API (/api/v1/, campaigns/api/ and each app's api/ package; docs/api.md) ---
API_THROTTLE_RATE = int(env_float("API_THROTTLE_RATE", 600))  # requests per minute per token, unless the token says
API_IDEMPOTENCY_TTL_SECONDS = int(env_float("API_IDEMPOTENCY_TTL_SECONDS", 86400))
API_IDEMPOTENCY_LOCK_SECONDS = int(env_float("API_IDEMPOTENCY_LOCK_SECONDS", 60))  # an in-flight key older is abandoned
# Action types a client may enqueue itself; publishing and sending are enqueued only by approvals and ticks.
API_ENQUEUE_ACTION_TYPES = env_list("API_ENQUEUE_ACTION_TYPES", ["noop", "fetch_metrics", "rollup_metrics"])
# Outgoing webhooks: loopback destinations only when this is set (tests); private/link-local never.
WEBHOOK_ALLOW_LOOPBACK = env_bool("WEBHOOK_ALLOW_LOOPBACK", False)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_MAX_ATTEMPTS = int(env_float("WEBHOOK_MAX_ATTEMPTS", 8))
SPECTACULAR_SETTINGS = {
    "TITLE": "Campaign automation API",
    "DESCRIPTION": "The API of the autonomy layer and integrations: see docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "campaigns.models.Campaign.Status",
        "ActionStatusEnum": "campaigns.models.Action.Status",
        "PostStatusEnum": "publishing.models.Post.Status",
        "TargetStatusEnum": "publishing.models.PublishTarget.Status",
        "TokenStatusEnum": "publishing.models.SocialAccount.TokenStatus",
        "LeadStatusEnum": "outreach.models.Lead.Status",
        "ConsentEnum": "outreach.models.Lead.Consent",
        "EnrollmentStatusEnum": "outreach.models.Enrollment.Status",
    },
    "APPEND_COMPONENTS": {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
    },
    "SECURITY": [{"bearerAuth": []}],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "campaigns.api.schema.add_problem_component",
    ],
}

# --- Publishing ---
PUBLISHING_MODE = env_choice("PUBLISHING_MODE", "proof", ("proof", "live"))
ARTIFACTS_DIR = Path(os.environ.get("ARTIFACTS_DIR", VAR_DIR / "artifacts"))
HTTP_TIMEOUT_SECONDS = env_float("HTTP_TIMEOUT_SECONDS", 10.0)
X_API_BASE_URL = os.environ.get("X_API_BASE_URL", "https://api.x.com")
LINKEDIN_API_BASE_URL = os.environ.get("LINKEDIN_API_BASE_URL", "https://api.linkedin.com")
LINKEDIN_API_VERSION = os.environ.get("LINKEDIN_API_VERSION", "202510")
GRAPH_API_BASE_URL = os.environ.get("GRAPH_API_BASE_URL", "https://graph.facebook.com")
GRAPH_API_VERSION = os.environ.get("GRAPH_API_VERSION", "v23.0")
BLUESKY_PDS_URL = os.environ.get("BLUESKY_PDS_URL", "https://bsky.social")
MASTODON_BASE_URL = os.environ.get("MASTODON_BASE_URL", "https://mastodon.social")
# Instagram Business Login tokens are refreshed on graph.instagram.com, not graph.facebook.com.
INSTAGRAM_API_BASE_URL = os.environ.get("INSTAGRAM_API_BASE_URL", "https://graph.instagram.com")
# OAuth apps (connect flows in publishing/oauth_views.py; token refresh in the adapters). Empty = not offered.
X_CLIENT_ID = os.environ.get("X_CLIENT_ID", "")
X_CLIENT_SECRET = os.environ.get("X_CLIENT_SECRET", "")
X_AUTHORIZE_URL = os.environ.get("X_AUTHORIZE_URL", "https://x.com/i/oauth2/authorize")
LINKEDIN_CLIENT_ID = os.environ.get("LINKEDIN_CLIENT_ID", "")
LINKEDIN_CLIENT_SECRET = os.environ.get("LINKEDIN_CLIENT_SECRET", "")
LINKEDIN_OAUTH_BASE_URL = os.environ.get("LINKEDIN_OAUTH_BASE_URL", "https://www.linkedin.com")
META_APP_ID = os.environ.get("META_APP_ID", "")
META_APP_SECRET = os.environ.get("META_APP_SECRET", "")
META_DIALOG_BASE_URL = os.environ.get("META_DIALOG_BASE_URL", "https://www.facebook.com")
# Refresh an access token this long before it expires (publishing/accounts.py).
TOKEN_REFRESH_AHEAD_SECONDS = env_float("TOKEN_REFRESH_AHEAD_SECONDS", 900)
# Rate budgets (publishing/ratebudget.py): stop calling when this fraction of a window is left.
RATE_BUDGET_RESERVE_FRACTION = env_float("RATE_BUDGET_RESERVE_FRACTION", 0.02)
# Outbound publish calls in flight per worker process (publishing/calls.py; the concurrent worker
# sets it to its --threads), and per social account.
PUBLISH_MAX_IN_FLIGHT = int(env_float("PUBLISH_MAX_IN_FLIGHT", 20))
PUBLISH_CONCURRENCY_PER_ACCOUNT = int(env_float("PUBLISH_CONCURRENCY_PER_ACCOUNT", 2))

# --- Analytics ---
# Public base of tracked links (/c/<code>) written into posts and emails.
TRACKED_LINK_BASE_URL = os.environ.get("TRACKED_LINK_BASE_URL", "http://localhost:8000")
# Who rewrites links in posts and emails to tracked /c/<code> URLs (campaigns/tracking.py); set
# TRACK_LINKS=false to send links as written.
TRACKED_LINK_REWRITER = "analytics.links.links_rewrite" if env_bool("TRACK_LINKS", True) else ""
# The event log (PostgreSQL: monthly partitions). Months created ahead of time, and after how many
# months a month is detached from the log (0: never; detached tables are kept for a dump).
EVENT_PARTITIONS_AHEAD_MONTHS = int(env_float("EVENT_PARTITIONS_AHEAD_MONTHS", 3))
EVENT_RETENTION_MONTHS = int(env_float("EVENT_RETENTION_MONTHS", 0))
# Attribution: touches up to this many days before a conversion count; time decay halves per half-life.
ATTRIBUTION_LOOKBACK_DAYS = int(env_float("ATTRIBUTION_LOOKBACK_DAYS", 30))
ATTRIBUTION_HALF_LIFE_DAYS = env_float("ATTRIBUTION_HALF_LIFE_DAYS", 7.0)

# An outcome-unknown post missing from the platform's recent posts counts as absent only after this
# long: platforms list a new post with a delay.
RECONCILE_MIN_AGE_SECONDS = env_float("RECONCILE_MIN_AGE_SECONDS", 120)

# --- Review ---
# Bulk decisions post one field per selected item: allow a thousand-item approval.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
# Reviewer must differ from the author unless this is set (e.g. a one-person team).
REVIEW_ALLOW_SELF_APPROVAL = env_bool("REVIEW_ALLOW_SELF_APPROVAL", False)
# An approval older than this no longer lets content out (0 = approvals never expire).
REVIEW_APPROVAL_MAX_AGE_HOURS = env_float("REVIEW_APPROVAL_MAX_AGE_HOURS", 168, allow_zero=True)
# Reviewers are emailed about items waiting longer than this.
REVIEW_WAIT_ALERT_HOURS = env_float("REVIEW_WAIT_ALERT_HOURS", 24)

# --- Action queue ---
# Action types by dotted path, like MIDDLEWARE: the queue (campaigns) never imports the apps it runs.
# See campaigns/registry.py for the keys.
ACTION_TYPES = {
    "noop": {"handler": "campaigns.handlers.noop", "schema": {"type": "object"}},
    # The event log's monthly partitions (campaigns/event_partitions.py), daily.
    "event_partitions": {
        "handler": "campaigns.handlers.event_partitions",
        "schema": {"type": "object", "additionalProperties": False},
        "priority": 170,
        "max_attempts": 3,
    },
    # Outgoing webhooks (campaigns/webhooks_out.py): the scan fans audit rows out, deliveries retry with backoff.
    "webhook_scan": {
        "handler": "campaigns.webhooks_out.webhook_scan",
        "schema": "campaigns.webhooks_out.SCAN_PAYLOAD",
        "priority": 180,
        "max_attempts": 3,
    },
    "deliver_webhook": {
        "handler": "campaigns.webhooks_out.deliver_webhook",
        "schema": "campaigns.webhooks_out.DELIVER_PAYLOAD",
        "priority": 190,
        "max_attempts": WEBHOOK_MAX_ATTEMPTS,
    },
    "campaign_tick": {
        "handler": "campaigns.ticks.campaign_tick",
        "schema": "campaigns.ticks.TICK_PAYLOAD",
        "priority": 50,  # ticks first: they feed everything else
        "max_attempts": 3,
    },
    "post_social": {
        "handler": "publishing.handlers.post_social",
        "group_handler": "publishing.group_publish.post_social_group",  # one reservation, the calls concurrently
        "schema": "publishing.handlers.POST_SOCIAL_PAYLOAD",
    },
    "fetch_metrics": {
        "handler": "analytics.handlers.fetch_metrics",
        "schema": "analytics.handlers.FETCH_METRICS_PAYLOAD",
        "priority": 150,  # reads: after publishing and sends
    },
    "rollup_metrics": {
        "handler": "analytics.handlers.rollup_metrics",
        "schema": "analytics.handlers.ROLLUP_PAYLOAD",
        "priority": 160,
    },
    "weekly_summary": {
        "handler": "analytics.handlers.weekly_summary",
        "schema": "analytics.handlers.WEEKLY_SUMMARY_PAYLOAD",
        "priority": 170,
        "max_attempts": 3,
    },
    "review_sweep": {"handler": "review.sweep.review_sweep", "schema": "review.sweep.SWEEP_PAYLOAD", "max_attempts": 3},
    "reconcile_publish": {
        "handler": "publishing.handlers.reconcile_publish",
        "schema": "publishing.handlers.RECONCILE_PAYLOAD",
        "priority": 60,
        "max_attempts": 10,
    },
    "send_email": {
        "handler": "outreach.handlers.send_email",
        "group_handler": "outreach.group_send.send_email_group",  # a claimed batch's emails, grouped
        "schema": "outreach.handlers.SEND_EMAIL_PAYLOAD",
    },
    "send_confirmation": {
        "handler": "outreach.handlers.send_confirmation",
        "schema": "outreach.handlers.SEND_CONFIRMATION_PAYLOAD",
        "priority": 80,  # someone is waiting for it
    },
    "process_esp_event": {
        "handler": "outreach.handlers.process_esp_event",
        "schema": "outreach.handlers.PROCESS_ESP_EVENT_PAYLOAD",
        "priority": 70,  # bounces and unsubscribes must land before the next sends
    },
    "poll_imap": {
        "handler": "outreach.handlers.poll_imap",
        "schema": "outreach.handlers.POLL_IMAP_PAYLOAD",
        "priority": 75,  # replies stop sequences: read them before the next sends
        "max_attempts": 3,  # keyed per poll slot; the next slot tries again anyway
    },
}
ACTION_MAX_ATTEMPTS = int(env_float("ACTION_MAX_ATTEMPTS", 5))
# /health/ answers 503 when work is due and the dispatcher has not beaten for this long.
HEALTH_HEARTBEAT_MAX_AGE_SECONDS = env_float("HEALTH_HEARTBEAT_MAX_AGE_SECONDS", 180)
ACTION_LEASE_SECONDS = int(env_float("ACTION_LEASE_SECONDS", 300))
DISPATCH_BATCH_SIZE = int(env_float("DISPATCH_BATCH_SIZE", 25))
# Actions of a type with a group handler (send_email, post_social) are run up to this many at a time by
# one call (never more than a claimed batch holds). 100: per-group statements stop dominating (stop 25
# in docs/benchmarks.md: 0.3x raw smtplib at 25, 0.45x at 100, same code); more means more messages
# whose "sent" waits for the whole group, and more to reconcile after a crash mid-group.
GROUP_HANDLER_SIZE = int(env_float("GROUP_HANDLER_SIZE", 100))
# Ticks: one slot every TICK_INTERVAL_SECONDS; producers find due work for a campaign (dotted paths,
# each called as producer(campaign=, now=, parent=, force_proof=) -> number of actions enqueued).
TICK_INTERVAL_SECONDS = int(env_float("TICK_INTERVAL_SECONDS", 60))
TICK_LEASE_SECONDS = int(env_float("TICK_LEASE_SECONDS", 90))
TICK_PRODUCERS = ["publishing.producers.due_targets", "outreach.producers.due_steps"]

# --- django-q2: the trigger, not the source of truth (DESIGN.md) ---
Q_CLUSTER = {
    "name": "campaigns",
    "orm": "default",
    "workers": int(env_float("Q_WORKERS", 2)),
    "timeout": 90,
    "retry": 180,  # well above timeout, so a task is never handed out twice while still running
    "max_attempts": 1,  # our action table carries attempts; django-q2 must not re-run on its own
    "ack_failures": True,
    "catch_up": False,
    "save_limit": -1,
    "sync": env_bool("Q_SYNC", False),
    "poll": 1,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "INFO" if not DEBUG else "DEBUG"},
    # django-q2 logs every enqueued task at INFO: one line per dispatcher wake-up is noise.
    "loggers": {"django.db.backends": {"level": "INFO"}, "django-q": {"level": "WARNING"}},
}

# django-q2 schedules declared in code (config/schedules.py), applied by manage.py sync_schedules.
SCHEDULES = schedules.SCHEDULES

# --- Outreach (email sequences, capture, ESP webhooks) ---
# Absolute https base of public links in emails (unsubscribe, double opt-in confirmation).
OUTREACH_PUBLIC_BASE_URL = os.environ.get("OUTREACH_PUBLIC_BASE_URL", "https://localhost")
# mailto: target of List-Unsubscribe; empty = unsubscribe@<the sending mailbox's domain>.
OUTREACH_UNSUBSCRIBE_MAILTO = os.environ.get("OUTREACH_UNSUBSCRIBE_MAILTO", "")
OUTREACH_REPLY_CLASSIFIER = os.environ.get("OUTREACH_REPLY_CLASSIFIER", "outreach.replies.classify_rules")
# IMAP polling (outreach.imap_poll), the alternative to an ESP's inbound webhook: inboxes are set up
# in the admin; these bound each poll. A first poll reads IMAP_BACKFILL_DAYS before the inbox was added.
IMAP_TIMEOUT_SECONDS = env_float("IMAP_TIMEOUT_SECONDS", 20.0)
IMAP_SSL_CAFILE = os.environ.get("IMAP_SSL_CAFILE", "")  # empty = the system's CA store
IMAP_FETCH_BATCH = int(env_float("IMAP_FETCH_BATCH", 50))  # messages per FETCH and per committed batch
IMAP_BACKFILL_DAYS = int(env_float("IMAP_BACKFILL_DAYS", 14))
IMAP_POLL_MINUTES = schedules.IMAP_POLL_MINUTES
# django-anymail webhooks (/anymail/<esp>/tracking/ and /inbound/): basic auth for all ESPs
# ("user:pass", put the credentials in the webhook URL) plus each ESP's signature key where it has one.
ANYMAIL = {
    key: value
    for key, value in {
        "WEBHOOK_SECRET": os.environ.get("ANYMAIL_WEBHOOK_SECRET", ""),
        "MAILGUN_WEBHOOK_SIGNING_KEY": os.environ.get("MAILGUN_WEBHOOK_SIGNING_KEY", ""),
        "RESEND_SIGNING_SECRET": os.environ.get("RESEND_SIGNING_SECRET", ""),
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": os.environ.get("SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY", ""),
        "POSTAL_WEBHOOK_KEY": os.environ.get("POSTAL_WEBHOOK_KEY", ""),
        "MAILERSEND_WEBHOOK_SIGNING_SECRET": os.environ.get("MAILERSEND_WEBHOOK_SIGNING_SECRET", ""),
    }.items()
    if value
}

# --- Email sending (publishing/adapters/email.py): SMTP or an ESP through django-anymail ---
EMAIL_PROVIDER = env_choice(
    "EMAIL_PROVIDER", "smtp", ("smtp", "console", "sendgrid", "mailgun", "postmark", "resend", "amazon_ses")
)
EMAIL_BACKEND = (
    os.environ.get("EMAIL_BACKEND")
    or {
        "smtp": "django.core.mail.backends.smtp.EmailBackend",
        "console": "django.core.mail.backends.console.EmailBackend",
        "sendgrid": "anymail.backends.sendgrid.EmailBackend",
        "mailgun": "anymail.backends.mailgun.EmailBackend",
        "postmark": "anymail.backends.postmark.EmailBackend",
        "resend": "anymail.backends.resend.EmailBackend",
        "amazon_ses": "anymail.backends.amazon_ses.EmailBackend",  # needs boto3, not pinned here
    }[EMAIL_PROVIDER]
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env_float("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 30)  # an SMTP call without a timeout can hang a worker forever
# Domain of the Message-IDs we generate; empty = the From address's domain.
EMAIL_MESSAGE_ID_DOMAIN = os.environ.get("EMAIL_MESSAGE_ID_DOMAIN", "")
# Header carrying our idempotency key where the provider reads one (Resend over SMTP: Resend-Idempotency-Key).
EMAIL_IDEMPOTENCY_HEADER = os.environ.get("EMAIL_IDEMPOTENCY_HEADER", "")
_ESP_KEYS = {
    "sendgrid": ["SENDGRID_API_KEY"],
    "mailgun": ["MAILGUN_API_KEY", "MAILGUN_SENDER_DOMAIN"],
    "postmark": ["POSTMARK_SERVER_TOKEN"],
    "resend": ["RESEND_API_KEY"],
}
for _name in _ESP_KEYS.get(EMAIL_PROVIDER, []):
    if os.environ.get(_name):
        ANYMAIL[_name] = os.environ[_name]
    elif PRODUCTION:
        raise ImproperlyConfigured(f"{_name}: required when EMAIL_PROVIDER={EMAIL_PROVIDER} and DJANGO_ENV=production")
