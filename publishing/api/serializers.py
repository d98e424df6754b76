from __future__ import annotations

from rest_framework import serializers

from ..models import Post, PublishTarget, SocialAccount


class AccountOutput(serializers.ModelSerializer):
    class Meta:
        model = SocialAccount
        fields = ["id", "platform", "handle", "display_name", "is_active", "token_status"]
        read_only_fields = fields


class PostOutput(serializers.ModelSerializer):
    link_url = serializers.CharField(read_only=True, help_text="A URL, or empty.")

    class Meta:
        model = Post
        fields = [
            "id", "campaign", "title", "body", "media_urls", "link_url", "scheduled_at", "status", "content_sha256",
            "approved_sha256", "approved_at", "approval_seq", "rejection_reason", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class TargetOutput(serializers.ModelSerializer):
    platform_url = serializers.CharField(read_only=True, help_text="A URL, or empty.")
    post_campaign = serializers.IntegerField(source="post.campaign_id", read_only=True)

    class Meta:
        model = PublishTarget
        fields = [
            "id", "post", "post_campaign", "account", "status", "due_at", "platform_post_id", "platform_url",
            "published_sha256", "published_at", "last_error", "generation", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class PostInput(serializers.Serializer):
    campaign = serializers.IntegerField(min_value=1, max_value=2**62)
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(max_length=20000)
    accounts = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), max_length=50)
    media_urls = serializers.ListField(child=serializers.URLField(max_length=2000), required=False, max_length=20)
    link_url = serializers.URLField(required=False, allow_blank=True, max_length=200)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)


class PostPatch(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(max_length=20000, required=False)
    media_urls = serializers.ListField(child=serializers.URLField(max_length=2000), required=False, max_length=20)
    link_url = serializers.URLField(required=False, allow_blank=True, max_length=200)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)


class ScheduleInput(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Empty: as soon as possible.")


class PostReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class TimelineOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    source = serializers.CharField()
    what = serializers.CharField()
    detail = serializers.CharField()
    actor = serializers.CharField()
