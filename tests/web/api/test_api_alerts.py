"""``GET /api/alerts/`` and ``POST /api/alerts/{id}/silence/``: shapes, keyset paging,
validation (400, nothing written), permissions (401/403), and one audit event per silence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from taskboard.models import Alert, AlertState, AuditEvent
from taskboard.operations import PERM_SILENCE
from tests.conftest import VIEWER_PERMS, make_user
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import bearer_client, post_json, token_for

pytestmark = pytest.mark.django_db

KEYS = {"id", "rule", "state", "key", "summary", "count", "started_at", "resolved_at", "silenced_until", "link"}


@pytest.fixture
def oncall() -> User:
    return make_user("oncall", perms=(*VIEWER_PERMS, PERM_SILENCE))


@pytest.fixture
def oncall_api(oncall: User) -> Client:
    return bearer_client(token_for(oncall))


def alert(state: str = AlertState.FIRING, minutes_ago: int = 0, key: str = "default") -> Alert:
    started = timezone.now() - timedelta(minutes=minutes_ago)
    return Alert.objects.create(rule="queue_wait", key=key, state=state, summary=f"queue {key} waits", count=3,
                                link=f"/dashboard/runs/?queue={key}", started_at=started,
                                resolved_at=started + timedelta(minutes=1) if state == AlertState.RESOLVED else None)


def test_list_shape_newest_first_and_state_filter(viewer_api, settings):
    settings.TASKBOARD_BASE_URL = "https://ops.example.com"
    old = alert(AlertState.RESOLVED, minutes_ago=30, key="reports")
    new = alert(minutes_ago=1)
    body = viewer_api.get("/api/alerts/").json()
    assert [row["id"] for row in body["results"]] == [new.pk, old.pk] and body["next"] is None
    assert set(body["results"][0]) == KEYS
    assert body["results"][0]["link"] == "https://ops.example.com/dashboard/runs/?queue=default"
    assert body["results"][1]["resolved_at"] is not None
    assert [r["id"] for r in viewer_api.get("/api/alerts/?state=resolved").json()["results"]] == [old.pk]
    assert [r["id"] for r in viewer_api.get("/api/alerts/?state=firing").json()["results"]] == [new.pk]


def test_keyset_pages(viewer_api):
    made = [alert(AlertState.RESOLVED, minutes_ago=i, key=f"q{i}").pk for i in range(5)]
    first = viewer_api.get("/api/alerts/?limit=2").json()
    second = viewer_api.get(f"/api/alerts/?limit=2&cursor={first['next']}").json()
    third = viewer_api.get(f"/api/alerts/?limit=2&cursor={second['next']}").json()
    assert [r["id"] for r in first["results"] + second["results"] + third["results"]] == made
    assert third["next"] is None


@pytest.mark.parametrize("query", ["state=open", "limit=0", "limit=501", "cursor=%21%21", "cursor=bm90LWEtY3Vyc29y"])
def test_bad_queries_are_400(viewer_api, query):
    response = viewer_api.get(f"/api/alerts/?{query}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"


def test_list_needs_credentials():
    assert Client().get("/api/alerts/").status_code == 401


def test_silence(oncall_api):
    target = alert()
    before = timezone.now()
    response = post_json(oncall_api, f"/api/alerts/{target.pk}/silence/", {"minutes": 90, "reason": "deploy"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == KEYS and body["id"] == target.pk
    target.refresh_from_db()
    assert before + timedelta(minutes=90) <= target.silenced_until <= timezone.now() + timedelta(minutes=90)
    assert (target.silence_reason, target.silenced_by) == ("deploy", "oncall")
    [event] = AuditEvent.objects.all()
    assert (event.verb, event.via, event.actor, event.targets, event.reason) == (
        "alert.silence", "api", "oncall", [str(target.pk)], "deploy")


@pytest.mark.parametrize("body", [{"minutes": 0}, {"minutes": 10081}, {"minutes": "60"}, {"minutes": 1.5}, {},
                                  {"minutes": 60, "reason": 5}, {"minutes": 60, "reason": "x" * 501},
                                  {"minutes": 60, "until": "tomorrow"}, {"minutes": True}])
def test_bad_silences_are_400_and_write_nothing(oncall_api, body):
    target = alert()
    response = post_json(oncall_api, f"/api/alerts/{target.pk}/silence/", body)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {"error"}
    target.refresh_from_db()
    assert target.silenced_until is None and not AuditEvent.objects.exists()


def test_malformed_json_is_400(oncall_api):
    target = alert()
    response = oncall_api.post(f"/api/alerts/{target.pk}/silence/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"


def test_unknown_alert_is_404(oncall_api):
    response = post_json(oncall_api, "/api/alerts/999999/silence/", {"minutes": 5})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_silence_needs_the_permission(viewer_api, operator_api):
    target = alert()
    for client in (viewer_api, operator_api):
        response = post_json(client, f"/api/alerts/{target.pk}/silence/", {"minutes": 5})
        assert response.status_code == 403
    assert not AuditEvent.objects.exists()
    assert Client().post(f"/api/alerts/{target.pk}/silence/", {}, content_type="application/json").status_code == 401


def test_maximum_silence_is_one_week(oncall_api):
    target = alert()
    assert post_json(oncall_api, f"/api/alerts/{target.pk}/silence/", {"minutes": 10080}).status_code == 200
