from __future__ import annotations

from rest_framework import serializers

from ..models import Enrollment, Lead, Sequence


class LeadOutput(serializers.ModelSerializer):
    linkedin_url = serializers.CharField(read_only=True, help_text="A URL, or empty.")

    class Meta:
        model = Lead
        fields = [
            "id", "campaign", "name", "company", "role", "email", "phone", "linkedin_url", "timezone",
            "source_channel", "source_ref", "utm_source", "utm_medium", "utm_campaign", "consent_status",
            "consent_at", "consent_source", "tags", "score", "status", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class LeadInput(serializers.Serializer):
    campaign = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    role = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    linkedin_url = serializers.URLField(max_length=200, required=False, allow_blank=True)
    timezone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    source_ref = serializers.CharField(max_length=255, required=False, allow_blank=True)
    utm_source = serializers.CharField(max_length=200, required=False, allow_blank=True)
    utm_medium = serializers.CharField(max_length=200, required=False, allow_blank=True)
    utm_campaign = serializers.CharField(max_length=200, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50)
    score = serializers.IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)


class LeadPatch(LeadInput):
    campaign = None  # a lead's campaign is set when it is created


class ConsentInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Lead.Consent.choices)
    source = serializers.CharField(max_length=255)
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


class ImportInput(serializers.Serializer):
    csv = serializers.CharField(max_length=2_000_000, help_text="CSV text, header on the first line.")
    campaign = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**62)
    mapping = serializers.DictField(child=serializers.CharField(max_length=100), required=False)
    source_ref = serializers.CharField(max_length=255, required=False, default="api")


class ImportOutput(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    invalid = serializers.IntegerField()
    first_invalid = serializers.ListField(child=serializers.ListField())


class SequenceOutput(serializers.ModelSerializer):
    class Meta:
        model = Sequence
        fields = ["id", "campaign", "name", "send_days", "window_start", "window_end", "timeout_days", "active"]
        read_only_fields = fields


class EnrollmentOutput(serializers.ModelSerializer):
    class Meta:
        model = Enrollment
        fields = ["id", "lead", "sequence", "campaign", "status", "next_position", "next_due_at", "last_touch_at",
                  "stop_reason", "created_at"]  # fmt: skip
        read_only_fields = fields


class EnrollmentInput(serializers.Serializer):
    lead = serializers.IntegerField(min_value=1, max_value=2**62)
    sequence = serializers.IntegerField(min_value=1, max_value=2**62)
