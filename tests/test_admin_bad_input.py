"""Bad input to the admin found by fuzzing it as a superuser: each was a 500 (or worse) before.

The worst: a reschedule to year 1 in a zone east of UTC stored a time before year 1 in UTC, after
which PostgreSQL could not return the post and every page showing it failed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from outreach.models import Suppression
from publishing import services
from publishing.models import Post
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(running_campaign, author):
    account = AccountFactory(platform="mastodon")
    when = dt.datetime(2030, 3, 30, 9, 0, tzinfo=running_campaign.tz)
    return services.post_create(campaign=running_campaign, author=author, title="t", body="hello",
                                accounts=[account], scheduled_at=when)  # fmt: skip


def test_a_reschedule_outside_the_years_a_post_can_hold_is_refused_and_the_post_stays_readable(admin_client, post):
    url = reverse("admin:review_calendar_reschedule", args=[post.pk])
    page = admin_client.post(url, {"when": "0001-01-01T00:00"}, follow=True)
    assert page.status_code == 200 and "must be between the years 2000 and 9998" in page.content.decode()
    post.refresh_from_db()  # was: DataError, timestamp too small (before year 1)
    assert post.scheduled_at.year == 2030


def test_a_reschedule_never_redirects_off_the_site(admin_client, post):
    url = reverse("admin:review_calendar_reschedule", args=[post.pk])
    response = admin_client.post(url, {"when": "2030-04-01T10:00", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("admin:review_calendar")
    back = reverse("admin:review_reviewitem_changelist")
    assert admin_client.post(url, {"when": "2030-04-02T10:00", "next": back})["Location"] == back


@pytest.mark.parametrize(
    "query",
    [{"campaign": "abc"}, {"campaign": "²"}, {"date": "0001-01-01"}, {"date": "9999-12-31", "view": "week"}],
)  # fmt: skip  (a NUL anywhere in a query string is a 400: tests/campaigns/test_nul_in_query.py)
def test_the_calendar_reads_bad_parameters_as_absent(admin_client, query):
    assert admin_client.get(reverse("admin:review_calendar"), query).status_code == 200


@pytest.mark.parametrize("query", [{"kind": "nope"}, {"platform": "nope"}, {"status": "nope"}, {"campaign": "²"},
                                   {"author": "²"}])  # fmt: skip
def test_review_queue_filters_ignore_values_they_do_not_offer(admin_client, query):
    assert admin_client.get(reverse("admin:review_reviewitem_changelist"), query).status_code == 200


@pytest.mark.parametrize(("query", "field"), [({"to": "0001-01-02"}, "to"), ({"campaign": "²"}, "campaign")])
def test_the_dashboard_answers_400_naming_the_filter(admin_client, query, field):
    response = admin_client.get(reverse("admin:analytics_dailymetric_changelist"), query)
    assert response.status_code == 400 and field in response.content.decode()


@pytest.mark.parametrize("media_urls", [2147483648, "https://example.com/a.jpg", [1], ["javascript:alert(1)"]])
def test_media_urls_must_be_a_list_of_http_urls(running_campaign, author, media_urls):
    with pytest.raises(ValidationError) as exc:
        services.post_create(campaign=running_campaign, author=author, title="t", body="b", accounts=[],
                             media_urls=media_urls)  # fmt: skip
    assert "media_urls" in exc.value.message_dict
    assert not Post.objects.exists()


def test_a_post_change_page_with_a_non_numeric_id_is_not_a_500(admin_client):
    assert admin_client.get("/admin/publishing/post/abc/change/").status_code == 302


def test_outreach_tasks_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:outreach_outreachtask_add")).status_code == 403


def test_an_account_extra_that_jsonb_cannot_hold_is_a_field_error(admin_client):
    account = AccountFactory(platform="mastodon")
    page = admin_client.post(reverse("admin:publishing_socialaccount_change", args=[account.pk]),
                             {"platform": "mastodon", "handle": account.handle, "external_id": account.external_id,
                              "display_name": "", "is_active": "on", "extra": '{"x": NaN}'})  # fmt: skip
    assert page.status_code == 200 and "not a finite number" in page.content.decode()
    account.refresh_from_db()
    assert "x" not in account.extra


def test_dnc_import_reports_unstorable_lines_and_keeps_the_rest(admin_client):
    upload = SimpleUploadedFile("dnc.csv", b"a1@example.com\nbad\x00@example.com\n" + b"x" * 400 + b"@example.com\n"
                                b"a2@example.com\n")  # fmt: skip
    response = admin_client.post(reverse("admin:outreach_suppression_dnc"), {"file": upload}, follow=True)
    assert response.status_code == 200
    notes = [m.message for m in response.context["messages"]]
    assert notes[0] == "2 added, 0 already suppressed, 2 invalid"
    assert [n.split(":")[0] for n in notes[1:]] == ["line 2", "line 3"]
    assert sorted(Suppression.objects.values_list("value", flat=True)) == ["a1@example.com", "a2@example.com"]
