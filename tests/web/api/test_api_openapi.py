from django.test import Client

from taskboard.models import TaskRun
from taskboard.readmodels.representations import run_to_dict
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


# --- the schema is as strict as the server -------------------------------------------------------

def _openapi(client: Client) -> dict:
    return client.get("/api/openapi.json").json()


def _param(operation: dict, name: str) -> dict:
    return next(p for p in operation["parameters"] if p["name"] == name)["schema"]


def _body(operation: dict) -> dict:
    return operation["requestBody"]["content"]["application/json"]["schema"]


def test_cursors_are_documented_with_their_pattern(client: Client) -> None:
    import re

    paths = _openapi(client)["paths"]
    for path in ("/api/runs/", "/api/dead-letters/"):
        pattern = next(s["pattern"] for s in _param(paths[path]["get"], "cursor")["anyOf"] if "pattern" in s)
        assert re.fullmatch(pattern, "MjAyMC0wMS0wMVQwMDowMDowMCswMDowMHwx")
        assert not re.fullmatch(pattern, "!!!") and not re.fullmatch(pattern, "")


def test_bad_cursor_answers_the_cursor_message(viewer_api: Client) -> None:
    body = viewer_api.get("/api/runs/?cursor=!!!").json()
    assert body["error"]["message"] == "cursor is not valid; use the 'next' value of a previous page"


def test_dead_letter_ids_are_documented_positive(client: Client) -> None:
    paths = _openapi(client)["paths"]
    for path in ("/api/dead-letters/replay/", "/api/dead-letters/discard/"):
        ids = _body(paths[path]["post"])["properties"]["ids"]["anyOf"][0]
        assert (ids["items"]["minimum"], ids["items"]["type"]) == (1, "integer")


def test_names_are_documented_non_empty(client: Client) -> None:
    paths = _openapi(client)["paths"]
    enqueue = _body(paths["/api/runs/"]["post"])["properties"]
    assert (enqueue["task"]["minLength"], enqueue["task"]["maxLength"]) == (1, 255)
    assert enqueue["queue"]["anyOf"][0]["minLength"] == 1
    selection = _body(paths["/api/dead-letters/replay/"]["post"])["properties"]
    assert selection["task"]["anyOf"][0]["minLength"] == 1


def test_run_ids_are_documented_as_uuids(client: Client) -> None:
    paths = _openapi(client)["paths"]
    assert _param(paths["/api/runs/{run_id}/"]["get"], "run_id")["format"] == "uuid"


def test_the_run_schema_documents_the_run_json_key_for_key(client: Client) -> None:
    schemas = _openapi(client)["components"]["schemas"]
    run_out = schemas["RunOut"]
    keys = set(run_to_dict(TaskRun(task="taskboard.demo.noop")))
    assert set(run_out["properties"]) == keys
    assert set(run_out["required"]) == keys - {"result", "checkpoint"}  # JSON values, may be null
    assert run_out["properties"]["priority"]["type"] == "integer"
