from __future__ import annotations

import django_filters

from ..models import Action, AuditEntry, Campaign


class CampaignFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")

    class Meta:
        model = Campaign
        fields = ["status", "mode", "objective", "name"]


class ActionFilter(django_filters.FilterSet):
    key_prefix = django_filters.CharFilter(field_name="idempotency_key", lookup_expr="startswith")

    class Meta:
        model = Action
        fields = ["status", "action_type", "campaign"]


class AuditFilter(django_filters.FilterSet):
    action = django_filters.CharFilter()
    actor_label = django_filters.CharFilter()

    class Meta:
        model = AuditEntry
        fields = ["action", "actor_label"]
