"""The API's side of the audit log: every verb it calls leaves one event ``via`` api (none when
it answers 4xx), and ``GET /api/audit/`` lists them with filters and keyset paging."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from taskboard.models import AuditEvent, Status, TaskRun, Via
from taskboard.operations.audit import acting_via
from tests.audit_helpers import linked_runs, recorded, summary
from tests.factories import NOOP, make_failed
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import bearer_client, make_run, post_json, token_for
from tests.web.flow_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.flow_fixtures import BREAKER

pytestmark = pytest.mark.django_db


def later() -> Any:
    return timezone.now() + timedelta(hours=1)


@pytest.fixture
def flow_api(flow_operator: User) -> Client:
    return bearer_client(token_for(flow_operator))


# --- the verbs, through the API -----------------------------------------------------------------


def test_each_run_verb_leaves_one_event_via_the_api(operator_api: Client) -> None:
    queued, failed = make_run(status=Status.QUEUED), make_failed()
    retrying, scheduled = make_run(status=Status.RETRYING, run_after=later()), make_run(status=Status.SCHEDULED,
                                                                                        run_after=later())
    calls = [
        ("/api/runs/", {"task": NOOP}, "run.enqueue"),
        (f"/api/runs/{queued.pk}/cancel/", {}, "run.cancel"),
        (f"/api/runs/{failed.pk}/replay/", {}, "run.replay"),
        (f"/api/runs/{retrying.pk}/retry-now/", {}, "run.retry_now"),
        (f"/api/runs/{scheduled.pk}/run-now/", {}, "run.run_now"),
    ]
    for url, body, verb in calls:
        with recorded() as events:
            assert post_json(operator_api, url, body).status_code in (200, 201)
        assert [(e.verb, e.actor, e.via, e.count) for e in events] == [(verb, "operator", "api", 1)], url


def test_dead_letters_by_task_record_the_filter_and_the_reason(operator_api: Client) -> None:
    chosen = [make_failed(), make_failed()]
    with recorded() as events:
        body = {"task": "taskboard.demo.fail", "reason": "card provider fixed"}
        assert post_json(operator_api, "/api/dead-letters/replay/", body).json()["replayed"] == 2
    [event] = events
    assert (event.verb, event.via, event.filter, event.count, event.reason) == (
        "dead_letter.replay", "api", {"task": "taskboard.demo.fail"}, 2, "card provider fixed")
    assert {str(r.pk) for r in chosen} <= linked_runs(event)


def test_discard_by_ids_records_the_runs(operator_api: Client) -> None:
    run = make_failed()
    with recorded() as events:
        post_json(operator_api, "/api/dead-letters/discard/", {"ids": [run.dead_letter.pk]})
    assert [summary(e) for e in events] == [("dead_letter.discard", "operator", "api", [str(run.pk)], 1)]
    assert events[0].filter is None


def test_a_failure_group_replay_records_its_fingerprint(operator_api: Client) -> None:
    run = make_failed()
    fingerprint = run.attempt_set.get().fingerprint
    with recorded() as events:
        post_json(operator_api, f"/api/failures/{fingerprint}/replay/")
    assert [(e.verb, e.via, e.filter) for e in events] == [("dead_letter.replay", "api",
                                                            {"fingerprint": fingerprint})]


@pytest.mark.parametrize(("url", "verb", "target"), [
    ("/api/queues/default/pause/", "queue.pause", "default"),
    ("/api/queues/default/resume/", "queue.resume", "default"),
    (f"/api/tasks/{NOOP}/pause/", "task.pause", NOOP), (f"/api/tasks/{NOOP}/resume/", "task.resume", NOOP),
    (f"/api/breakers/{BREAKER}/open/", "breaker.open", BREAKER),
    (f"/api/breakers/{BREAKER}/close/", "breaker.close", BREAKER),
])
def test_flow_verbs_via_the_api(flow_api: Client, url: str, verb: str, target: str) -> None:
    with recorded() as events:
        assert post_json(flow_api, url, {"reason": "maintenance"}).status_code == 200
    [event] = events
    assert summary(event) == (verb, "flow-operator", "api", [target], 1) and event.reason == "maintenance"


def test_refused_requests_leave_no_event(operator_api: Client, viewer_api: Client) -> None:
    finished, failed = make_run(status=Status.SUCCEEDED), make_failed()
    refused = [
        (viewer_api, f"/api/runs/{make_run(status=Status.QUEUED).pk}/cancel/", {}, 403),
        (operator_api, f"/api/runs/{uuid.uuid4()}/cancel/", {}, 404),
        (operator_api, f"/api/runs/{finished.pk}/cancel/", {}, 409),
        (operator_api, f"/api/runs/{failed.pk}/replay/", {"kwargs": {"message": 5}}, 400),
        (operator_api, "/api/runs/", {"task": "no.such.task"}, 400),
        (operator_api, "/api/queues/default/pause/", {}, 403),
        (operator_api, "/api/dead-letters/discard/", {"ids": [1], "reason": 5}, 400),
    ]
    for client, url, body, status in refused:
        with recorded() as events:
            assert post_json(client, url, body).status_code == status, url
        assert events == [], url


# --- GET /api/audit/ ----------------------------------------------------------------------------


def cancel_some(n: int, user: User | None = None, via: str = Via.UI) -> list[TaskRun]:
    from taskboard import operations

    runs = [make_run(status=Status.QUEUED) for _ in range(n)]
    with acting_via(via):
        for run in runs:
            operations.cancel(run.pk, user=user, reason=f"reason {run.pk}")
    return runs


def test_lists_the_contract_keys_newest_first(viewer_api: Client, operator: User) -> None:
    first, second = cancel_some(2, operator)
    body = viewer_api.get("/api/audit/").json()
    assert [r["targets"] for r in body["results"]] == [[str(second.pk)], [str(first.pk)]]
    item = body["results"][0]
    assert item.keys() >= {"id", "at", "actor", "via", "verb", "targets", "count", "reason"}
    assert (item["actor"], item["via"], item["verb"], item["count"], item["reason"]) == (
        "operator", "ui", "run.cancel", 1, f"reason {second.pk}")
    assert item["at"].endswith("+00:00") and body["next"] is None


def test_pages_with_limit_and_cursor(viewer_api: Client) -> None:
    cancel_some(5)
    seen: list[int] = []
    url = "/api/audit/?limit=2"
    while url:
        body = viewer_api.get(url).json()
        assert len(body["results"]) <= 2
        seen += [r["id"] for r in body["results"]]
        url = f"/api/audit/?limit=2&cursor={body['next']}" if body["next"] else ""
    assert seen == sorted(AuditEvent.objects.values_list("id", flat=True), reverse=True)


def test_filters(viewer_api: Client, operator: User) -> None:
    mine = cancel_some(1, operator, Via.API)[0]
    cancel_some(2, None, Via.CLI)

    def ids(query: str) -> list[list[str]]:
        return [r["targets"] for r in viewer_api.get(f"/api/audit/?{query}").json()["results"]]

    assert ids(f"run={mine.pk}") == [[str(mine.pk)]]
    assert ids("actor=operator") == [[str(mine.pk)]]
    assert ids("via=api") == [[str(mine.pk)]]
    assert len(ids("verb=run.cancel")) == 3 and ids("verb=run.replay") == []


def test_the_run_filter_finds_a_run_past_the_stored_targets(viewer_api: Client, operator: User) -> None:
    from taskboard import operations
    from taskboard.operations.audit import TARGETS_MAX

    runs = [make_run(status=Status.QUEUED) for _ in range(TARGETS_MAX + 1)]
    operations.cancel_many([r.pk for r in runs], user=operator)
    last = runs[-1]
    [item] = viewer_api.get(f"/api/audit/?run={last.pk}").json()["results"]
    assert str(last.pk) not in item["targets"] and item["count"] == TARGETS_MAX + 1


@pytest.mark.parametrize("query", ["run=nope", "limit=0", "limit=501", "cursor=!!!", "via=email",
                                   "cursor=" + "A" * 20, "actor=" + "x" * 151, "verb=a%00b"])
def test_bad_parameters_are_400(viewer_api: Client, query: str) -> None:
    response = viewer_api.get(f"/api/audit/?{query}")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")


def test_a_bad_run_id_says_so(viewer_api: Client) -> None:
    assert viewer_api.get("/api/audit/?run=nope").json()["error"]["message"] == "run: 'nope' is not a run id (a UUID)"


def test_needs_credentials_and_the_view_permission(outsider_api: Client) -> None:
    assert Client().get("/api/audit/").status_code == 401
    assert outsider_api.get("/api/audit/").status_code == 403


def test_reading_the_audit_log_is_not_audited(viewer_api: Client) -> None:
    with recorded() as events:
        viewer_api.get("/api/audit/")
    assert events == []
