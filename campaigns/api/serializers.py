"""Input and output shapes of the campaigns API (HackSoftware style: plain serializers, no model writes)."""

from __future__ import annotations

from rest_framework import serializers

from ..channels import Channel
from ..models import Action, ActionLog, AuditEntry, Campaign, ControlFlag, WebhookDelivery, WebhookSubscription


class CampaignOutput(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = [
            "id", "name", "slug", "description", "objective", "channels", "status", "mode", "strategy", "timezone",
            "start_date", "end_date", "kpi_targets", "target_niche", "target_clients", "target_mrr",
            "max_emails_per_day", "max_outreach_per_day", "strategy_approved_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class CampaignInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    objective = serializers.ChoiceField(choices=Campaign.Objective.choices, required=False)
    channels = serializers.ListField(child=serializers.ChoiceField(choices=Channel.choices), required=False,
                                     max_length=20)  # fmt: skip
    strategy = serializers.CharField(required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    kpi_targets = serializers.DictField(child=serializers.FloatField(min_value=0, max_value=1e12), required=False)
    target_niche = serializers.CharField(max_length=200, required=False, allow_blank=True)
    target_clients = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
    max_emails_per_day = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
    max_outreach_per_day = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)


class CampaignPatch(CampaignInput):
    name = serializers.CharField(max_length=200, required=False)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class NoteInput(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AuditOutput(serializers.ModelSerializer):
    object_type = serializers.CharField(source="content_type.model", read_only=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "object_type", "object_id", "actor_label", "action", "old", "new", "note", "data", "created_at"]
        read_only_fields = fields


class ActionOutput(serializers.ModelSerializer):
    class Meta:
        model = Action
        fields = [
            "id", "idempotency_key", "action_type", "payload", "status", "priority", "not_before", "attempts",
            "max_attempts", "last_error", "campaign", "parent", "started_at", "finished_at", "result", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ActionLogOutput(serializers.ModelSerializer):
    class Meta:
        model = ActionLog
        fields = ["id", "attempt", "level", "status", "message", "artifact_ref", "artifact_sha256", "actor_label",
                  "created_at"]  # fmt: skip
        read_only_fields = fields


class ActionDetailOutput(ActionOutput):
    logs = ActionLogOutput(many=True, read_only=True)

    class Meta(ActionOutput.Meta):
        fields = [*ActionOutput.Meta.fields, "logs"]
        read_only_fields = fields


class ActionInput(serializers.Serializer):
    key = serializers.CharField(max_length=200, help_text="Your idempotency key; stored as api:<key>.")
    action_type = serializers.CharField(max_length=64)
    payload = serializers.DictField(required=False, default=dict)
    campaign = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    not_before = serializers.DateTimeField(required=False, allow_null=True)


class ControlFlagOutput(serializers.ModelSerializer):
    class Meta:
        model = ControlFlag
        fields = ["scope", "campaign", "paused", "killed", "live", "updated_at"]
        read_only_fields = fields


class ControlInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["pause", "resume", "kill", "unkill", "proof", "live"])
    campaign = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class WebhookOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "event_types", "is_active", "created_at"]
        read_only_fields = fields


class WebhookCreatedOutput(WebhookOutput):
    secret = serializers.CharField(read_only=True, help_text="whsec_…: shown once; verify signatures with it.")

    class Meta(WebhookOutput.Meta):
        fields = [*WebhookOutput.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50,
                                        help_text='Patterns, e.g. "publishtarget.status.*"; empty = all.')  # fmt: skip


class DeliveryOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "message_id", "event_type", "payload", "status", "attempts", "last_status_code", "last_error",
                  "delivered_at", "created_at"]  # fmt: skip
        read_only_fields = fields
