"""Settings for the django-post-office contender of bench/email_dispatch.py only (it is not a dependency)."""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]  # noqa: F405
POST_OFFICE = {"BATCH_SIZE": 1000, "THREADS_PER_PROCESS": 5, "LOG_LEVEL": 0, "MESSAGE_ID_ENABLED": False}
