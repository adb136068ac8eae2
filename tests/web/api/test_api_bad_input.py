"""Bad input to POST /api/runs/: a 4xx in the error shape with a precise message, no row."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from taskboard.models import TaskRun
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import JSON

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def post_raw(client: Client, body: bytes | str, **extra: Any) -> Any:
    return client.post("/api/runs/", body, content_type=JSON, **extra)


def post_body(client: Client, body: Any) -> Any:
    return post_raw(client, json.dumps(body))


# (body, error code, a fragment of the message)
BAD_BODIES: list[tuple[Any, str, str]] = [
    ({}, "bad_request", "task is required"),
    ({"task": "nope.missing"}, "unknown_task", "unknown task 'nope.missing'"),
    ({"task": "os.system"}, "unknown_task", "unknown task 'os.system'"),
    ({"task": 7}, "bad_request", "task: Input should be a valid string"),
    ({"task": "taskboard.demo.sleep"}, "invalid_arguments", "missing a required argument: 'seconds'"),
    ({"task": "taskboard.demo.noop", "kwargs": {"x": 1}}, "invalid_arguments", "unexpected keyword argument 'x'"),
    ({"task": "taskboard.demo.noop", "args": [1]}, "invalid_arguments", "too many positional arguments"),
    ({"task": "taskboard.demo.sleep", "kwargs": {"seconds": "x"}}, "invalid_arguments",
     "argument 'seconds' must be float or int"),
    ({"task": "taskboard.demo.flaky", "kwargs": {"fail_times": True}}, "invalid_arguments",
     "argument 'fail_times' must be int"),
    ({"task": "taskboard.demo.noop", "kwargs": []}, "bad_request", "kwargs: Input should be a valid dictionary"),
    ({"task": "taskboard.demo.noop", "args": {}}, "bad_request", "args: Input should be a valid list"),
    ({"task": "taskboard.demo.noop", "queue": "nowhere"}, "invalid_task", "Queue 'nowhere' is not valid"),
    ({"task": "taskboard.demo.noop", "queue": 1}, "bad_request", "queue: Input should be a valid string"),
    ({"task": "taskboard.demo.noop", "run_after": "2030-01-01T00:00:00"}, "bad_request", "has no UTC offset"),
    ({"task": "taskboard.demo.noop", "run_after": "tomorrow"}, "bad_request", "is not an ISO 8601 datetime"),
    ({"task": "taskboard.demo.noop", "run_after": 1700000000}, "bad_request", "run_after: Input should be a valid"),
    ({"task": "taskboard.demo.noop", "run_after": "0001-01-01T00:00:00+01:00"}, "bad_request", "out of range"),
    ({"task": "taskboard.demo.noop", "idempotency_key": ""}, "bad_request", "idempotency_key"),
    ({"task": "taskboard.demo.noop", "idempotency_key": "k" * 201}, "bad_request", "at most 200 characters"),
    ({"task": "taskboard.demo.noop", "idempotency_key": 5}, "bad_request", "idempotency_key: Input should be"),
    ({"task": "taskboard.demo.noop", "kwarg": {}}, "bad_request", "unknown field 'kwarg'"),
    ({"task": "taskboard.demo.fail", "kwargs": {"message": "a\u0000b"}}, "bad_request", "NUL"),
    ({"task": "taskboard.demo.noop", "idempotency_key": "a\u0000"}, "bad_request", "NUL"),
    ({"task": "taskboard.demo.fail", "kwargs": {"message": "\ud800"}}, "bad_request", "unpaired surrogate"),
]


@pytest.mark.parametrize(("body", "code", "fragment"), BAD_BODIES)
def test_bad_body_is_400(operator_api: Client, body: Any, code: str, fragment: str) -> None:
    response = post_body(operator_api, body)
    assert response.status_code == 400


@pytest.mark.parametrize(("body", "code", "fragment"), BAD_BODIES)
def test_bad_body_error_code(operator_api: Client, body: Any, code: str, fragment: str) -> None:
    assert post_body(operator_api, body).json()["error"]["code"] == code


@pytest.mark.parametrize(("body", "code", "fragment"), BAD_BODIES)
def test_bad_body_message_is_precise(operator_api: Client, body: Any, code: str, fragment: str) -> None:
    assert fragment in post_body(operator_api, body).json()["error"]["message"]


@pytest.mark.parametrize(("body", "code", "fragment"), BAD_BODIES)
def test_bad_body_writes_no_row(operator_api: Client, body: Any, code: str, fragment: str) -> None:
    post_body(operator_api, body)
    assert not TaskRun.objects.exists()


@pytest.mark.parametrize(("raw", "fragment"), [
    (b"", "empty"),
    (b"   ", "empty"),
    (b"{", "malformed JSON"),
    (b"{'task': 'x'}", "malformed JSON"),
    (b'{"task": "taskboard.demo.sleep", "kwargs": {"seconds": NaN}}', "NaN is not valid JSON"),
    (b'{"task": "taskboard.demo.sleep", "kwargs": {"seconds": Infinity}}', "Infinity is not valid JSON"),
    (b"\xff\xfe\x00", "malformed JSON"),
    (b"[1, 2]", "must be a JSON object, not list"),
    (b'"task"', "must be a JSON object, not str"),
    (b"null", "must be a JSON object, not NoneType"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"task": "taskboard.demo.noop", "kwargs": {"a": ' + b"[" * 100 + b"]" * 100 + b"}}", "nested more than"),
])
def test_unparseable_body_is_400_invalid_json(operator_api: Client, raw: bytes, fragment: str) -> None:
    body = post_raw(operator_api, raw).json()
    assert fragment in body["error"]["message"]


def test_number_out_of_float_range_is_400_invalid_arguments(operator_api: Client) -> None:
    response = post_raw(operator_api, b'{"task": "taskboard.demo.sleep", "kwargs": {"seconds": 1e999}}')
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_arguments")


def test_malformed_json_code(operator_api: Client) -> None:
    response = post_raw(operator_api, b"{")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_json")


def test_body_over_1_mib_is_413(operator_api: Client) -> None:
    body = json.dumps({"task": "taskboard.demo.fail", "kwargs": {"message": "x" * MIB}})
    response = post_raw(operator_api, body)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")


def test_body_over_1_mib_writes_no_row(operator_api: Client) -> None:
    post_raw(operator_api, json.dumps({"task": "taskboard.demo.fail", "kwargs": {"message": "x" * MIB}}))
    assert not TaskRun.objects.exists()


def test_declared_length_over_1_mib_is_413_before_reading(operator_api: Client) -> None:
    response = post_raw(operator_api, b"{}", CONTENT_LENGTH=str(MIB + 1))
    assert response.status_code == 413


def test_form_encoded_over_1_mib_is_413(operator_api: Client) -> None:
    response = operator_api.post("/api/runs/", "a=" + "x" * MIB, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def test_arguments_over_the_backend_limit_are_400(operator_api: Client) -> None:
    body = {"task": "taskboard.demo.fail", "kwargs": {"message": "x" * (600 * 1024)}}
    response = post_body(operator_api, body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_arguments")


def test_multipart_body_is_rejected_in_the_error_shape(operator_api: Client) -> None:
    response = operator_api.post("/api/runs/", {"task": "taskboard.demo.noop"})
    assert response.json()["error"]["code"] in {"invalid_json", "unsupported_media_type"}


def test_unknown_task_message_lists_the_known_tasks(operator_api: Client) -> None:
    message = post_body(operator_api, {"task": "nope"}).json()["error"]["message"]
    assert "taskboard.demo.noop" in message
