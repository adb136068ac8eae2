"""GET /api/stats/, the OpenAPI schema and docs page, JSON 404/405 under /api/."""

from __future__ import annotations

import pytest
from django.test import Client

from taskboard.models import DeadLetter, Resolution, Status
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import failed_run, make_run

pytestmark = pytest.mark.django_db


def test_stats_on_an_empty_database(viewer_api: Client) -> None:
    assert viewer_api.get("/api/stats/").json() == {
        "by_status": {s.value: 0 for s in Status}, "by_task": {}, "dead_letters_open": 0,
    }


def test_stats_counts(viewer_api: Client) -> None:
    make_run(task="a.x", status=Status.QUEUED)
    make_run(task="a.x", status=Status.QUEUED)
    make_run(task="a.x", status=Status.RUNNING)
    make_run(task="b.y", status=Status.SUCCEEDED)
    failed_run()
    body = viewer_api.get("/api/stats/").json()
    assert body == {
        "by_status": {"queued": 2, "scheduled": 0, "running": 1, "retrying": 0, "held": 0, "succeeded": 1, "failed": 1,
                      "cancelled": 0},
        "by_task": {"a.x": {"queued": 2, "running": 1}, "b.y": {"succeeded": 1},
                    "taskboard.demo.fail": {"failed": 1}},
        "dead_letters_open": 1,
    }


def test_stats_do_not_count_resolved_dead_letters(viewer_api: Client) -> None:
    run = failed_run()
    DeadLetter.objects.filter(run=run).get().resolve(Resolution.DISCARDED, "test")
    assert viewer_api.get("/api/stats/").json()["dead_letters_open"] == 0


# --- schema and docs ----------------------------------------------------------------------------

def test_openapi_schema_lists_the_endpoints() -> None:
    paths = Client().get("/api/openapi.json").json()["paths"]
    assert set(paths) == {
        "/api/runs/", "/api/runs/{run_id}/", "/api/runs/{run_id}/cancel/", "/api/runs/{run_id}/replay/",
        "/api/runs/{run_id}/retry-now/", "/api/runs/{run_id}/run-now/",
        "/api/dead-letters/", "/api/dead-letters/replay/", "/api/dead-letters/discard/",
        "/api/failures/", "/api/failures/{fingerprint}/replay/", "/api/stats/",
        "/api/queues/", "/api/queues/{name}/pause/", "/api/queues/{name}/resume/",
        "/api/tasks/{name}/pause/", "/api/tasks/{name}/resume/",
        "/api/breakers/", "/api/breakers/{name}/open/", "/api/breakers/{name}/close/",
        "/api/audit/",
        "/api/runs/bulk/", "/api/batches/", "/api/batches/{batch_id}/", "/api/batches/{batch_id}/cancel/",
        "/api/batches/{batch_id}/replay-failed/",
        "/api/schedules/", "/api/schedules/{name}/", "/api/schedules/{name}/pause/", "/api/schedules/{name}/resume/",
        "/api/schedules/{name}/run/",
        "/api/alerts/", "/api/alerts/{alert_id}/silence/", "/api/webhooks/", "/api/webhooks/{subscription_id}/",
    }


def test_openapi_schema_documents_the_enqueue_body() -> None:
    post = Client().get("/api/openapi.json").json()["paths"]["/api/runs/"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"task", "args", "kwargs", "queue", "run_after", "priority",
                                         "idempotency_key", "correlation_id"}
    assert (schema["properties"]["priority"]["anyOf"][0]["minimum"],
            schema["properties"]["priority"]["anyOf"][0]["maximum"]) == (-100, 100)


def test_docs_page_loads_no_remote_assets() -> None:
    html = Client().get("/api/docs").content.decode()
    assert ("swagger-ui-bundle.js" in html, "http://" in html, "https://" in html) == (True, False, False)


def test_docs_page_disables_the_remote_validator() -> None:
    assert '"validatorUrl": null' in Client().get("/api/docs").content.decode()


def test_docs_assets_are_served_locally() -> None:
    response = Client().get("/api/docs/assets/swagger-ui-bundle.js")
    assert (response.status_code, response["Content-Type"]) == (200, "text/javascript")


def test_docs_assets_are_an_allowlist() -> None:
    assert Client().get("/api/docs/assets/..%2F..%2F__init__.py").status_code == 404


# --- routing errors -----------------------------------------------------------------------------

def test_unknown_api_path_is_404_in_the_error_shape() -> None:
    response = Client().get("/api/nothing/here/")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_missing_trailing_slash_gets_a_hint() -> None:
    message = Client().post("/api/runs").json()["error"]["message"]
    assert "/api/runs/" in message


def test_wrong_method_is_405_in_the_error_shape(viewer_api: Client) -> None:
    response = viewer_api.delete("/api/runs/")
    assert (response.status_code, response.json()["error"]["code"]) == (405, "method_not_allowed")
