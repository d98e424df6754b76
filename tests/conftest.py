from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.db import connections
from django_q.conf import Conf

from campaigns import actions
from campaigns import services as campaign_services
from tests.factories import CampaignFactory, UserFactory, reviewer


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    # Test users need no strong hashing; PBKDF2 would dominate the run time of factories.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def q_sync(monkeypatch):
    """django-q2 in sync mode: async_task runs the task inline (DESIGN.md: tests use sync)."""
    monkeypatch.setattr(Conf, "SYNC", True)
    # wake_dispatcher asks at most once a second per thread; a wake asked by the previous test
    # within that second must not swallow this test's (it did, in CI, depending on test order).
    monkeypatch.setattr(actions._wake_state, "last", 0.0, raising=False)


@pytest.fixture
def author(db):
    return UserFactory(username="alice")


@pytest.fixture
def reviewer_user(db):
    return reviewer("rita")


@pytest.fixture
def running_campaign(db, author, reviewer_user):
    campaign = CampaignFactory(owner=author)
    campaign_services.campaign_submit(campaign=campaign, actor=author)
    campaign_services.campaign_approve(campaign=campaign, actor=reviewer_user)
    campaign_services.campaign_start(campaign=campaign, actor=reviewer_user)
    return campaign


CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # git-ignored


@pytest.fixture
def chromium(monkeypatch):
    """Playwright driving Debian's Chromium (scripts/test installs it; no browser is ever downloaded)."""
    if not shutil.which("chromium") and not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the live server is another thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )  # fmt: skip
        yield browser
        browser.close()
        # While Playwright's loop runs in this thread, Django's connections are context-local: the
        # test's queries opened a connection pytest-django never sees, which kept the test database
        # from being dropped at the end of the run ("being accessed by other users").
        connections.close_all()
