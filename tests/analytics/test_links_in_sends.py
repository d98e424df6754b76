"""Links in what we send are tracked: a post on a (local) X, an outreach email, the review page.

The platform and the recipient see ``/c/<code>`` URLs; a click is recorded against the target (or
the email step and the lead) and redirected to the stored destination with UTM.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail

from analytics.models import TrackedLink
from campaigns.controls import control_set
from campaigns.dispatcher import Dispatcher
from campaigns.models import Action, Event
from outreach.sequences import template_approve, template_create, template_submit
from outreach.services import lead_upsert
from publishing import services
from publishing.handlers import reconcile_publish
from publishing.models import PublishTarget
from review.rendering import platform_checks, post_preview
from tests.factories import AccountFactory
from tests.fakes.x_api import FakeX

BASE = "https://go.example.org"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture
def fake_x(settings):
    fake = FakeX().start()
    settings.X_API_BASE_URL = fake.url
    yield fake
    fake.stop()


@pytest.fixture
def live(settings, running_campaign):
    settings.PUBLISHING_MODE = "live"
    settings.TRACKED_LINK_BASE_URL = BASE
    control_set(action="live", actor="t")
    control_set(action="live", actor="t", campaign=running_campaign)
    return running_campaign


def _code(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


def _approved_post(campaign, author, reviewer, body: str):
    post = services.post_create(campaign=campaign, author=author, title="links", body=body,
                                accounts=[AccountFactory(platform="x", handle="brand")])  # fmt: skip
    services.post_submit(post=post, actor=author)
    services.post_approve(post=post, actor=reviewer)
    return post


@pytest.mark.django_db(transaction=True)
def test_post_goes_out_with_a_tracked_link_and_its_click_counts_for_the_target(
    client, fake_x, live, author, reviewer_user
):
    post = _approved_post(live, author, reviewer_user, "New guide: https://brand.example/guide?x=1. Read it!")
    Dispatcher(worker_id="t").drain()
    target = PublishTarget.objects.get(post=post)
    assert target.status == "published", target.last_error
    [sent] = list(fake_x.deliveries())
    assert "brand.example" not in sent and sent.startswith(f"New guide: {BASE}/c/") and sent.endswith(". Read it!")
    link = TrackedLink.objects.get(code=_code(sent.split()[2].rstrip(".")))
    assert link.target_id == target.pk and link.channel == "x"
    assert parse_qs(urlsplit(link.destination).query) == {
        "x": ["1"], "utm_source": ["x"], "utm_medium": ["social"], "utm_campaign": [live.slug],
        "utm_content": [f"target-{target.pk}"],
    }  # fmt: skip

    response = client.get(f"/c/{link.code}", HTTP_USER_AGENT=BROWSER_UA)
    assert response.status_code == 302 and response["Location"] == link.destination
    click = Event.objects.get(kind="click")
    assert click.target_id == target.pk and click.campaign_id == live.pk

    # A reconciliation rebuilds the same text, finds the post, and sends nothing more.
    PublishTarget.objects.filter(pk=target.pk).update(status="needs_reconcile", platform_post_id="")
    action = Action(idempotency_key=f"reconcile_publish:{target.pk}:t", action_type="reconcile_publish",
                    payload={"target_id": target.pk})  # fmt: skip
    outcome = reconcile_publish(action)
    assert outcome.message.startswith("found on x as"), outcome.message
    target.refresh_from_db()
    assert target.status == "published" and target.platform_post_id == fake_x.tweets[0]["id"]
    assert fake_x.deliveries()[sent] == 1 and TrackedLink.objects.count() == 1


@pytest.mark.django_db
def test_tracking_off_sends_links_as_written(settings, fake_x, live, author, reviewer_user):
    settings.TRACKED_LINK_REWRITER = ""
    _approved_post(live, author, reviewer_user, "Plain https://brand.example/p")
    Dispatcher(worker_id="t").drain()
    assert list(fake_x.deliveries()) == ["Plain https://brand.example/p"]
    assert not TrackedLink.objects.exists()


@pytest.mark.django_db
def test_review_page_counts_the_tracked_length_and_names_the_destinations(settings, running_campaign, author):
    settings.TRACKED_LINK_BASE_URL = BASE
    short = "https://b.co/x"
    post = services.post_create(campaign=running_campaign, author=author, title="t", body=f"See {short}",
                                accounts=[AccountFactory(platform="bluesky", handle="brand.example")])  # fmt: skip
    [check] = platform_checks(post)
    assert check["length"] == len(f"See {BASE}/c/") + 8 > len(post.body)
    page = str(post_preview(post))
    assert "tracked /c/ links" in page and f"<code>{short}</code>" in page
    assert not TrackedLink.objects.exists()  # a preview creates nothing


@pytest.mark.django_db
def test_outreach_email_links_are_tracked_per_step_with_the_lead_and_unsubscribe_stays_direct(
    client, settings, running_campaign, reviewer_user
):
    from datetime import time

    from django.contrib.auth.models import Permission

    from outreach.models import Mailbox, Sequence, SequenceStep
    from outreach.producers import due_steps
    from outreach.sequences import enrollment_create

    settings.PUBLISHING_MODE = "live"
    settings.TRACKED_LINK_BASE_URL = BASE
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    control_set(action="live", actor="t")
    control_set(action="live", actor="t", campaign=running_campaign)
    Mailbox.objects.create(campaign=running_campaign, from_email="sales@brand.example", warmup_start=0,
                           daily_cap=100, hourly_cap=50)  # fmt: skip
    template = template_create(
        campaign=running_campaign, actor="t", name="intro", subject="Hi {{ first_name }}",
        body_text="Pricing: https://brand.example/pricing\nUnsubscribe: {{ unsubscribe_url }}",
        body_html='<p><a href="https://brand.example/pricing?a=1&amp;b=2">Pricing</a> '
                  '<a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    )  # fmt: skip
    template_submit(template=template, actor="t")
    reviewer_user.user_permissions.add(Permission.objects.get(codename="approve_template"))
    template_approve(template=template, actor=type(reviewer_user).objects.get(pk=reviewer_user.pk))
    sequence = Sequence.objects.create(campaign=running_campaign, name="cold", send_days=list(range(7)),
                                       window_start=time(0, 0), window_end=time(23, 59, 59))  # fmt: skip
    step = SequenceStep.objects.create(sequence=sequence, position=1, template=template, wait_hours=0,
                                       condition="always")  # fmt: skip
    lead = lead_upsert(actor="t", email="ada@example.com", name="Ada Lovelace")[0]
    enrollment_create(lead=lead, sequence=sequence, actor="t")
    from django.utils import timezone

    parent = Action.objects.create(idempotency_key="tick-links", action_type="noop", status="succeeded")
    assert due_steps(campaign=running_campaign, now=timezone.now(), parent=parent) == 1
    Dispatcher(worker_id="t").drain()

    [message] = mail.outbox
    text_lines = dict(line.split(": ", 1) for line in message.body.splitlines())
    pricing, unsubscribe = text_lines["Pricing"], text_lines["Unsubscribe"]
    assert pricing.startswith(f"{BASE}/c/") and "?t=" in pricing
    assert "/u/" in unsubscribe and not unsubscribe.startswith(f"{BASE}/c/")
    [(html, _)] = message.alternatives
    assert f'href="{BASE}/c/' in html and f'href="{unsubscribe}"' in html and "brand.example/pricing" not in html
    assert TrackedLink.objects.count() == 2  # the text link and the HTML link (another query)
    html_link = TrackedLink.objects.get(destination__contains="a=1")
    assert parse_qs(urlsplit(html_link.destination).query)["b"] == ["2"]  # &amp; decoded, not stored
    assert {link.email_step for link in TrackedLink.objects.all()} == {f"step-{step.pk}"}

    path = urlsplit(pricing)
    response = client.get(f"{path.path}?{path.query}", HTTP_USER_AGENT=BROWSER_UA)
    assert response.status_code == 302 and response["Location"].startswith("https://brand.example/pricing?")
    click = Event.objects.get(kind="click")
    assert click.lead_id == lead.pk and click.channel == "email"
