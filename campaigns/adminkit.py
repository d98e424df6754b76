"""Admin helpers every app uses: run a service over selected rows, show an audit trail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join

from .audit import audit_trail
from .errors import TransitionError


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def apply_service(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, service: Callable[[Model], Any], verb: str
) -> None:
    """Call ``service(obj)`` for each selected row; report successes and each refusal by name."""
    done = 0
    for obj in queryset:
        try:
            service(obj)
        except (TransitionError, ValidationError) as exc:
            modeladmin.message_user(request, f"{obj}: not {verb}: {error_text(exc)}", messages.ERROR)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"{done} {verb}.", messages.SUCCESS)


def audit_table(obj: Model, limit: int = 50) -> str:
    if obj is None or obj.pk is None:
        return "—"
    rows = audit_trail(obj)[:limit]
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
        (
            (e.created_at.strftime("%Y-%m-%d %H:%M:%S UTC"), e.actor_label, e.action, e.old, e.new, e.note,
             str(e.data.get("sha256", ""))[:12])
            for e in rows
        ),
    )  # fmt: skip
    return format_html(
        '<table class="audit"><thead><tr><th>When</th><th>Who</th><th>What</th><th>From</th><th>To</th>'
        "<th>Note</th><th>Content hash</th></tr></thead><tbody>{}</tbody></table>",
        body,
    )


def reason_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    service: Callable[[Model, str], Any],
    *,
    verb: str,
    title: str,
    label: str = "Reason (required; the author sees it)",
) -> TemplateResponse | None:
    """An admin action that first asks for a reason on an intermediate page, then calls the service."""
    if request.POST.get("confirm") == "yes":
        reason = request.POST.get("reason", "").strip()
        if reason:
            apply_service(modeladmin, request, queryset, lambda obj: service(obj, reason), verb)
            return None
        messages.error(request, f"{label.split(' (')[0].lower()}: required")
    return TemplateResponse(
        request,
        "admin/reason_form.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "label": label,
            "objects": queryset,
            "action": request.POST.get("action", ""),
            "opts": modeladmin.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )
