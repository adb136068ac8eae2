"""BearerApiMiddleware: a bearer-token API request skips the browsers' middleware; others do not."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from taskboard.models import TaskRun
from taskboard.operations import tokens
from taskboard.web.middleware import is_bearer_api

pytestmark = pytest.mark.django_db

JSON = "application/json"


def test_a_bearer_enqueue_works_and_sets_no_cookie(operator: User) -> None:
    key = tokens.create_token(operator)[1]
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post(
        "/api/runs/", data={"task": "taskboard.demo.noop"}, content_type=JSON)
    assert response.status_code == 201
    assert TaskRun.objects.filter(pk=response.json()["id"]).exists()
    assert (response.cookies, response.get("Vary")) == ({}, None)  # no session, no CSRF cookie


def test_a_bearer_answer_keeps_the_security_headers(operator: User) -> None:
    key = tokens.create_token(operator)[1]
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/runs/")
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert (response["X-Content-Type-Options"], "no-store" in response["Cache-Control"]) == ("nosniff", True)


def test_a_bearer_enqueue_is_audited_as_via_the_api(operator: User) -> None:
    from taskboard.models import AuditEvent

    key = tokens.create_token(operator)[1]
    Client(HTTP_AUTHORIZATION=f"Bearer {key}").post("/api/runs/", data={"task": "taskboard.demo.noop"},
                                                    content_type=JSON)
    assert list(AuditEvent.objects.values_list("verb", "via", "actor")) == [("run.enqueue", "api", "operator")]


def test_a_bad_token_with_a_staff_session_is_still_401(operator_client: Client) -> None:
    response = operator_client.post("/api/runs/", data={"task": "taskboard.demo.noop"}, content_type=JSON,
                                    HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert not TaskRun.objects.exists()


def test_a_session_request_still_needs_its_csrf_token(operator: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post("/api/runs/", data={"task": "taskboard.demo.noop"}, content_type=JSON)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "csrf_failed")


def test_a_view_error_is_answered_in_the_api_shape(operator: User) -> None:
    key = tokens.create_token(operator)[1]
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").post("/api/runs/", data={"task": "no.such.task"},
                                                               content_type=JSON)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "unknown_task")


def test_an_unknown_api_path_is_a_json_404(operator: User) -> None:
    key = tokens.create_token(operator)[1]
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/nothing-here/")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


@pytest.mark.parametrize(("path", "header", "expected"), [
    ("/api/runs/", "Bearer abc", True),
    ("/api/runs/", "bearer abc", True),
    ("/api/runs/", "Basic dXNlcjpwYXNz", False),
    ("/api/runs/", None, False),
    ("/dashboard/", "Bearer abc", False),
    ("/metrics", "Bearer abc", False),
])
def test_which_requests_take_the_short_way(path: str, header: Any, expected: bool) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert is_bearer_api(RequestFactory().get(path, **extra)) is expected
