"""Posts, targets and accounts over HTTP. Thin: publishing.services write; approvals need a person."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.auth import api_actor
from campaigns.api.base import ApiView, ListView, check_if_match, etag_of, with_etag
from campaigns.errors import InvalidTransition
from campaigns.models import Campaign

from .. import services
from ..models import Post, PublishTarget, SocialAccount
from ..selectors import target_timeline
from . import serializers as s
from .filters import PostFilter, TargetFilter

P = Post.Status


def post_etag(post: Post) -> str:
    return etag_of(post, "updated_at", "status", "content_sha256", "approval_seq")


def _post_response(post: Post, code: int = 200) -> Response:
    return with_etag(Response(s.PostOutput(post).data, status=code), post_etag(post))


class AccountListView(ListView):
    queryset = SocialAccount.objects.all()
    ordering = ["-id"]
    filterset_fields = ["platform", "is_active"]

    @extend_schema(responses=s.AccountOutput(many=True), operation_id="accounts_list")
    def get(self, request: Request) -> Response:
        return self.list_response(s.AccountOutput, fast=True)


class PostListView(ListView):
    queryset = Post.objects.all()
    filterset_class = PostFilter
    ordering_fields = ["id", "created_at", "scheduled_at"]
    ordering = ["-id"]

    @extend_schema(responses=s.PostOutput(many=True), operation_id="posts_list")
    def get(self, request: Request) -> Response:
        return self.list_response(s.PostOutput, fast=True)

    @extend_schema(
        request=s.PostInput, responses={201: s.PostOutput}, operation_id="posts_create",
        examples=[OpenApiExample("A draft for two accounts", request_only=True, value={
            "campaign": 1, "title": "Launch", "body": "We are live! https://example.com", "accounts": [1, 2]})],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = s.PostInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        campaign = get_object_or_404(Campaign, pk=v.pop("campaign"))
        ids = v.pop("accounts")
        accounts = list(SocialAccount.objects.filter(pk__in=ids))
        if len(accounts) != len(set(ids)):
            raise ValidationError({"accounts": "unknown account id(s)"})
        post = services.post_create(campaign=campaign, author=api_actor(request), accounts=accounts, **v)
        response = _post_response(post, status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/posts/{post.pk}/"
        return response


class PostDetailView(ApiView):
    @extend_schema(responses=s.PostOutput, operation_id="posts_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return _post_response(get_object_or_404(Post, pk=pk))

    @extend_schema(request=s.PostPatch, responses=s.PostOutput, operation_id="posts_partial_update",
                   description="Editing the content of an approved post voids its approval (back to review).")  # fmt: skip
    def patch(self, request: Request, pk: int) -> Response:
        data = s.PostPatch(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            post = get_object_or_404(Post.objects.select_for_update(), pk=pk)
            check_if_match(request, post_etag(post))
            if data.validated_data:
                services.post_update(post=post, actor=api_actor(request), **data.validated_data)
        post.refresh_from_db()
        return _post_response(post)


def _post_move(name: str, *, call: Any, human: bool = False, serializer: Any = None, doc: str = "") -> type[ApiView]:
    class MoveView(ApiView):
        human_only = human

        @extend_schema(request=serializer, responses=s.PostOutput, operation_id=f"posts_{name}",
                       description=("Humans only (session or reviewer token). " if human else "") + doc)  # fmt: skip
        def post(self, request: Request, pk: int) -> Response:
            extra: dict[str, Any] = {}
            if serializer is not None:
                data = serializer(data=request.data)
                data.is_valid(raise_exception=True)
                extra = dict(data.validated_data)
            with transaction.atomic():
                post = get_object_or_404(Post.objects.select_for_update(), pk=pk)
                check_if_match(request, post_etag(post))
                call(post=post, actor=api_actor(request), **extra)
            post.refresh_from_db()
            return _post_response(post)

    MoveView.__name__ = f"Post{name.title()}View"
    return MoveView


def _schedule(*, post: Post, actor: Any, scheduled_at=None) -> None:
    """Schedule approved content (or move a scheduled post). Unapproved content is refused."""
    if post.status not in (P.APPROVED, P.SCHEDULED) or not post.approval_is_current:
        raise InvalidTransition(f"post {post.pk} is {post.status}: only approved content can be scheduled")
    if post.status == P.SCHEDULED:
        services.post_update(post=post, actor=actor, scheduled_at=scheduled_at)
        return
    if scheduled_at is not None:
        services.post_update(post=post, actor=actor, scheduled_at=scheduled_at)
    services.post_schedule(post=post, actor=actor)


POST_MOVES = {
    "submit": _post_move("submit", call=services.post_submit, doc="Request review."),
    "approve": _post_move("approve", human=True, call=services.post_approve,
                          doc="Approve exactly this content (bound to its SHA-256) and schedule it."),
    "reject": _post_move("reject", human=True, serializer=s.PostReasonInput, call=services.post_reject),
    "reopen": _post_move("reopen", call=services.post_reopen, doc="A rejected post back to draft."),
    "schedule": _post_move("schedule", serializer=s.ScheduleInput, call=_schedule, doc=_schedule.__doc__ or ""),
}  # fmt: skip


class TargetListView(ListView):
    queryset = PublishTarget.objects.select_related("post")
    filterset_class = TargetFilter
    ordering_fields = ["id", "due_at", "published_at"]
    ordering = ["-id"]

    @extend_schema(responses=s.TargetOutput(many=True), operation_id="targets_list")
    def get(self, request: Request) -> Response:
        return self.list_response(s.TargetOutput, fast=True)


class TargetDetailView(ApiView):
    @extend_schema(responses=s.TargetOutput, operation_id="targets_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.TargetOutput(get_object_or_404(PublishTarget.objects.select_related("post"), pk=pk)).data)


class TargetTimelineView(ApiView):
    @extend_schema(responses=s.TimelineOutput(many=True), operation_id="targets_timeline",
                   description="Why it went out, or why not: approvals, enqueues, gate decisions, attempts.")  # fmt: skip
    def get(self, request: Request, pk: int) -> Response:
        target = get_object_or_404(PublishTarget.objects.select_related("post"), pk=pk)
        return Response(s.TimelineOutput(target_timeline(target), many=True).data)
