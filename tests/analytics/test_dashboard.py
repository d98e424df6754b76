from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from analytics import charts, services
from analytics.attribution import attribution_compute_all
from analytics.rollups import rollup_range
from campaigns.events import event_record
from tests.conftest import SCREENSHOTS
from tests.factories import CampaignFactory, PostFactory, TargetFactory, UserFactory

URL = "/admin/analytics/dailymetric/"
START, END = date(2026, 11, 1), date(2026, 11, 14)


def seed(campaign) -> None:
    post = PostFactory(campaign=campaign, title="Launch thread")
    target = TargetFactory(post=post, status="published", platform_post_id="p1")
    for d in range(14):
        when = datetime(2026, 11, 1, 9, tzinfo=UTC) + timedelta(days=d)
        for i in range(5 + d % 4):
            lead = 100 * d + i
            event_record(kind="email_sent", campaign=campaign, channel="email", lead_id=lead, occurred_at=when)
            if i % 2 == 0:
                event_record(kind="email_opened", campaign=campaign, channel="email", lead_id=lead, occurred_at=when)
            if i % 3 == 0:
                event_record(kind="click", campaign=campaign, channel="x", lead_id=lead, target_id=target.pk,
                             occurred_at=when + timedelta(hours=1))  # fmt: skip
        event_record(kind="reply", campaign=campaign, channel="email", lead_id=100 * d, occurred_at=when)
        event_record(kind="lead_captured", campaign=campaign, channel="x", lead_id=100 * d + 50, occurred_at=when)
        if d % 5 == 4:
            event_record(kind="conversion", campaign=campaign, lead_id=100 * d, value=Decimal("900"),
                         occurred_at=when + timedelta(hours=3))  # fmt: skip
    services.spend_record(campaign=campaign, channel="x", day=START, amount=Decimal("300"), actor="t")
    services.spend_record(campaign=campaign, channel="email", day=START, amount=Decimal("200"), actor="t")
    rollup_range(start=START, end=END)
    attribution_compute_all(start=START, end=END)


@pytest.fixture
def viewer(db):
    user = UserFactory(username="mia")
    user.user_permissions.add(Permission.objects.get(codename="view_dailymetric"))
    return user


def test_charts_escape_labels_and_say_when_there_is_no_data():
    svg = charts.line_chart("<b>t</b>", [date(2026, 1, 1), date(2026, 1, 2)], {"<script>": [1, 2]})
    assert "<script>" not in svg and "&lt;script&gt;" in svg and svg.startswith("<svg")
    assert "No data in this range" in charts.bar_chart("Posts", [])
    assert charts.nice_max(7) == 10 and charts.nice_max(120) == 200 and charts.nice_max(0.3) == 1


@pytest.mark.django_db
def test_dashboard_shows_kpis_and_svg_charts_without_external_assets(client, viewer, django_assert_max_num_queries):
    campaign = CampaignFactory()
    seed(campaign)
    client.force_login(viewer)
    with django_assert_max_num_queries(30):
        response = client.get(URL, {"campaign": campaign.pk, "from": START, "to": END})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="chart"') == 6
    assert "Launch thread" in html and "Revenue credited by attribution model" in html
    sends = sum(5 + d % 4 for d in range(14))
    assert f'<div class="v">{sends}</div><div class="l">sends</div>' in html
    assert "cdn" not in html.lower() and '<script src="http' not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "2026-02-30"}, "from"), ({"to": "x"}, "to"), ({"campaign": "abc"}, "campaign"),
     ({"campaign": "999999"}, "campaign"), ({"from": "2026-11-10", "to": "2026-11-01"}, "from")],
)  # fmt: skip
def test_bad_filters_are_a_400_naming_the_field(client, viewer, params, field):
    client.force_login(viewer)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response.content.decode().startswith(f"{field}:")


@pytest.mark.django_db
def test_csv_export_has_one_row_per_day_and_channel_with_rates(client, viewer):
    campaign = CampaignFactory()
    seed(campaign)
    client.force_login(viewer)
    response = client.get(URL, {"campaign": campaign.pk, "from": START, "to": END, "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    email = [r for r in rows if r["channel"] == "email"]
    assert len(email) == 14 and {r["channel"] for r in rows} == {"email", "x", "", "all"}
    first = email[0]
    assert (first["day"], first["sends"], first["opens"], first["open_rate"]) == ("2026-11-01", "5", "3", "0.6")
    assert next(r for r in rows if r["channel"] == "all" and r["day"] == "2026-11-01")["spend"] == "500.00"


@pytest.mark.django_db
def test_dashboard_needs_the_view_permission(client):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(URL).status_code == 403
    client.logout()
    assert client.get(URL).status_code == 302


@pytest.mark.slow
def test_dashboard_screenshot_in_a_real_browser(chromium, live_server, transactional_db):
    from django.test import Client

    campaign = CampaignFactory(name="Autumn launch")
    seed(campaign)
    user = UserFactory(username="viewer2")
    user.user_permissions.add(Permission.objects.get(codename="view_dailymetric"))
    client = Client()
    client.force_login(user)
    session = client.cookies["sessionid"].value
    shot = SCREENSHOTS / "analytics-dashboard.png"
    shot.unlink(missing_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    host = live_server.url.split("//")[1].split(":")[0]
    context.add_cookies([{"name": "sessionid", "value": session, "domain": host, "path": "/"}])
    external: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}{URL}?campaign={campaign.pk}&from={START}&to={END}")
    assert page.locator("svg.chart").count() == 6
    assert "Autumn launch" in page.title()
    box = page.locator("svg.chart").first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    page.screenshot(path=str(shot), full_page=True)
    assert external == []
    assert shot.stat().st_size > 20_000


@pytest.mark.django_db
def test_roi_per_channel_sets_credited_revenue_against_spend():
    from analytics.selectors import roi_by_channel

    campaign = CampaignFactory()
    seed(campaign)
    rows = {r["channel"]: r for r in roi_by_channel(campaign_id=campaign.pk, start=START, end=END, model="linear")}
    assert rows["x"]["spend"] == 300.0 and rows["email"]["spend"] == 200.0
    assert rows["email"]["revenue"] + rows["x"]["revenue"] == pytest.approx(1800.0)
    assert rows["x"]["roi"] == pytest.approx((rows["x"]["revenue"] - 300) / 300, abs=1e-4)
