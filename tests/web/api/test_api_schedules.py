"""/api/schedules/: the CONTRACT shapes, validation (400 naming the field), permissions, 404s."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard.models import AuditEvent, Schedule, TaskRun
from taskboard.operations import PERM_SCHEDULE
from tests.conftest import VIEWER_PERMS, make_user
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import bearer_client, post_json, token_for

pytestmark = pytest.mark.django_db

NOOP = "taskboard.demo.noop"
CONTRACT_KEYS = {"name", "task", "cron", "every", "kwargs", "queue", "timezone", "paused", "next_run_at", "last_run"}


@pytest.fixture
def scheduler(db) -> User:
    return make_user("scheduler", perms=(*VIEWER_PERMS, PERM_SCHEDULE))


@pytest.fixture
def api(scheduler: User) -> Client:
    return bearer_client(token_for(scheduler))


def add(api: Client, **body) -> dict:
    body = {"name": "nightly", "task": NOOP, "cron": "0 3 * * *", **body}
    response = post_json(api, "/api/schedules/", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_add_then_list(api: Client) -> None:
    created = add(api, timezone="Europe/Berlin")
    assert CONTRACT_KEYS <= created.keys()
    assert (created["cron"], created["every"], created["queue"], created["timezone"], created["paused"]) == (
        "0 3 * * *", None, "default", "Europe/Berlin", False)
    assert created["next_run_at"].endswith("+00:00") and created["last_run"] is None
    assert created["description"] == "At 03:00 (Europe/Berlin)"
    listed = api.get("/api/schedules/").json()["results"]
    assert [s["name"] for s in listed] == ["nightly"]
    assert AuditEvent.objects.get().verb == "schedule.add"


def test_pause_resume_run_and_remove(api: Client) -> None:
    add(api, every=60, cron=None, kwargs={})
    paused = post_json(api, "/api/schedules/nightly/pause/", {"reason": "deploy"}).json()
    assert (paused["paused"], paused["next_run_at"]) == (True, None)
    resumed = post_json(api, "/api/schedules/nightly/resume/").json()
    assert resumed["paused"] is False and resumed["next_run_at"] is not None
    response = post_json(api, "/api/schedules/nightly/run/")
    assert response.status_code == 201
    run = response.json()
    assert (run["task"], run["schedule"], run["status"]) == (NOOP, "nightly", "queued")
    assert run["correlation_id"]
    assert api.get("/api/schedules/nightly/").json()["last_run"]["id"] == run["id"]
    assert api.delete("/api/schedules/nightly/").status_code == 204
    assert not Schedule.objects.exists()
    assert TaskRun.objects.get().schedule == "nightly"  # its runs stay
    assert list(AuditEvent.objects.order_by("id").values_list("verb", flat=True)) == [
        "schedule.add", "schedule.pause", "schedule.resume", "schedule.run", "schedule.remove"]


@pytest.mark.parametrize(("body", "field"), [
    ({"cron": "0 3 * * * *"}, "5 fields"),
    ({"cron": "61 * * * *"}, "not valid"),
    ({"cron": None}, "exactly one of cron"),
    ({"every": 10}, "exactly one of cron"),
    ({"cron": None, "every": 0}, "every"),
    ({"task": "no.such.task"}, "unknown task"),
    ({"name": "bad name!"}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"timezone": "Mars/Olympus"}, "not a known IANA time zone"),
    ({"queue": "nope"}, "unknown queue"),
    ({"kwargs": {"surprise": 1}}, "arguments do not match"),
    ({"misfire": "later"}, "misfire"),
    ({"when": "now"}, "unknown field 'when'"),
])
def test_bad_definitions_are_400_and_write_nothing(api: Client, body: dict, field: str) -> None:
    response = post_json(api, "/api/schedules/", {"name": "nightly", "task": NOOP, "cron": "0 3 * * *", **body})
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["message"]
    assert not Schedule.objects.exists() and not AuditEvent.objects.exists()


def test_a_taken_name_is_409(api: Client) -> None:
    add(api)
    response = post_json(api, "/api/schedules/", {"name": "nightly", "task": NOOP, "every": 5})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "conflict")


@pytest.mark.parametrize(("method", "url"), [
    ("post", "/api/schedules/nope/pause/"), ("post", "/api/schedules/nope/resume/"),
    ("post", "/api/schedules/nope/run/"), ("delete", "/api/schedules/nope/"), ("get", "/api/schedules/nope/")])
def test_unknown_schedules_are_404(api: Client, method: str, url: str) -> None:
    response = post_json(api, url) if method == "post" else getattr(api, method)(url)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_viewers_may_look_but_not_change(viewer_api: Client, api: Client) -> None:
    add(api)
    assert viewer_api.get("/api/schedules/").status_code == 200
    assert post_json(viewer_api, "/api/schedules/", {"name": "x", "task": NOOP, "every": 5}).status_code == 403
    assert post_json(viewer_api, "/api/schedules/nightly/run/").status_code == 403
    assert viewer_api.delete("/api/schedules/nightly/").status_code == 403
    assert not TaskRun.objects.exists()


def test_operators_hold_the_permission_through_their_group(db) -> None:
    from django.contrib.auth.models import Group

    user = make_user("in-group")
    user.groups.add(Group.objects.get(name="taskboard operators"))
    assert User.objects.get(pk=user.pk).has_perm(PERM_SCHEDULE)


def test_no_credentials_is_401(client: Client) -> None:
    assert client.get("/api/schedules/").status_code == 401
