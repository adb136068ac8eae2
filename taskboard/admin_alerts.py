"""Django admin for alerts: alerts read-only (with their notifications) and a Silence action
that asks for minutes and a reason, then calls ``operations.silence_alert`` as the user; the
rule overrides (``AlertRule``) editable, validated like ``TASKBOARD_ALERTS`` and saved through
``operations.alert_rules`` (audited); webhook subscriptions to run events, added and removed
through ``operations.webhooks``. Imported by ``taskboard.admin``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html, format_html_join

from taskboard import operations
from taskboard.admin import RunViewersAdmin
from taskboard.exceptions import NotAllowed
from taskboard.models import EVENT_TYPES, Alert, AlertRule, WebhookSubscription
from taskboard.notify.config import RULE_SCOPES, check_rule_values
from taskboard.operations import alert_rules, webhooks
from taskboard.operations.inputs import BadInput
from taskboard.operations.silence import MINUTES_MAX, MINUTES_MIN, REASON_MAX
from taskboard.readmodels.alerts import absolute

NOTIFICATIONS_SHOWN = 20


class SilenceForm(forms.Form):
    minutes = forms.IntegerField(min_value=MINUTES_MIN, max_value=MINUTES_MAX, initial=60,
                                 help_text=f"{MINUTES_MIN} to {MINUTES_MAX} (one week)")
    reason = forms.CharField(max_length=REASON_MAX, required=False)


@admin.register(Alert)
class AlertAdmin(RunViewersAdmin):
    list_display = ["id", "state", "rule", "key", "count", "summary", "started_at", "resolved_at", "silenced_until"]
    list_filter = ["state", "rule"]
    search_fields = ["key", "summary"]
    readonly_fields = ["rule", "key", "state", "summary", "count", "dashboard", "started_at", "updated_at",
                       "resolved_at", "last_notified_at", "notifications", "silenced_until", "silence_reason",
                       "silenced_by", "sent"]
    exclude = ["link", "notified_count"]
    actions = ["silence"]
    show_full_result_count = False

    def has_silence_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_SILENCE)

    @admin.display(description="link")
    def dashboard(self, obj: Alert) -> str:
        return format_html('<a href="{}">{}</a>', obj.link, absolute(obj.link)) if obj.link else "—"

    @admin.display(description="notifications sent (newest first)")
    def sent(self, obj: Alert) -> str:
        rows = obj.notification_set.order_by("-created_at", "-id")[:NOTIFICATIONS_SHOWN]
        return format_html("<ol>{}</ol>", format_html_join(
            "", "<li>{} {} (count {}) → {}</li>",
            ((n.created_at.isoformat(timespec="seconds"), n.event, n.payload.get("count"),
              ", ".join(n.channels) or "no channel configured") for n in rows))) if rows else "—"

    @admin.action(description="Silence selected alerts…", permissions=["silence"])
    def silence(self, request: HttpRequest, queryset: QuerySet[Alert]) -> HttpResponse | None:
        form = SilenceForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for alert in queryset:
                try:
                    operations.silence_alert(alert.pk, minutes=form.cleaned_data["minutes"],
                                             reason=form.cleaned_data["reason"], user=request.user)
                    done += 1
                except NotAllowed as exc:
                    self.message_user(request, str(exc), messages.ERROR)
                    return None
            self.message_user(request, f"Silenced {done} alert{'s' if done != 1 else ''} for "
                                       f"{form.cleaned_data['minutes']} minutes.", messages.SUCCESS)
            return None
        return render(request, "admin/taskboard/alert/silence.html", {
            **self.admin_site.each_context(request), "title": "Silence alerts", "form": form,
            "alerts": queryset, "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })


class AlertRuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["rule", "scope", "enabled", "threshold", "min_count", "window", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        rule, scope = data.get("rule"), (data.get("scope") or "").strip()
        if rule:
            values = {name: data.get(name) for name in ("enabled", "threshold", "min_count", "window")}
            try:
                check_rule_values(rule, values, f"{rule} ({RULE_SCOPES[rule]} {scope!r})" if scope else rule,
                                  scoped=bool(scope))
            except ImproperlyConfigured as exc:
                raise forms.ValidationError(str(exc)) from None
        data["scope"] = scope
        return data


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Overrides of ``TASKBOARD_ALERTS``: a blank field inherits the settings and the defaults."""

    form = AlertRuleForm
    list_display = ["rule", "scope", "enabled", "threshold", "min_count", "window", "note", "updated_at", "updated_by"]
    list_filter = ["rule"]

    def save_model(self, request: HttpRequest, obj: AlertRule, form: Any, change: bool) -> None:
        alert_rules.save_alert_rule(obj, user=request.user)

    def delete_model(self, request: HttpRequest, obj: AlertRule) -> None:
        alert_rules.delete_alert_rule(obj, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        for row in queryset:
            alert_rules.delete_alert_rule(row, user=request.user)


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=[(e, e) for e in EVENT_TYPES], required=False,
                                       widget=forms.CheckboxSelectMultiple, help_text="None ticked: every event.")

    class Meta:
        model = WebhookSubscription
        fields = ["url", "events", "task", "description"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            webhooks.check_url(data.get("url") or "")
            webhooks.check_task(data.get("task") or "")
        except BadInput as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Added through ``operations.add_webhook`` (its secret shown once, in the message after
    saving), removed through ``operations.remove_webhook``; never edited (remove and add)."""

    form = WebhookSubscriptionForm
    list_display = ["id", "url", "events", "task", "description", "active", "created_at", "created_by"]

    def _may(self, request: HttpRequest) -> bool:
        return request.user.has_perm(operations.PERM_WEBHOOKS)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._may(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._may(request)

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: Any, change: bool) -> None:
        sub, secret = operations.add_webhook(obj.url, events=form.cleaned_data["events"], task=obj.task,
                                             description=obj.description, user=request.user)
        obj.pk = sub.pk
        self.message_user(request, f"Webhook {sub.pk} added. Its signing secret, shown only now: {secret}",
                          messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: WebhookSubscription) -> None:
        operations.remove_webhook(obj.pk, user=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for sub in queryset:
            operations.remove_webhook(sub.pk, user=request.user)
