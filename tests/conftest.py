from __future__ import annotations

import pytest
from django_q.conf import Conf

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
