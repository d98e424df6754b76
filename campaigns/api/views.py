"""Campaigns, their audit trail, the action queue, control flags and health over HTTP. Thin: services write."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from .. import controls, services
from ..actions import action_cancel, action_enqueue
from ..audit import audit_trail
from ..health import health
from ..models import Action, AuditEntry, Campaign, ControlFlag, WebhookDelivery, WebhookSubscription
from ..webhooks_out import subscription_deactivate, subscription_save
from . import serializers as s
from .auth import NeedsHuman, api_actor, is_human, token_of
from .base import ApiView, ListView, check_if_match, etag_of, fast_one, with_etag
from .filters import ActionFilter, AuditFilter, CampaignFilter

HUMAN_CONTROLS = {"resume", "unkill", "live"}


def campaign_etag(campaign: Campaign) -> str:
    return etag_of(campaign, "updated_at", "status", "strategy_approved_sha256", "mode")


class CampaignListView(ListView):
    queryset = Campaign.objects.all()
    filterset_class = CampaignFilter
    ordering_fields = ["id", "created_at", "name"]
    ordering = ["-id"]

    @extend_schema(responses=s.CampaignOutput(many=True), operation_id="campaigns_list")
    def get(self, request: Request) -> Response:
        return self.list_response(s.CampaignOutput, fast=True)

    @extend_schema(
        request=s.CampaignInput, responses={201: s.CampaignOutput}, operation_id="campaigns_create",
        examples=[OpenApiExample("A draft", request_only=True, value={
            "name": "Spring launch", "objective": "leads", "channels": ["linkedin", "email"],
            "strategy": "Three posts a week for founders; a 3-step email sequence.", "timezone": "Europe/Berlin"})],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = s.CampaignInput(data=request.data)
        data.is_valid(raise_exception=True)
        campaign = services.campaign_create(actor=api_actor(request), **data.validated_data)
        response = Response(fast_one(s.CampaignOutput, campaign), status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/campaigns/{campaign.pk}/"
        return with_etag(response, campaign_etag(campaign))


class CampaignDetailView(ApiView):
    @extend_schema(responses=s.CampaignOutput, operation_id="campaigns_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=pk)
        return with_etag(Response(s.CampaignOutput(campaign).data), campaign_etag(campaign))

    @extend_schema(request=s.CampaignPatch, responses=s.CampaignOutput, operation_id="campaigns_partial_update")
    def patch(self, request: Request, pk: int) -> Response:
        data = s.CampaignPatch(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            campaign = get_object_or_404(Campaign.objects.select_for_update(), pk=pk)
            check_if_match(request, campaign_etag(campaign))
            services.campaign_update(campaign=campaign, actor=api_actor(request), **data.validated_data)
        campaign.refresh_from_db()
        return with_etag(Response(s.CampaignOutput(campaign).data), campaign_etag(campaign))


def _campaign_move(name: str, *, human: bool = False, serializer: Any = None, call: Any) -> type[ApiView]:
    """A POST endpoint that calls one lifecycle service and answers the campaign."""

    class MoveView(ApiView):
        human_only = human

        @extend_schema(request=serializer, responses=s.CampaignOutput, operation_id=f"campaigns_{name}",
                       description=("Humans only (session or reviewer token). " if human else "") + (call.__doc__ or ""))  # fmt: skip
        def post(self, request: Request, pk: int) -> Response:
            extra: dict[str, Any] = {}
            if serializer is not None:
                data = serializer(data=request.data)
                data.is_valid(raise_exception=True)
                extra = dict(data.validated_data)
            with transaction.atomic():
                campaign = get_object_or_404(Campaign.objects.select_for_update(), pk=pk)
                check_if_match(request, campaign_etag(campaign))
                call(campaign=campaign, actor=api_actor(request), **extra)
            campaign.refresh_from_db()
            return with_etag(Response(s.CampaignOutput(campaign).data), campaign_etag(campaign))

    MoveView.__name__ = f"Campaign{name.title()}View"
    return MoveView


def _submit(*, campaign: Campaign, actor: Any) -> None:
    """Request review of the campaign's strategy."""
    services.campaign_submit(campaign=campaign, actor=actor)


def _reject(*, campaign: Campaign, actor: Any, reason: str) -> None:
    services.campaign_reject(campaign=campaign, actor=actor, reason=reason)


def _noted(service: Any) -> Any:
    def call(*, campaign: Campaign, actor: Any, note: str = "") -> None:
        service(campaign=campaign, actor=actor, note=note)

    call.__doc__ = service.__doc__
    return call


CAMPAIGN_MOVES = {
    "submit": _campaign_move("submit", call=_submit),
    "approve": _campaign_move("approve", human=True, call=services.campaign_approve),
    "reject": _campaign_move("reject", human=True, serializer=s.ReasonInput, call=_reject),
    "start": _campaign_move("start", human=True, call=services.campaign_start),
    "resume": _campaign_move("resume", human=True, call=services.campaign_resume),
    "pause": _campaign_move("pause", serializer=s.NoteInput, call=_noted(services.campaign_pause)),
    "complete": _campaign_move("complete", serializer=s.NoteInput, call=_noted(services.campaign_complete)),
    "kill": _campaign_move("kill", serializer=s.NoteInput, call=_noted(services.campaign_kill)),
}


class CampaignAuditView(ListView):
    filterset_class = AuditFilter
    ordering = ["-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no URL kwargs
            return AuditEntry.objects.none()
        campaign = get_object_or_404(Campaign, pk=self.kwargs["pk"])
        return audit_trail(campaign).select_related("content_type")

    @extend_schema(responses=s.AuditOutput(many=True), operation_id="campaigns_audit_list")
    def get(self, request: Request, pk: int) -> Response:
        return self.list_response(s.AuditOutput)


class ActionListView(ListView):
    queryset = Action.objects.all()
    filterset_class = ActionFilter
    ordering_fields = ["id", "created_at", "not_before"]
    ordering = ["-id"]

    @extend_schema(responses=s.ActionOutput(many=True), operation_id="actions_list")
    def get(self, request: Request) -> Response:
        return self.list_response(s.ActionOutput, fast=True)

    @extend_schema(
        request=s.ActionInput, responses={201: s.ActionDetailOutput, 200: s.ActionDetailOutput},
        operation_id="actions_create",
        description="Enqueue an action of a type in API_ENQUEUE_ACTION_TYPES. The key is yours (stored as "
        "`api:<key>`): the same key again returns the existing action with 200.",
        examples=[OpenApiExample("Refresh metrics", request_only=True, value={
            "key": "metrics-2026-11-25", "action_type": "rollup_metrics", "payload": {}})],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = s.ActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["action_type"] not in settings.API_ENQUEUE_ACTION_TYPES:
            raise ValidationError({"action_type": f"not enqueueable over the API; allowed: "
                                                  f"{', '.join(settings.API_ENQUEUE_ACTION_TYPES)}"})  # fmt: skip
        campaign = get_object_or_404(Campaign, pk=v["campaign"]) if v.get("campaign") else None
        action, created = action_enqueue(
            key=f"api:{v['key']}", action_type=v["action_type"], payload=v.get("payload") or {}, campaign=campaign,
            not_before=v.get("not_before"),
        )  # fmt: skip
        action = Action.objects.prefetch_related("logs").get(pk=action.pk)
        return Response(s.ActionDetailOutput(action).data, status=201 if created else 200)


class ActionDetailView(ApiView):
    @extend_schema(responses=s.ActionDetailOutput, operation_id="actions_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        action = get_object_or_404(Action.objects.prefetch_related("logs"), pk=pk)
        return Response(s.ActionDetailOutput(action).data)


class ActionCancelView(ApiView):
    @extend_schema(request=s.NoteInput, responses=s.ActionDetailOutput, operation_id="actions_cancel")
    def post(self, request: Request, pk: int) -> Response:
        data = s.NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        action = get_object_or_404(Action, pk=pk)
        action_cancel(action=action, actor=api_actor(request), reason=data.validated_data["note"])
        action = Action.objects.prefetch_related("logs").get(pk=pk)
        return Response(s.ActionDetailOutput(action).data)


class ControlView(ListView):
    queryset = ControlFlag.objects.all()
    ordering = ["-id"]

    @extend_schema(responses=s.ControlFlagOutput(many=True), operation_id="controls_list",
                   description="Every flag row; no row means not paused, not killed, PROOF.")  # fmt: skip
    def get(self, request: Request) -> Response:
        return self.list_response(s.ControlFlagOutput)

    @extend_schema(
        request=s.ControlInput, operation_id="controls_set",
        responses=inline_serializer("Flags", {"paused": serializers.BooleanField(), "killed": serializers.BooleanField(),
                                              "live": serializers.BooleanField()}),
        description="pause, kill and proof: anyone with a write scope. resume, unkill and live: a person "
        "with campaigns.change_controlflag (session or reviewer token).",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = s.ControlInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["action"] in HUMAN_CONTROLS:
            if not is_human(request):
                raise NeedsHuman(f"{v['action']}: only a person may do this (session or reviewer token)")
            if not request.user.has_perm("campaigns.change_controlflag"):
                raise NeedsHuman(f"{v['action']}: you need the campaigns.change_controlflag permission")
        campaign = get_object_or_404(Campaign, pk=v["campaign"]) if v.get("campaign") else None
        flags = controls.control_set(action=v["action"], actor=api_actor(request), campaign=campaign, note=v["note"])
        return Response({"paused": flags.paused, "killed": flags.killed, "live": flags.live})


class HealthView(ApiView):
    @extend_schema(
        operation_id="health_retrieve",
        responses=inline_serializer("Health", {"status": serializers.CharField(), "database": serializers.CharField(),
                                               "dispatcher": serializers.DictField(),
                                               "oldest_due_action_age_seconds": serializers.FloatField(),
                                               "flags": serializers.DictField()}),
        description="The body of /health/, always with 200: `status` says ok or stuck (load balancers use /health/).",
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        return Response(json.loads(health(request._request).content))


def _subscriptions(request: Request):
    """A token sees its own subscriptions; a session user sees those made without a token."""
    return WebhookSubscription.objects.filter(token=token_of(request))


class WebhookListView(ListView):
    ordering = ["-id"]

    def get_queryset(self):
        return _subscriptions(self.request)

    @extend_schema(responses=s.WebhookOutput(many=True), operation_id="webhooks_list")
    def get(self, request: Request) -> Response:
        return self.list_response(s.WebhookOutput)

    @extend_schema(
        request=s.WebhookInput, responses={201: s.WebhookCreatedOutput}, operation_id="webhooks_create",
        description="Subscribe a URL to state transitions. The answer carries the signing secret, once. "
        "Loopback, private and link-local destinations are refused.",
        examples=[OpenApiExample("Publications", request_only=True, value={
            "name": "agent", "url": "https://agent.example.com/hooks", "event_types": ["publishtarget.status.*"]})],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = s.WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = WebhookSubscription(token=token_of(request), **data.validated_data)
        secret = subscription_save(subscription=subscription, actor=api_actor(request))
        return Response({**s.WebhookOutput(subscription).data, "secret": secret}, status=status.HTTP_201_CREATED)


class WebhookDetailView(ApiView):
    @extend_schema(responses=s.WebhookOutput, operation_id="webhooks_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.WebhookOutput(get_object_or_404(_subscriptions(request), pk=pk)).data)

    @extend_schema(responses={204: None}, operation_id="webhooks_destroy", description="Stop deliveries.")
    def delete(self, request: Request, pk: int) -> Response:
        subscription = get_object_or_404(_subscriptions(request), pk=pk)
        subscription_deactivate(subscription=subscription, actor=api_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(ListView):
    ordering = ["-id"]
    filterset_fields = ["status", "event_type"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        subscription = get_object_or_404(_subscriptions(self.request), pk=self.kwargs["pk"])
        return WebhookDelivery.objects.filter(subscription=subscription)

    @extend_schema(responses=s.DeliveryOutput(many=True), operation_id="webhooks_deliveries_list")
    def get(self, request: Request, pk: int) -> Response:
        return self.list_response(s.DeliveryOutput)
