"""Public endpoints: one-click unsubscribe (RFC 8058), lead capture (HTML and JSON), double opt-in."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from campaigns.jsonsafe import too_deep, unstorable
from campaigns.models import Campaign

from .capture import lead_capture, lead_confirm
from .models import CaptureForm, Lead
from .services import lead_unsubscribe
from .tokens import BadTokenError, confirm_token_read, unsubscribe_token_read

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@csrf_exempt  # RFC 8058: the mail client POSTs without cookies or a CSRF token
@login_not_required
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows one button (link scanners change nothing); POST unsubscribes at once, repeat-safe."""
    try:
        lead_id, campaign_id = unsubscribe_token_read(token)
    except BadTokenError as exc:
        return render(request, "outreach/unsubscribe.html", {"error": str(exc)}, status=400)
    if request.method == "GET":
        return render(request, "outreach/unsubscribe.html", {"token": token})
    lead = Lead.objects.filter(pk=lead_id).first()
    campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
    if lead is not None and not lead.erased_at:
        lead_unsubscribe(lead=lead, campaign=campaign, actor=f"unsubscribe:{lead_id}", source="one-click unsubscribe")
    return render(request, "outreach/unsubscribe.html", {"done": True})


class CaptureInput(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(max_length=254)
    phone = forms.CharField(max_length=40, required=False)
    company = forms.CharField(max_length=200, required=False)
    role = forms.CharField(max_length=200, required=False)
    consent = forms.BooleanField(required=True, error_messages={"required": "please tick the consent box"})
    website = forms.CharField(required=False, help_text="honeypot: people leave it empty")
    referrer = forms.CharField(max_length=1000, required=False)
    utm_source = forms.CharField(max_length=200, required=False)
    utm_medium = forms.CharField(max_length=200, required=False)
    utm_campaign = forms.CharField(max_length=200, required=False)
    utm_term = forms.CharField(max_length=200, required=False)
    utm_content = forms.CharField(max_length=200, required=False)


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _rate_limited(form: CaptureForm, ip: str) -> bool:
    """Fixed one-hour window per (form, IP) in the cache (use a shared cache in production)."""
    key = f"capture:{form.pk}:{ip}:{int(timezone.now().timestamp()) // 3600}"
    cache.add(key, 0, timeout=3700)
    try:
        return cache.incr(key) > form.rate_limit_per_hour
    except ValueError:
        return False


def _wants_json(request: HttpRequest) -> bool:
    return request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")


@csrf_exempt  # embedded on other sites and posted by JS; protected by honeypot and per-IP rate limit
@login_not_required
@require_http_methods(["GET", "POST"])
def capture(request: HttpRequest, slug: str) -> HttpResponse:
    form_cfg = get_object_or_404(CaptureForm.objects.select_related("campaign"), campaign__slug=slug, enabled=True)
    as_json = _wants_json(request)
    context: dict[str, Any] = {"cfg": form_cfg, "campaign": form_cfg.campaign}
    if request.method == "GET":
        initial = {f: request.GET.get(f, "") for f in UTM_FIELDS}
        initial["referrer"] = request.headers.get("Referer", "")
        return render(request, "outreach/capture.html", {**context, "form": CaptureInput(initial=initial)})

    if as_json:
        if reason := too_deep(request.body):
            return JsonResponse({"errors": {"__all__": [reason]}}, status=400)
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return JsonResponse({"errors": {"__all__": ["body is not valid JSON"]}}, status=400)
        if not isinstance(data, dict):
            return JsonResponse({"errors": {"__all__": ["body must be a JSON object"]}}, status=400)
        nested = next((k for k, v in data.items() if isinstance(v, dict | list)), None)
        if nested is not None:  # a form field is one value; str() of an object would be stored as text
            return JsonResponse({"errors": {nested: ["must be text, a number or true/false, not a list or object"]}},
                                status=400)  # fmt: skip
        if problem := unstorable(data):
            return JsonResponse({"errors": {problem[0]: [problem[1]]}}, status=400)
    else:
        data = request.POST.dict()
    for f in UTM_FIELDS:
        data.setdefault(f, request.GET.get(f, ""))
    data.setdefault("referrer", request.headers.get("Referer", ""))
    form = CaptureInput(data)

    def done(status: int = 201) -> HttpResponse:
        body = {"status": "pending_confirmation" if form_cfg.double_opt_in else "subscribed"}
        if as_json:
            return JsonResponse(body, status=status)
        return render(request, "outreach/capture_done.html", {**context, **body}, status=status)

    if _rate_limited(form_cfg, _client_ip(request)):
        msg = "too many submissions from your address; try again in an hour"
        if as_json:
            return JsonResponse({"errors": {"__all__": [msg]}}, status=429)
        return render(request, "outreach/capture.html", {**context, "form": form, "error": msg}, status=429)
    if not form.is_valid():
        if as_json:
            return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
        return render(request, "outreach/capture.html", {**context, "form": form}, status=400)
    if form.cleaned_data["website"]:
        return done()  # honeypot: a bot filled the hidden field; look successful, store nothing
    try:
        lead_capture(form=form_cfg, data=form.cleaned_data, ip=_client_ip(request))
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        if as_json:
            return JsonResponse({"errors": errors}, status=400)
        for field, msgs in errors.items():
            form.add_error(field if field in form.fields else None, msgs)
        return render(request, "outreach/capture.html", {**context, "form": form}, status=400)
    return done()


@csrf_exempt
@login_not_required
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Double opt-in: GET shows a button (mail scanners confirm nothing); POST confirms."""
    try:
        lead_id, campaign_id = confirm_token_read(token)
    except BadTokenError as exc:
        return render(request, "outreach/confirm.html", {"error": str(exc)}, status=400)
    if request.method == "GET":
        return render(request, "outreach/confirm.html", {"token": token})
    lead = Lead.objects.filter(pk=lead_id).first()
    form_cfg = CaptureForm.objects.filter(campaign_id=campaign_id).select_related("campaign").first()
    if lead is None or form_cfg is None:
        return render(request, "outreach/confirm.html", {"error": "this confirmation link is not valid"}, status=400)
    lead_confirm(lead=lead, form=form_cfg)
    return render(request, "outreach/confirm.html", {"done": True})
