from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError

from analytics.links import lead_token, link_create, links_rewrite
from analytics.models import TrackedLink
from campaigns.models import Event
from tests.factories import CampaignFactory, TargetFactory

pytestmark = pytest.mark.django_db
BASE = "https://go.example.org"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def _code(url: str) -> str:
    return urlsplit(url).path.rsplit("/", 1)[1]


def test_rewrite_replaces_each_url_with_a_tracked_link_carrying_utm():
    target = TargetFactory()
    campaign = target.post.campaign
    text = "Read https://example.com/guide?ref=x. And (https://example.com/b)!"
    out = links_rewrite(text, campaign=campaign, channel="mastodon", target_id=target.pk, base_url=BASE)
    assert "example.com" not in out
    assert out.startswith("Read https://go.example.org/c/") and out.count("/c/") == 2
    assert out.rstrip().endswith(")!")
    first = TrackedLink.objects.get(code=_code(out.split()[1].rstrip(".")))
    query = parse_qs(urlsplit(first.destination).query)
    assert query == {
        "ref": ["x"],
        "utm_source": ["mastodon"],
        "utm_medium": ["social"],
        "utm_campaign": [campaign.slug],
        "utm_content": [f"target-{target.pk}"],
    }
    assert first.target_id == target.pk


def test_rewriting_the_same_link_in_the_same_place_reuses_the_code():
    campaign = CampaignFactory()
    a = links_rewrite("https://example.com/x", campaign=campaign, channel="email", email_step="s1", base_url=BASE)
    b = links_rewrite("https://example.com/x", campaign=campaign, channel="email", email_step="s1", base_url=BASE)
    c = links_rewrite("https://example.com/x", campaign=campaign, channel="email", email_step="s2", base_url=BASE)
    assert a == b != c
    assert TrackedLink.objects.count() == 2


def test_authors_own_utm_parameters_win():
    campaign = CampaignFactory()
    link = link_create(destination="https://example.com/?utm_source=news", campaign=campaign, channel="x")
    assert parse_qs(urlsplit(link.destination).query)["utm_source"] == ["news"]


def test_link_create_refuses_a_non_http_destination_naming_the_field():
    with pytest.raises(ValidationError) as exc:
        link_create(destination="javascript:alert(1)", campaign=CampaignFactory(), channel="x")
    assert "destination" in exc.value.message_dict


def test_a_click_is_recorded_with_lead_utm_and_user_agent_then_redirects(client):
    campaign = CampaignFactory()
    out = links_rewrite(
        "https://example.com/offer", campaign=campaign, channel="email", email_step="s1", lead_id=42, base_url=BASE
    )
    path = urlsplit(out).path + "?" + urlsplit(out).query
    response = client.get(path, HTTP_USER_AGENT=BROWSER_UA)
    link = TrackedLink.objects.get()
    assert response.status_code == 302
    assert response["Location"] == link.destination
    event = Event.objects.get()
    assert (event.kind, event.campaign_id, event.channel, event.lead_id) == ("click", campaign.pk, "email", 42)
    assert event.data["utm_campaign"] == campaign.slug and event.data["utm_medium"] == "email"
    assert event.data["user_agent"] == BROWSER_UA
    assert "bot" not in event.data


def test_a_post_click_records_the_target(client):
    target = TargetFactory()
    out = links_rewrite("https://example.com", campaign=target.post.campaign, channel="x", target_id=target.pk,
                        base_url=BASE)  # fmt: skip
    client.get(urlsplit(out).path, HTTP_USER_AGENT=BROWSER_UA)
    event = Event.objects.get()
    assert event.target_id == target.pk and event.lead_id is None and event.kind == "click"


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_USER_AGENT": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"},
        {"HTTP_USER_AGENT": "facebookexternalhit/1.1"},
        {"HTTP_USER_AGENT": "LinkedInBot/1.0 (compatible; Mozilla/5.0)"},
        {"HTTP_USER_AGENT": BROWSER_UA, "HTTP_SEC_PURPOSE": "prefetch"},
        {},
    ],
)
def test_link_preview_bots_and_prefetchers_are_flagged_not_counted_as_clicks(client, headers):
    link = link_create(destination="https://example.com", campaign=CampaignFactory(), channel="x")
    response = client.get(f"/c/{link.code}", **headers)
    assert response.status_code == 302
    event = Event.objects.get()
    assert event.kind == "click_bot" and event.data["bot"]


def test_the_redirect_ignores_any_destination_in_the_request(client):
    link = link_create(destination="https://example.com/a", campaign=CampaignFactory(), channel="x")
    response = client.get(f"/c/{link.code}?next=https://evil.example/&url=https://evil.example/",
                          HTTP_USER_AGENT=BROWSER_UA)  # fmt: skip
    assert response["Location"] == link.destination
    assert "evil" not in response["Location"]


def test_an_unknown_code_is_404_and_records_nothing(client):
    assert client.get("/c/nope", HTTP_USER_AGENT=BROWSER_UA).status_code == 404
    assert not Event.objects.exists()


def test_nul_in_the_code_is_a_404_and_in_the_user_agent_is_replaced(client):
    """PostgreSQL text and jsonb refuse NUL: both were a 500."""
    assert client.get("/c/a%00b", HTTP_USER_AGENT=BROWSER_UA).status_code == 404
    link = link_create(destination="https://example.com/a", campaign=CampaignFactory(), channel="x")
    assert client.get(f"/c/{link.code}", HTTP_USER_AGENT=BROWSER_UA + "\x00x").status_code == 302
    assert Event.objects.get().data["user_agent"] == BROWSER_UA + "\ufffdx"


def test_a_tampered_lead_token_is_a_400_naming_t(client):
    link = link_create(destination="https://example.com/a", campaign=CampaignFactory(), channel="email")
    token = lead_token(7)
    response = client.get(f"/c/{link.code}?t={token[:-2]}xx", HTTP_USER_AGENT=BROWSER_UA)
    assert response.status_code == 400
    assert b"t:" in response.content
    assert not Event.objects.exists()


def test_post_is_not_allowed_on_a_link(client):
    link = link_create(destination="https://example.com/a", campaign=CampaignFactory(), channel="x")
    assert client.post(f"/c/{link.code}").status_code == 405
