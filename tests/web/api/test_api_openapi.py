from django.test import Client

from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures

OPERATIONS = {
    ("/api/runs/", "post"): "taskboard_web_api_endpoints_create_run",
    ("/api/runs/", "get"): "taskboard_web_api_endpoints_list_runs",
    ("/api/runs/{run_id}/", "get"): "taskboard_web_api_endpoints_read_run",
    ("/api/runs/{run_id}/cancel/", "post"): "taskboard_web_api_endpoints_cancel_run",
    ("/api/runs/{run_id}/replay/", "post"): "taskboard_web_api_endpoints_replay_run",
    ("/api/dead-letters/", "get"): "taskboard_web_api_endpoints_list_dead_letters",
    ("/api/dead-letters/replay/", "post"): "taskboard_web_api_endpoints_replay_dead_letters",
    ("/api/stats/", "get"): "taskboard_web_api_endpoints_read_stats",
}


def test_operation_ids_stay_stable(client: Client) -> None:
    # Generated clients name their methods after these ids.
    paths = client.get("/api/openapi.json").json()["paths"]
    found = {(path, method): op["operationId"] for path, ops in paths.items() for method, op in ops.items()}
    assert {key: found.get(key) for key in OPERATIONS} == OPERATIONS


def test_bodies_are_documented_as_json_objects(client: Client) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    body = paths["/api/runs/"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"]["required"] == ["task"]


def test_endpoints_document_the_bearer_scheme(client: Client) -> None:
    schemes = client.get("/api/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["ApiAuth"] == {"type": "http", "scheme": "bearer",
                                  "description": schemes["ApiAuth"]["description"]}
