from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from analytics import services
from analytics.attribution import TOUCH_KINDS, attribution_compute
from analytics.models import AttributionCredit, AttributionModel, DailyMetric
from analytics.rollups import rollup_incremental
from campaigns.events import event_record
from campaigns.models import Event
from outreach.models import Lead
from tests.analytics.attribution_oracle import oracle
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 1, tzinfo=UTC)
MODELS = list(AttributionModel.values)


def credits(model: str) -> dict:
    return {
        (r.day, r.campaign_id, r.channel, r.target_id): (round(r.credit, 6), round(r.revenue, 6))
        for r in AttributionCredit.objects.filter(model=model)
    }


@pytest.fixture
def journey():
    """Lead 1: email on day 0, click on a post on day 2, reply on day 6, converts on day 7 for 1000."""
    a, b = CampaignFactory(), CampaignFactory()
    event_record(kind="email_sent", campaign=a, channel="email", lead_id=1, occurred_at=T0)
    event_record(kind="email_opened", campaign=a, channel="email", lead_id=1, occurred_at=T0 + timedelta(hours=1))
    event_record(kind="click", campaign=b, channel="x", lead_id=1, target_id=55, occurred_at=T0 + timedelta(days=2))
    event_record(kind="reply", campaign=a, channel="email", lead_id=1, occurred_at=T0 + timedelta(days=6))
    event_record(kind="conversion", campaign=a, lead_id=1, value=Decimal("1000"), occurred_at=T0 + timedelta(days=7))
    return a, b


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("first_touch", {"email": 1.0}),
        ("last_touch", {"email": 1.0}),
        ("linear", {"email": 2 / 3, "x": 1 / 3}),
        ("position_based", {"email": 0.8, "x": 0.2}),
    ],
)
def test_each_model_splits_one_conversion_as_documented(journey, model, expected):
    attribution_compute(model=model, start=date(2026, 11, 8), end=date(2026, 11, 8))
    got = {r.channel: round(r.credit, 6) for r in AttributionCredit.objects.filter(model=model)}
    assert got == {k: round(v, 6) for k, v in expected.items()}
    assert round(sum(r.revenue for r in AttributionCredit.objects.filter(model=model)), 6) == 1000.0


def test_time_decay_halves_the_weight_per_half_life(journey):
    attribution_compute(model="time_decay", start=date(2026, 11, 8), end=date(2026, 11, 8), half_life_days=1)
    # Touch ages 7, 5 and 1 days: weights 2^-7, 2^-5, 2^-1.
    w = [2**-7, 2**-5, 2**-1]
    rows = {r.channel: r.credit for r in AttributionCredit.objects.filter(model="time_decay")}
    assert rows["x"] == pytest.approx(w[1] / sum(w))
    assert rows["email"] == pytest.approx((w[0] + w[2]) / sum(w))


def test_touches_outside_the_lookback_window_get_nothing(journey):
    attribution_compute(model="first_touch", start=date(2026, 11, 8), end=date(2026, 11, 8), lookback_days=6)
    (row,) = AttributionCredit.objects.filter(model="first_touch")
    assert (row.channel, row.target_id) == ("x", 55)  # the day-0 email is 7 days old


def test_recomputing_replaces_the_rows_instead_of_adding(journey):
    first = attribution_compute(model="linear", start=date(2026, 11, 1), end=date(2026, 11, 30))
    again = attribution_compute(model="linear", start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert (first.written, again.written, again.removed) == (2, 0, 0)
    assert AttributionCredit.objects.filter(model="linear").count() == 2
    assert sum(r.credit for r in AttributionCredit.objects.filter(model="linear")) == pytest.approx(1.0)
    # A shorter window leaves only the reply: the x group vanishes, the email group changes.
    shorter = attribution_compute(model="linear", start=date(2026, 11, 1), end=date(2026, 11, 30), lookback_days=2)
    assert (shorter.written, shorter.removed) == (1, 1)
    assert [(r.channel, r.credit) for r in AttributionCredit.objects.filter(model="linear")] == [("email", 1.0)]


def test_an_unknown_model_is_refused_naming_the_argument():
    with pytest.raises(ValueError, match="model"):
        attribution_compute(model="u_shaped", start=date(2026, 11, 1), end=date(2026, 11, 2))


@pytest.mark.parametrize("model", MODELS)
def test_sql_attribution_equals_the_python_oracle_on_generated_data(model):
    rng = random.Random(hash(model) % 1000)
    campaigns = [CampaignFactory().pk for _ in range(3)]
    kinds = [*TOUCH_KINDS, "email_opened", "post_published"]
    for _ in range(900):
        lead = rng.choice([None, *range(1, 40)])
        kind = "conversion" if rng.random() < 0.08 else rng.choice(kinds)
        event_record(
            kind=kind, campaign=rng.choice([*campaigns, None]), channel=rng.choice(["email", "x", "linkedin"]),
            lead_id=lead, target_id=rng.choice([None, 1, 2, 3]),
            occurred_at=T0 + timedelta(seconds=rng.randrange(40 * 86400)),
            value=Decimal(rng.randrange(1, 5000)) if kind == "conversion" else None,
        )  # fmt: skip
    # Equal timestamps: ordering ties are broken by id in both.
    e = Event.objects.filter(kind="email_sent").first()
    event_record(kind="click", campaign=e.campaign_id, channel="x", lead_id=e.lead_id, occurred_at=e.occurred_at)
    start, end = date(2026, 11, 5), date(2026, 12, 5)
    attribution_compute(model=model, start=start, end=end, lookback_days=10, half_life_days=2.5)
    events = list(Event.objects.values())
    expected = oracle(events, model=model, start=start, end=end, lookback_days=10, half_life_days=2.5)
    assert len(expected) > 20
    assert credits(model) == expected


def test_a_conversion_entered_by_hand_reaches_rollups_and_attribution():
    campaign = CampaignFactory()
    lead = Lead.objects.create(email="ann@example.com", campaign=campaign, identity_sha256="a" * 64)
    event_record(kind="email_sent", campaign=campaign, channel="email", lead_id=lead.pk,
                 occurred_at=datetime.now(UTC) - timedelta(days=2))  # fmt: skip
    conversion = services.conversion_record(lead=lead, value=Decimal("250"), actor="t")
    assert Event.objects.get(pk=conversion.event_id).kind == "conversion"
    rollup_incremental()
    total = DailyMetric.objects.get(campaign=campaign, channel="all", day=conversion.occurred_at.date())
    assert (total.conversions, total.revenue) == (1, Decimal("250.00"))
    day = conversion.occurred_at.date()
    attribution_compute(model="last_touch", start=day, end=day)
    (row,) = AttributionCredit.objects.filter(model="last_touch")
    assert (row.campaign_id, row.channel, row.revenue) == (campaign.pk, "email", 250.0)


def test_a_negative_conversion_value_is_refused_naming_the_field():
    lead = Lead.objects.create(email="bob@example.com", identity_sha256="b" * 64)
    with pytest.raises(ValidationError) as exc:
        services.conversion_record(lead=lead, value=Decimal("-5"), actor="t")
    assert "value" in exc.value.message_dict


def test_a_conversion_qualifies_a_replied_lead_through_outreach_and_leaves_a_new_one_alone():
    from campaigns.audit import audit_trail

    replied = Lead.objects.create(email="r@example.com", identity_sha256="c" * 64, status="replied")
    fresh = Lead.objects.create(email="f@example.com", identity_sha256="d" * 64)
    services.conversion_record(lead=replied, value=Decimal("10"), actor="t")
    services.conversion_record(lead=fresh, value=Decimal("10"), actor="t")
    replied.refresh_from_db()
    fresh.refresh_from_db()
    assert (replied.status, fresh.status) == ("qualified", "new")
    assert audit_trail(replied).filter(new="qualified").exists()
    assert Event.objects.filter(kind="conversion").count() == 2
