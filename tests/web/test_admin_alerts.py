"""The alerts admin: alerts read-only with a Silence action (minutes and reason asked first,
then the verb as the user); rule overrides validated like TASKBOARD_ALERTS and audited."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard.models import Alert, AlertRule, AuditEvent
from taskboard.operations import PERM_SILENCE
from tests.conftest import VIEWER_PERMS, make_user

pytestmark = pytest.mark.django_db


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def oncall() -> User:
    return make_user("oncall", perms=(*VIEWER_PERMS, PERM_SILENCE))


@pytest.fixture
def rule_editor() -> User:
    return make_user("editor", perms=(*VIEWER_PERMS, "taskboard.add_alertrule", "taskboard.change_alertrule",
                                      "taskboard.view_alertrule", "taskboard.delete_alertrule"))


def alert() -> Alert:
    return Alert.objects.create(rule="dead_letter", key="billing.charge abc", summary="declined", count=4)


def test_alerts_are_read_only(oncall: User) -> None:
    made = alert()
    client = client_of(oncall)
    assert client.get("/admin/taskboard/alert/").status_code == 200
    page = client.get(f"/admin/taskboard/alert/{made.pk}/change/").content.decode()
    assert "declined" in page and 'name="_save"' not in page
    assert client.get("/admin/taskboard/alert/add/").status_code == 403


def test_the_silence_action_asks_then_silences_through_the_verb(oncall: User) -> None:
    made = alert()
    client = client_of(oncall)
    form = client.post("/admin/taskboard/alert/", {"action": "silence", "_selected_action": [made.pk]})
    assert form.status_code == 200 and 'name="minutes"' in form.content.decode()
    done = client.post("/admin/taskboard/alert/", {"action": "silence", "_selected_action": [made.pk],
                                                   "apply": "1", "minutes": "120", "reason": "vendor outage"})
    assert done.status_code == 302
    made.refresh_from_db()
    assert (made.silence_reason, made.silenced_by) == ("vendor outage", "oncall")
    [event] = AuditEvent.objects.all()
    assert (event.verb, event.via, event.actor) == ("alert.silence", "admin", "oncall")


def test_bad_minutes_show_the_form_again(oncall: User) -> None:
    made = alert()
    page = client_of(oncall).post("/admin/taskboard/alert/", {"action": "silence", "_selected_action": [made.pk],
                                                               "apply": "1", "minutes": "99999"})
    assert page.status_code == 200 and "Ensure this value is less than or equal to 10080" in page.content.decode()
    made.refresh_from_db()
    assert made.silenced_until is None


def test_viewers_have_no_silence_action() -> None:
    viewer = make_user("viewer2", perms=VIEWER_PERMS)
    assert 'value="silence"' not in client_of(viewer).get("/admin/taskboard/alert/").content.decode()


def test_rule_overrides_are_validated_and_audited(rule_editor: User) -> None:
    client = client_of(rule_editor)
    bad = client.post("/admin/taskboard/alertrule/add/", {"rule": "failure_rate", "scope": "billing.charge",
                                                          "threshold": "150"})
    assert bad.status_code == 200 and "percentage" in bad.content.decode()
    scoped_window = client.post("/admin/taskboard/alertrule/add/", {"rule": "failure_rate", "scope": "x",
                                                                    "window": "600"})
    assert "only for the whole rule" in scoped_window.content.decode()
    not_for_rule = client.post("/admin/taskboard/alertrule/add/", {"rule": "breaker_open", "threshold": "5"})
    assert "breaker_open takes enabled" in not_for_rule.content.decode()
    assert not AlertRule.objects.exists() and not AuditEvent.objects.exists()
    ok = client.post("/admin/taskboard/alertrule/add/", {"rule": "queue_wait", "scope": "reports",
                                                         "threshold": "3600", "note": "nightly batch"})
    assert ok.status_code == 302
    row = AlertRule.objects.get()
    assert (row.rule, row.scope, row.threshold, row.updated_by) == ("queue_wait", "reports", 3600.0, "editor")
    [event] = AuditEvent.objects.all()
    assert (event.verb, event.via, event.targets) == ("alert_rule.save", "admin", ["queue_wait:reports"])
    client.post(f"/admin/taskboard/alertrule/{row.pk}/delete/", {"post": "yes"})
    assert not AlertRule.objects.exists()
    assert AuditEvent.objects.filter(verb="alert_rule.delete").count() == 1


def test_webhook_subscriptions_are_added_through_the_verb_and_show_the_secret_once() -> None:
    from taskboard.models import WebhookSubscription
    from taskboard.operations import PERM_WEBHOOKS

    user = make_user("integrator", perms=(*VIEWER_PERMS, PERM_WEBHOOKS))
    client = client_of(user)
    bad = client.post("/admin/taskboard/webhooksubscription/add/", {"url": "https://x.example.com/h",
                                                                    "task": "no.such.task"})
    assert bad.status_code == 200 and "unknown task" in bad.content.decode()
    done = client.post("/admin/taskboard/webhooksubscription/add/", {"url": "https://x.example.com/h",
                                                                     "events": ["run.failed"]}, follow=True)
    sub = WebhookSubscription.objects.get()
    assert sub.events == ["run.failed"] and sub.created_by == "integrator"
    assert sub.secret in done.content.decode()  # shown once, in the message after saving
    assert sub.secret not in client.get(f"/admin/taskboard/webhooksubscription/{sub.pk}/change/").content.decode()
    assert AuditEvent.objects.filter(verb="webhook.add", via="admin").count() == 1
