"""Token health: refresh ahead of expiry, 401 at publish → one refresh then revoked, never losing a good token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from pytest_httpserver import HTTPServer

from campaigns.audit import audit_trail
from campaigns.controls import control_set
from campaigns.dispatcher import Dispatcher
from campaigns.models import Action
from publishing import services
from publishing.accounts import account_refresh, accounts_refresh_due
from publishing.models import PublishTarget, SocialAccount
from tests.factories import AccountFactory

TS = SocialAccount.TokenStatus
TOKEN_OK = {"token_type": "bearer", "expires_in": 7200, "access_token": "new-access", "refresh_token": "new-refresh"}


@pytest.fixture
def fake(httpserver: HTTPServer, settings) -> HTTPServer:
    settings.X_API_BASE_URL = httpserver.url_for("").rstrip("/")
    settings.X_CLIENT_ID, settings.X_CLIENT_SECRET = "x-client", ""
    settings.HTTP_TIMEOUT_SECONDS = 2.0
    return httpserver


@pytest.fixture
def account(db):
    return AccountFactory(
        platform="x", handle="brand", external_id="2244994945", access_token="old-access",
        refresh_token="old-refresh", token_expires_at=timezone.now() + timedelta(hours=2),
    )  # fmt: skip


def statuses(account) -> list[tuple[str, str]]:
    return [(e.old, e.new) for e in audit_trail(account).order_by("pk") if e.action == "token_status:" + e.new]


def test_refresh_stores_new_tokens_and_records_each_move(fake, account):
    fake.expect_request("/2/oauth2/token", method="POST").respond_with_json(TOKEN_OK)

    account_refresh(account_id=account.pk, actor="test", reason="expiry near")

    account.refresh_from_db()
    assert (account.token_status, account.access_token, account.refresh_token) == (
        TS.REFRESHED,
        "new-access",
        "new-refresh",
    )
    assert statuses(account) == [("healthy", "expiring"), ("expiring", "refreshed")]
    assert not any("new-access" in str(e.data) + e.note for e in audit_trail(account))


def test_a_refused_refresh_revokes_and_keeps_the_old_tokens(fake, account):
    fake.expect_request("/2/oauth2/token", method="POST").respond_with_json({"error": "invalid_grant"}, status=400)

    account_refresh(account_id=account.pk, actor="test", reason="expiry near")

    account.refresh_from_db()
    assert account.token_status == TS.REVOKED
    assert (account.access_token, account.refresh_token) == ("old-access", "old-refresh")
    assert "HTTP 400" in account.token_error


def test_a_transient_refresh_failure_keeps_the_good_refresh_token_and_is_retried(fake, account):
    fake.expect_ordered_request("/2/oauth2/token", method="POST").respond_with_json({"status": 503}, status=503)
    fake.expect_ordered_request("/2/oauth2/token", method="POST").respond_with_json(TOKEN_OK)
    SocialAccount.objects.filter(pk=account.pk).update(token_expires_at=timezone.now() + timedelta(minutes=1))

    assert accounts_refresh_due() == {TS.REFRESH_FAILED: 1}
    account.refresh_from_db()
    assert (account.token_status, account.refresh_token) == (TS.REFRESH_FAILED, "old-refresh")

    assert accounts_refresh_due() == {TS.REFRESHED: 1}
    account.refresh_from_db()
    assert account.refresh_token == "new-refresh"
    assert [f.form["refresh_token"] for f, _ in fake.log] == ["old-refresh", "old-refresh"]


def test_refresh_ahead_leaves_accounts_far_from_expiry_alone(fake, account):
    assert accounts_refresh_due() == {}
    assert not fake.log


def test_an_account_whose_token_cannot_be_decrypted_is_skipped_and_the_others_still_refresh(fake, account, caplog):
    """A key dropped from FIELD_ENCRYPTION_KEYS too early: that account is named in the log and left as it
    is (not marked revoked: a missing key would revoke them all); the refresh goes on for the rest."""
    from django.db import connection

    soon = timezone.now() + timedelta(minutes=1)
    broken = AccountFactory(platform="x", handle="broken", external_id="1", access_token="a", refresh_token="r",
                            token_expires_at=soon)  # fmt: skip
    SocialAccount.objects.filter(pk=account.pk).update(token_expires_at=soon)
    with connection.cursor() as cur:
        cur.execute("UPDATE publishing_socialaccount SET refresh_token = 'not-a-fernet-token' WHERE id = %s",
                    [broken.pk])  # fmt: skip
    fake.expect_request("/2/oauth2/token", method="POST").respond_with_json(TOKEN_OK)
    assert accounts_refresh_due() == {"refreshed": 1, "undecryptable": 1}
    assert f"account {broken.pk} (broken)" in caplog.text
    assert SocialAccount.objects.filter(pk=broken.pk).values_list("token_status", flat=True).get() == "healthy"


# --- the publish handler ------------------------------------------------------------------


@pytest.fixture
def live_target(settings, running_campaign, author, reviewer_user, account):
    settings.PUBLISHING_MODE = "live"
    control_set(action="live", actor="test")
    control_set(action="live", actor="test", campaign=running_campaign)
    post = services.post_create(
        campaign=running_campaign, author=author, title="t", body="Token test", accounts=[account]
    )
    services.post_submit(post=post, actor=author)
    services.post_approve(post=post, actor=reviewer_user)
    return post.targets.get()


def drain() -> None:
    Dispatcher(worker_id="test").drain(max_batches=5)


def tweet_ok(fake, token: str) -> None:
    fake.expect_ordered_request(
        "/2/tweets", method="POST", headers={"Authorization": f"Bearer {token}"}
    ).respond_with_json({"data": {"id": "1445880548472328192", "text": "Token test"}}, status=201)


def unauthorized(fake, token: str) -> None:
    fake.expect_ordered_request(
        "/2/tweets", method="POST", headers={"Authorization": f"Bearer {token}"}
    ).respond_with_json(
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}, status=401
    )


def test_publish_sends_the_accounts_real_decrypted_token(fake, live_target):
    tweet_ok(fake, "old-access")
    drain()
    live_target.refresh_from_db()
    assert (live_target.status, live_target.platform_post_id) == ("published", "1445880548472328192")
    fake.check_assertions()


def test_401_at_publish_refreshes_once_and_publishes_with_the_new_token(fake, live_target, account):
    unauthorized(fake, "old-access")
    fake.expect_ordered_request("/2/oauth2/token", method="POST").respond_with_json(TOKEN_OK)
    tweet_ok(fake, "new-access")

    drain()

    live_target.refresh_from_db()
    account.refresh_from_db()
    assert live_target.status == "published"
    assert account.token_status == TS.REFRESHED
    assert [r.path for r, _ in fake.log] == ["/2/tweets", "/2/oauth2/token", "/2/tweets"]
    fake.check_assertions()


def test_401_again_after_a_refresh_revokes_the_account_and_fails_the_target(fake, live_target, account):
    unauthorized(fake, "old-access")
    fake.expect_ordered_request("/2/oauth2/token", method="POST").respond_with_json(TOKEN_OK)
    unauthorized(fake, "new-access")

    drain()

    live_target.refresh_from_db()
    account.refresh_from_db()
    assert account.token_status == TS.REVOKED
    assert live_target.status == "failed" and "401" in live_target.last_error
    assert len(fake.log) == 3  # never a fourth call


def test_an_expired_token_is_refreshed_before_the_attempt(fake, live_target, account):
    SocialAccount.objects.filter(pk=account.pk).update(token_expires_at=timezone.now() - timedelta(minutes=1))
    fake.expect_ordered_request("/2/oauth2/token", method="POST").respond_with_json(TOKEN_OK)
    tweet_ok(fake, "new-access")

    drain()

    live_target.refresh_from_db()
    assert live_target.status == "published"
    fake.check_assertions()


def test_a_revoked_account_holds_its_posts_without_calling_or_spending_attempts(fake, live_target, account):
    SocialAccount.objects.filter(pk=account.pk).update(token_status=TS.REVOKED, token_error="revoked by the user")

    drain()

    live_target.refresh_from_db()
    action = Action.objects.get(action_type="post_social")
    assert live_target.status == PublishTarget.Status.SCHEDULED
    assert (action.status, action.attempts) == ("retry_wait", 0)
    assert "needs reconnecting" in action.last_error
    assert not fake.log


def test_the_refresh_command_reports_what_it_did(fake, account):
    from io import StringIO

    from django.core.management import call_command

    SocialAccount.objects.filter(pk=account.pk).update(token_expires_at=timezone.now() + timedelta(minutes=1))
    fake.expect_request("/2/oauth2/token", method="POST").respond_with_json(TOKEN_OK)
    out = StringIO()
    call_command("refresh_tokens", stdout=out)
    assert out.getvalue().strip() == "refreshed=1"
