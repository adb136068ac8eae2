"""GET /api/dead-letters/ and POST /api/dead-letters/replay/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from taskboard.models import DeadLetter, Resolution, Status, TaskRun
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import failed_run, make_dead_letter, make_run, post_json

pytestmark = pytest.mark.django_db


def _letters(n: int, task: str = "taskboard.demo.fail") -> list[DeadLetter]:
    base = timezone.now() - timedelta(hours=1)
    return [make_dead_letter(make_run(task=task, status=Status.FAILED), created_at=base + timedelta(seconds=i))
            for i in range(n)]


# --- list -------------------------------------------------------------------------------------

def test_list_shape(viewer_api: Client) -> None:
    run = failed_run("declined")
    letter = DeadLetter.objects.get(run=run)
    body = viewer_api.get("/api/dead-letters/").json()
    assert body == {"results": [{
        "id": letter.pk, "run": str(run.id), "reason": letter.reason,
        "created_at": letter.created_at.isoformat(), "resolved_at": None, "resolution": None,
    }], "next": None}


def test_list_is_newest_first(viewer_api: Client) -> None:
    letters = _letters(3)
    body = viewer_api.get("/api/dead-letters/").json()
    assert [r["id"] for r in body["results"]] == [letter.pk for letter in reversed(letters)]


def test_list_pages_with_the_cursor(viewer_api: Client) -> None:
    letters = _letters(5)
    seen: list[int] = []
    url = "/api/dead-letters/?limit=2"
    while url:
        body = viewer_api.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = f"/api/dead-letters/?limit=2&cursor={body['next']}" if body["next"] else ""
    assert seen == [letter.pk for letter in reversed(letters)]


def test_list_filters_by_task(viewer_api: Client) -> None:
    _letters(2, task="taskboard.demo.fail")
    other = _letters(1, task="taskboard.demo.flaky")
    body = viewer_api.get("/api/dead-letters/?task=taskboard.demo.flaky").json()
    assert [r["id"] for r in body["results"]] == [other[0].pk]


def test_list_includes_resolved_letters(operator_api: Client) -> None:
    run = failed_run()
    post_json(operator_api, f"/api/runs/{run.id}/replay/")
    result = operator_api.get("/api/dead-letters/").json()["results"][0]
    assert (result["resolution"], result["resolved_at"] is not None) == ("replayed", True)


def test_list_open_only(operator_api: Client) -> None:
    replayed, still_open = failed_run(), failed_run()
    post_json(operator_api, f"/api/runs/{replayed.id}/replay/")
    body = operator_api.get("/api/dead-letters/?open=true").json()
    assert [r["run"] for r in body["results"]] == [str(still_open.id)]


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "cursor=xyz", "open=maybe"])
def test_list_bad_query_is_400(viewer_api: Client, query: str) -> None:
    assert viewer_api.get(f"/api/dead-letters/?{query}").status_code == 400


# --- replay -----------------------------------------------------------------------------------

def test_replay_by_ids(operator_api: Client) -> None:
    run = failed_run()
    letter = DeadLetter.objects.get(run=run)
    body = post_json(operator_api, "/api/dead-letters/replay/", {"ids": [letter.pk]}).json()
    assert (body["replayed"], body["runs"]) == (1, [str(TaskRun.objects.get(replay_of=run).id)])


def test_replay_by_ids_only_touches_those(operator_api: Client) -> None:
    chosen, other = failed_run(), failed_run()
    letter = DeadLetter.objects.get(run=chosen)
    post_json(operator_api, "/api/dead-letters/replay/", {"ids": [letter.pk]})
    assert DeadLetter.objects.get(run=other).resolved_at is None


def test_replay_by_task(operator_api: Client) -> None:
    failed_run(), failed_run()
    make_dead_letter(make_run(task="taskboard.demo.flaky", status=Status.FAILED, kwargs={"fail_times": 9}))
    body = post_json(operator_api, "/api/dead-letters/replay/", {"task": "taskboard.demo.fail"}).json()
    assert body["replayed"] == 2


def test_replay_resolves_the_letters(operator_api: Client) -> None:
    failed_run()
    post_json(operator_api, "/api/dead-letters/replay/", {"task": "taskboard.demo.fail"})
    assert DeadLetter.objects.get().resolution == Resolution.REPLAYED


def test_replay_skips_resolved_letters(operator_api: Client) -> None:
    run = failed_run()
    letter = DeadLetter.objects.get(run=run)
    post_json(operator_api, "/api/dead-letters/replay/", {"ids": [letter.pk]})
    body = post_json(operator_api, "/api/dead-letters/replay/", {"ids": [letter.pk]}).json()
    assert (body["replayed"], body["runs"]) == (0, [])


def test_replay_of_unknown_ids_replays_nothing(operator_api: Client) -> None:
    body = post_json(operator_api, "/api/dead-letters/replay/", {"ids": [999999]}).json()
    assert body["replayed"] == 0


@pytest.mark.parametrize("body", [
    {},
    {"ids": [1], "task": "taskboard.demo.fail"},
    {"ids": "1"},
    {"ids": ["1"]},
    {"ids": [True]},
    {"ids": [1.5]},
    {"ids": [0]},
    {"ids": [10**30]},
    {"task": 3},
    {"task": "x", "extra": 1},
])
def test_replay_bad_body_is_400(operator_api: Client, body: Any) -> None:
    response = post_json(operator_api, "/api/dead-letters/replay/", body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")


def test_replay_skips_letters_whose_arguments_no_longer_bind(operator_api: Client) -> None:
    good = failed_run()
    # A stored run whose kwargs no longer fit the task (e.g. after a signature change).
    stale = make_run(task="taskboard.demo.fail", status=Status.FAILED, kwargs={"gone": 1})
    make_dead_letter(stale)
    response = post_json(operator_api, "/api/dead-letters/replay/", {"task": "taskboard.demo.fail"})
    body = response.json()
    assert response.status_code == 200 and body["replayed"] == 1
    assert TaskRun.objects.filter(replay_of=good).exists()
    assert not TaskRun.objects.filter(replay_of=stale).exists()
    assert [s["run"] for s in body["skipped"]] == [str(stale.pk)]
    assert "missing a required argument" in body["skipped"][0]["reason"]
