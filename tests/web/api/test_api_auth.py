"""Who may call the API: 401 without (valid) credentials, 403 without permission, CSRF."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from taskboard.models import ApiToken, Status, TaskRun
from taskboard.operations import PERM_ENQUEUE, tokens
from tests.conftest import make_user
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import JSON, bearer_client, enqueue, failed_run, make_run, post_json, token_for

pytestmark = pytest.mark.django_db

CSRF_SECRET = "a" * 32


@pytest.fixture
def targets() -> dict[str, str]:
    later = timezone.now() + timedelta(hours=1)
    failed = failed_run()
    return {"queued": str(enqueue().id), "failed": str(failed.id),
            "retrying": str(make_run(status=Status.RETRYING, run_after=later).id),
            "scheduled": str(make_run(status=Status.SCHEDULED, run_after=later).id),
            "fingerprint": failed.attempt_set.get().fingerprint}


READS = ["/api/runs/", "/api/runs/{queued}/", "/api/dead-letters/", "/api/stats/", "/api/failures/",
         "/api/audit/"]
WRITES: list[tuple[str, Any]] = [
    ("/api/runs/", {"task": "taskboard.demo.noop"}),
    ("/api/runs/{queued}/cancel/", {}),
    ("/api/runs/{failed}/replay/", {}),
    ("/api/runs/{retrying}/retry-now/", {}),
    ("/api/runs/{scheduled}/run-now/", {}),
    ("/api/dead-letters/replay/", {"task": "taskboard.demo.fail"}),
    ("/api/dead-letters/discard/", {"task": "taskboard.demo.fail"}),
    ("/api/failures/{fingerprint}/replay/", {}),
]
ALL = [("get", url, None) for url in READS] + [("post", url, body) for url, body in WRITES]


def call(client: Client, method: str, url: str, body: Any, targets: dict[str, str]) -> Any:
    url = url.format(**targets)
    if method == "get":
        return client.get(url)
    return post_json(client, url, body)


# --- 401 ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "url", "body"), ALL)
def test_no_credentials_is_401(targets: dict[str, str], method: str, url: str, body: Any) -> None:
    response = call(Client(), method, url, body, targets)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthenticated")


def test_401_names_the_bearer_scheme(targets: dict[str, str]) -> None:
    assert Client().get("/api/runs/")["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "url", "body"), ALL)
def test_bad_token_is_401(operator: User, targets: dict[str, str], method: str, url: str, body: Any) -> None:
    response = call(bearer_client("not-a-token"), method, url, body, targets)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_token")


@pytest.mark.parametrize(("method", "url", "body"), ALL)
def test_revoked_token_is_401(operator: User, targets: dict[str, str], method: str, url: str, body: Any) -> None:
    token, key = tokens.create_token(operator)
    tokens.revoke([token])
    response = call(bearer_client(key), method, url, body, targets)
    assert response.status_code == 401


def test_revoked_token_says_so(operator: User) -> None:
    token, key = tokens.create_token(operator)
    tokens.revoke([token])
    assert bearer_client(key).get("/api/runs/").json()["error"]["message"] == "token revoked"


@pytest.mark.parametrize(("method", "url", "body"), ALL)
def test_expired_token_is_401(operator: User, targets: dict[str, str], method: str, url: str, body: Any) -> None:
    token, key = tokens.create_token(operator, expires_in=timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = call(bearer_client(key), method, url, body, targets)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "invalid_token")
    assert response.json()["error"]["message"].startswith("token expired")


def test_token_is_accepted_until_it_expires(operator: User) -> None:
    _, key = tokens.create_token(operator, expires_in=timedelta(days=1))
    assert bearer_client(key).get("/api/runs/").status_code == 200


def test_token_expiry_must_be_positive(operator: User) -> None:
    with pytest.raises(ValueError, match="positive"):
        tokens.create_token(operator, expires_in=timedelta(0))


def test_token_of_an_inactive_user_is_401(operator: User) -> None:
    key = token_for(operator)
    User.objects.filter(pk=operator.pk).update(is_active=False)
    assert bearer_client(key).get("/api/runs/").status_code == 401


def test_bearer_without_a_token_is_401(operator: User) -> None:
    assert Client(HTTP_AUTHORIZATION="Bearer ").get("/api/runs/").status_code == 401


def test_bearer_scheme_is_case_insensitive(operator: User) -> None:
    key = token_for(operator)
    assert Client(HTTP_AUTHORIZATION=f"bearer {key}").get("/api/runs/").status_code == 200


def test_bad_token_is_401_even_with_a_staff_session(operator_client: Client) -> None:
    response = operator_client.get("/api/runs/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401


def test_other_authorization_schemes_are_ignored(operator_client: Client) -> None:
    response = operator_client.get("/api/runs/", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 200


# --- 403 ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "url", "body"), ALL)
def test_non_staff_token_is_403(outsider_api: Client, targets: dict[str, str], method: str, url: str,
                                body: Any) -> None:
    response = call(outsider_api, method, url, body, targets)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize(("method", "url", "body"), ALL)
def test_non_staff_session_is_403(outsider: User, targets: dict[str, str], method: str, url: str,
                                  body: Any) -> None:
    client = Client()
    client.force_login(outsider)
    assert call(client, method, url, body, targets).status_code == 403


@pytest.mark.parametrize(("method", "url", "body"), [c for c in ALL if c[0] == "post"])
def test_read_only_staff_cannot_act(viewer_api: Client, targets: dict[str, str], method: str, url: str,
                                    body: Any) -> None:
    response = call(viewer_api, method, url, body, targets)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


@pytest.mark.parametrize(("method", "url", "body"), [c for c in ALL if c[0] == "post"])
def test_read_only_staff_acting_writes_nothing(viewer_api: Client, targets: dict[str, str], method: str,
                                               url: str, body: Any) -> None:
    before = list(TaskRun.objects.order_by("id").values_list("id", "status", "cancel_requested"))
    call(viewer_api, method, url, body, targets)
    assert list(TaskRun.objects.order_by("id").values_list("id", "status", "cancel_requested")) == before


@pytest.mark.parametrize(("method", "url", "body"), [c for c in ALL if c[0] == "get"])
def test_read_only_staff_can_read(viewer_api: Client, targets: dict[str, str], method: str, url: str,
                                  body: Any) -> None:
    assert call(viewer_api, method, url, body, targets).status_code == 200


@pytest.mark.parametrize(("method", "url", "body"), ALL)
def test_operator_is_allowed_everything(operator_api: Client, targets: dict[str, str], method: str, url: str,
                                        body: Any) -> None:
    assert call(operator_api, method, url, body, targets).status_code in {200, 201}


def test_staff_without_view_permission_cannot_read(targets: dict[str, str]) -> None:
    user = make_user("enqueuer", perms=(PERM_ENQUEUE,))
    assert bearer_client(token_for(user)).get("/api/runs/").status_code == 403


def test_staff_with_only_enqueue_permission_can_enqueue() -> None:
    user = make_user("enqueuer", perms=(PERM_ENQUEUE,))
    response = post_json(bearer_client(token_for(user)), "/api/runs/", {"task": "taskboard.demo.noop"})
    assert response.status_code == 201


def test_permission_is_checked_before_the_body(viewer_api: Client) -> None:
    response = viewer_api.post("/api/runs/", b"{not json", content_type=JSON)
    assert response.status_code == 403


def test_superuser_is_allowed() -> None:
    user = make_user("root", superuser=True)
    assert bearer_client(token_for(user)).get("/api/stats/").status_code == 200


# --- CSRF -----------------------------------------------------------------------------------

def _csrf_client(user: User) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.cookies["csrftoken"] = CSRF_SECRET
    return client


def test_session_post_without_csrf_token_is_403(operator: User) -> None:
    response = post_json(_csrf_client(operator), "/api/runs/", {"task": "taskboard.demo.noop"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "csrf_failed")


def test_session_post_without_csrf_token_writes_nothing(operator: User) -> None:
    post_json(_csrf_client(operator), "/api/runs/", {"task": "taskboard.demo.noop"})
    assert not TaskRun.objects.exists()


def test_session_post_with_csrf_token_is_allowed(operator: User) -> None:
    response = post_json(_csrf_client(operator), "/api/runs/", {"task": "taskboard.demo.noop"},
                         HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert response.status_code == 201


def test_session_get_needs_no_csrf_token(operator: User) -> None:
    assert _csrf_client(operator).get("/api/runs/").status_code == 200


def test_session_cancel_without_csrf_token_is_403(operator: User) -> None:
    run = enqueue()
    response = post_json(_csrf_client(operator), f"/api/runs/{run.id}/cancel/")
    assert response.status_code == 403


def test_bearer_post_needs_no_csrf_token(operator: User) -> None:
    client = bearer_client(token_for(operator), enforce_csrf_checks=True)
    assert post_json(client, "/api/runs/", {"task": "taskboard.demo.noop"}).status_code == 201


def test_read_only_session_with_csrf_token_is_403(viewer: User) -> None:
    response = post_json(_csrf_client(viewer), "/api/runs/", {"task": "taskboard.demo.noop"},
                         HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


# --- token bookkeeping ----------------------------------------------------------------------

def test_only_the_hash_of_the_key_is_stored(operator: User) -> None:
    token, key = tokens.create_token(operator)
    stored = ApiToken.objects.filter(pk=token.pk).values_list("key_hash", "prefix").get()
    assert (key not in stored[0], stored[1] == key[:8], len(stored[0])) == (True, True, 64)


def test_use_records_last_used_at(operator: User) -> None:
    token, key = tokens.create_token(operator)
    bearer_client(key).get("/api/stats/")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_last_used_at_is_written_at_most_once_a_minute(operator: User) -> None:
    token, key = tokens.create_token(operator)
    recent = timezone.now() - timedelta(seconds=10)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=recent)
    bearer_client(key).get("/api/stats/")
    token.refresh_from_db()
    assert token.last_used_at == recent


def test_last_used_at_is_refreshed_after_a_minute(operator: User) -> None:
    token, key = tokens.create_token(operator)
    old = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=old)
    bearer_client(key).get("/api/stats/")
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > old

