"""Settings for child processes started by tests: the real settings plus the test-only action types."""

from config.settings import *  # noqa: F403
from config.settings import ACTION_TYPES

ACTION_TYPES = {**ACTION_TYPES, "record": {"handler": "tests.campaigns.handlers.record"}}
