"""Metrics and attribution over HTTP (read-only, through analytics.selectors)."""

from __future__ import annotations

from datetime import date, timedelta

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.base import ApiView
from campaigns.models import Campaign

from .. import selectors


class RangeInput(serializers.Serializer):
    campaign = serializers.IntegerField(min_value=1, max_value=2**62)
    start = serializers.DateField(required=False, help_text="Default: 30 days before end.")
    end = serializers.DateField(required=False, help_text="Default: today.")

    def validate(self, attrs: dict) -> dict:
        attrs.setdefault("end", date.today())
        if "start" not in attrs:  # not setdefault: that computes the default even when a start is given
            if attrs["end"] < date.min + timedelta(days=30):
                raise serializers.ValidationError({"end": "too early to count 30 days back from; give a start"})
            attrs["start"] = attrs["end"] - timedelta(days=30)
        if attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"start": "must be on or before end"})
        if (attrs["end"] - attrs["start"]).days > 3660:
            raise serializers.ValidationError({"start": "at most ten years at a time"})
        return attrs


class AttributionInput(RangeInput):
    campaign = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    by = serializers.ChoiceField(choices=["channel", "campaign_id", "target_id", "day"], default="channel")


def _rows(name: str) -> serializers.Serializer:
    return serializers.ListField(child=serializers.DictField(), help_text=name)


class MetricsView(ApiView):
    @extend_schema(
        parameters=[RangeInput], operation_id="metrics_retrieve",
        responses=inline_serializer("Metrics", {"campaign": serializers.IntegerField(), "start": serializers.DateField(),
                                                "end": serializers.DateField(), "totals": serializers.DictField(),
                                                "by_day": _rows("per day"), "by_channel": _rows("per channel")}),
        description="Counters from the daily rollups, with open/click/reply/bounce rates and ROI.",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        data = RangeInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        campaign = get_object_or_404(Campaign, pk=v["campaign"])
        span = {"campaign_id": campaign.pk, "start": v["start"], "end": v["end"]}
        return Response({"campaign": campaign.pk, "start": v["start"], "end": v["end"],
                         "totals": selectors.metrics_totals(**span), "by_day": selectors.metrics_by_day(**span),
                         "by_channel": selectors.metrics_by_channel(**span)})  # fmt: skip


class AttributionView(ApiView):
    @extend_schema(
        parameters=[AttributionInput], operation_id="attribution_retrieve",
        responses=inline_serializer("Attribution", {"start": serializers.DateField(), "end": serializers.DateField(),
                                                    "by": serializers.CharField(), "rows": _rows("credit per model")}),
        description="Conversion credit and revenue per attribution model (first/last touch, linear, time decay, "
        "position-based), grouped by channel, campaign, target or day.",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        data = AttributionInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v.get("campaign"):
            get_object_or_404(Campaign, pk=v["campaign"])
        rows = selectors.attribution_by_model(campaign_id=v.get("campaign"), start=v["start"], end=v["end"], by=v["by"])
        return Response({"start": v["start"], "end": v["end"], "by": v["by"], "rows": rows})
