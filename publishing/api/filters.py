from __future__ import annotations

import django_filters

from ..models import Post, PublishTarget


class PostFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(field_name="title", lookup_expr="icontains")

    class Meta:
        model = Post
        fields = ["campaign", "status"]


class TargetFilter(django_filters.FilterSet):
    campaign = django_filters.NumberFilter(field_name="post__campaign")

    class Meta:
        model = PublishTarget
        fields = ["post", "account", "status"]
