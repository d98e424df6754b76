"""A reviewer's morning in a real browser: log in, open the queue, approve one post, reject another
with a reason, and find both in the calendar with the right status. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt

import pytest

from publishing import services
from publishing.models import Post
from tests.conftest import SCREENSHOTS
from tests.factories import AccountFactory


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_reviewer_approves_and_rejects_then_sees_both_in_the_calendar(chromium, live_server, running_campaign, author,
                                                                      reviewer_user):  # fmt: skip
    when = dt.datetime(2031, 5, 12, 9, 30, tzinfo=running_campaign.tz)
    posts = {}
    for title in ("Spring teaser", "Flash sale"):
        posts[title] = services.post_create(campaign=running_campaign, author=author, title=title,
                                            body=f"{title}: see https://example.com #spring",
                                            accounts=[AccountFactory(platform="x")], scheduled_at=when)  # fmt: skip
        services.post_submit(post=posts[title], actor=author)

    page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    base = live_server.url
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", reviewer_user.username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("input[type=submit]")
    assert page.locator("#review-dashboard").is_visible()

    page.goto(f"{base}/admin/review/reviewitem/")
    assert page.locator("#result_list tbody tr").count() == 2
    page.screenshot(path=str(SCREENSHOTS / "review-queue.png"), full_page=True)

    # Approve "Spring teaser": tick it, choose the action, confirm on the page that lists it.
    page.locator("#result_list tr", has_text="Spring teaser").locator("input.action-select").check()
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    assert "Spring teaser" in page.locator("#decide-form").inner_text()
    page.click("#confirm-decision")
    assert "1 approved." in page.locator(".messagelist").inner_text()

    # Reject "Flash sale" with a reason.
    page.goto(f"{base}/admin/review/reviewitem/")
    page.locator("#result_list tr", has_text="Flash sale").locator("input.action-select").check()
    page.select_option("select[name=action]", "reject")
    page.click("button[name=index]")
    page.fill("#id_note", "Discounts need legal sign-off")
    page.click("#confirm-decision")
    assert "1 rejected." in page.locator(".messagelist").inner_text()

    # The item page of the rejected post: content, checks, history with the reason.
    page.goto(f"{base}/admin/review/reviewitem/?status=all")
    page.locator("#result_list a", has_text="Flash sale").click()
    page.locator("table.audit", has_text="Discounts need legal sign-off").wait_for()
    assert page.locator("mark.link").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "review-item.png"), full_page=True)

    page.goto(f"{base}/admin/review/reviewitem/calendar/?date=2031-05-01&campaign={running_campaign.pk}")
    cell = page.locator("td[data-date='2031-05-12']")
    assert "09:30" in cell.inner_text()
    assert cell.locator(".entry", has_text="Spring teaser").locator(".chip").inner_text() == "x · scheduled"
    assert cell.locator(".entry", has_text="Flash sale").locator(".chip").inner_text() == "x · rejected"
    page.screenshot(path=str(SCREENSHOTS / "review-calendar.png"), full_page=True)

    assert Post.objects.get(title="Spring teaser").status == "scheduled"
    assert Post.objects.get(title="Flash sale").rejection_reason == "Discounts need legal sign-off"
    for name in ("review-queue.png", "review-item.png", "review-calendar.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000
