"""Leads, consent, GDPR export, bulk import, sequences and enrollments over HTTP, through outreach's services."""

from __future__ import annotations

import io

from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.auth import api_actor
from campaigns.api.base import ApiView, ListView, check_if_match, etag_of, with_etag
from campaigns.models import Campaign

from .. import services
from ..importing import leads_import
from ..models import Enrollment, Lead, Sequence
from ..sequences import enrollment_create
from . import serializers as s


def lead_etag(lead: Lead) -> str:
    return etag_of(lead, "updated_at", "status", "consent_status")


class LeadListView(ListView):
    filterset_fields = ["campaign", "status", "consent_status", "source_channel"]
    ordering_fields = ["id", "created_at", "score"]
    ordering = ["-id"]

    def get_queryset(self):
        queryset = Lead.objects.filter(erased_at__isnull=True)
        q = self.request.query_params.get("q", "").strip()
        if q:
            queryset = queryset.filter(Q(email__icontains=q) | Q(name__icontains=q) | Q(company__icontains=q))
        return queryset

    @extend_schema(responses=s.LeadOutput(many=True), operation_id="leads_list",
                   parameters=[OpenApiParameter("q", str, description="Search email, name and company.")])  # fmt: skip
    def get(self, request: Request) -> Response:
        return self.list_response(s.LeadOutput, fast=True)

    @extend_schema(
        request=s.LeadInput, responses={201: s.LeadOutput, 200: s.LeadOutput}, operation_id="leads_create",
        description="Create a lead, or answer the existing one for the same person (200). "
        "A suppressed person is refused (400).",
        examples=[OpenApiExample("A lead", request_only=True, value={"email": "ada@example.com", "name": "Ada"})],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = s.LeadInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        campaign = get_object_or_404(Campaign, pk=v.pop("campaign")) if v.get("campaign") else None
        v.pop("campaign", None)
        lead, created = services.lead_upsert(actor=api_actor(request), campaign=campaign, source_channel="api", **v)
        return with_etag(Response(s.LeadOutput(lead).data, status=201 if created else 200), lead_etag(lead))


class LeadDetailView(ApiView):
    @extend_schema(responses=s.LeadOutput, operation_id="leads_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        lead = get_object_or_404(Lead, pk=pk, erased_at__isnull=True)
        return with_etag(Response(s.LeadOutput(lead).data), lead_etag(lead))

    @extend_schema(request=s.LeadPatch, responses=s.LeadOutput, operation_id="leads_partial_update")
    def patch(self, request: Request, pk: int) -> Response:
        data = s.LeadPatch(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            lead = get_object_or_404(Lead.objects.select_for_update(), pk=pk, erased_at__isnull=True)
            check_if_match(request, lead_etag(lead))
            if data.validated_data:
                services.lead_update(lead=lead, actor=api_actor(request), **data.validated_data)
        lead.refresh_from_db()
        return with_etag(Response(s.LeadOutput(lead).data), lead_etag(lead))


class LeadConsentView(ApiView):
    @extend_schema(request=s.ConsentInput, responses=s.LeadOutput, operation_id="leads_consent",
                   description="Record a consent decision with its source and the exact text shown.")  # fmt: skip
    def post(self, request: Request, pk: int) -> Response:
        data = s.ConsentInput(data=request.data)
        data.is_valid(raise_exception=True)
        lead = get_object_or_404(Lead, pk=pk, erased_at__isnull=True)
        services.consent_record(lead=lead, actor=api_actor(request), **data.validated_data)
        lead.refresh_from_db()
        return with_etag(Response(s.LeadOutput(lead).data), lead_etag(lead))


class LeadExportView(ApiView):
    @extend_schema(responses=OpenApiTypes.OBJECT, operation_id="leads_export",
                   description="GDPR access request: everything stored about the person. Audited.")  # fmt: skip
    def get(self, request: Request, pk: int) -> Response:
        lead = get_object_or_404(Lead, pk=pk, erased_at__isnull=True)
        return Response(services.lead_export(lead=lead, actor=api_actor(request)))


class LeadImportView(ApiView):
    @extend_schema(request=s.ImportInput, responses=s.ImportOutput, operation_id="leads_import",
                   description="Bulk import from CSV text; bad rows are reported with their line number.")  # fmt: skip
    def post(self, request: Request) -> Response:
        data = s.ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        campaign = get_object_or_404(Campaign, pk=v["campaign"]) if v.get("campaign") else None
        report = leads_import(stream=io.StringIO(v["csv"]), campaign=campaign, actor=api_actor(request),
                              mapping=v.get("mapping") or None, source_ref=v["source_ref"])  # fmt: skip
        return Response(report.as_dict())


class SequenceListView(ListView):
    queryset = Sequence.objects.all()
    filterset_fields = ["campaign", "active"]
    ordering = ["-id"]

    @extend_schema(responses=s.SequenceOutput(many=True), operation_id="sequences_list")
    def get(self, request: Request) -> Response:
        return self.list_response(s.SequenceOutput, fast=True)


class EnrollmentListView(ListView):
    queryset = Enrollment.objects.all()
    filterset_fields = ["campaign", "sequence", "lead", "status"]
    ordering = ["-id"]

    @extend_schema(responses=s.EnrollmentOutput(many=True), operation_id="enrollments_list")
    def get(self, request: Request) -> Response:
        return self.list_response(s.EnrollmentOutput, fast=True)

    @extend_schema(request=s.EnrollmentInput, responses={201: s.EnrollmentOutput, 200: s.EnrollmentOutput},
                   operation_id="enrollments_create", description="Enroll a lead in a sequence (idempotent).")  # fmt: skip
    def post(self, request: Request) -> Response:
        data = s.EnrollmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        lead = get_object_or_404(Lead, pk=data.validated_data["lead"], erased_at__isnull=True)
        sequence = get_object_or_404(Sequence.objects.select_related("campaign"), pk=data.validated_data["sequence"])
        enrollment, created = enrollment_create(lead=lead, sequence=sequence, actor=api_actor(request))
        return Response(s.EnrollmentOutput(enrollment).data, status=201 if created else 200)
