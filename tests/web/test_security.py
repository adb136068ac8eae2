"""Security posture: login throttling, HTTPS settings, CSP, no-store caching, chunked bodies."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from taskboard.management.commands._gunicorn import gunicorn_command
from taskboard.models import TaskRun
from taskboard.operations import tokens
from taskboard.service import processes
from tests.conftest import make_user
from tests.execution.workers import ROOT, database_env, wait_for

PASSWORD = "pw-alice"  # tests.conftest.make_user's password for "alice"


def settings_in_subprocess(env: dict[str, str], expression: str) -> Any:
    """``expression`` evaluated on ``taskboard.settings`` as a fresh process reads them."""
    code = ("import json, django; from django.conf import settings; django.setup(); "
            f"print(json.dumps({expression}, default=str))")
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "SECRET_KEY": "x" * 60, **env},
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --- login throttling (django-axes) ---------------------------------------------------------------

@pytest.fixture
def alice(db: Any) -> User:
    return make_user("alice")


def sign_in(client: Client, url: str, password: str) -> Any:
    return client.post(url, {"username": "alice", "password": password, "next": "/dashboard/"})


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_sixty_wrong_passwords_then_the_right_one_is_refused(alice: User, url: str) -> None:
    client = Client()
    for _ in range(60):
        sign_in(client, url, "wrong")
    response = sign_in(client, url, PASSWORD)
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_starts_at_the_failure_limit(alice: User) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "/accounts/login/", "wrong").status_code == 200  # the form again
    assert sign_in(client, "/accounts/login/", "wrong").status_code == 429


def test_a_success_below_the_limit_resets_the_count(alice: User) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "/accounts/login/", "wrong")
    assert sign_in(client, "/accounts/login/", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "/accounts/login/", "wrong")
    assert sign_in(client, "/accounts/login/", PASSWORD).status_code == 302


def test_a_locked_out_user_does_not_lock_out_another(alice: User) -> None:
    make_user("bob")
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "/accounts/login/", "wrong")
    response = client.post("/accounts/login/", {"username": "bob", "password": "pw-bob"})
    assert response.status_code == 302


def test_lockout_is_configured_from_the_environment() -> None:
    env = {"AXES_FAILURE_LIMIT": "9", "AXES_COOLOFF_MINUTES": "2.5", "AXES_LOCKOUT_PARAMETERS": "ip_address,username"}
    assert settings_in_subprocess(env, "[settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds(), "
                                       "settings.AXES_LOCKOUT_PARAMETERS]") == [9, 150.0, ["ip_address", "username"]]
    assert settings_in_subprocess({"AXES_COOLOFF_MINUTES": "0"}, "settings.AXES_COOLOFF_TIME") is None


# --- HTTPS ------------------------------------------------------------------------------------------

HTTPS_ENV = {
    "DEBUG": "0", "ALLOWED_HOSTS": "taskboard.example.com", "SECRET_KEY": "k" * 20 + "3Xq9-" * 10,
    "SECURE_SSL_REDIRECT": "1", "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1", "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto=https",
}


def check_deploy(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
        capture_output=True, text=True, check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_VAR_DIR": str(tmp_path),
             "DATABASE_URL": "", **env},
    )


def test_check_deploy_is_clean_with_the_https_variables_set(tmp_path: Path) -> None:
    completed = check_deploy(HTTPS_ENV, tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "no issues" in completed.stdout


def test_check_deploy_names_what_is_missing_without_them(tmp_path: Path) -> None:
    completed = check_deploy({k: v for k, v in HTTPS_ENV.items() if not k.startswith("SECURE_")}, tmp_path)
    assert completed.returncode != 0
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= set(
        re.findall(r"security\.W\d+", completed.stderr + completed.stdout))


def test_https_variables_reach_the_settings() -> None:
    assert settings_in_subprocess(HTTPS_ENV, "[settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, "
                                             "settings.CSRF_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS, "
                                             "settings.SECURE_PROXY_SSL_HEADER]") == [
        True, True, True, 31536000, ["HTTP_X_FORWARDED_PROTO", "https"]]
    # A secure cookie can still be turned off explicitly (e.g. TLS ends at a proxy on the same host).
    explicit = {**HTTPS_ENV, "SESSION_COOKIE_SECURE": "0"}
    assert settings_in_subprocess(explicit, "settings.SESSION_COOKIE_SECURE") is False


def test_redirects_to_https_unless_the_proxy_says_it_was(settings: Any, db: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get("/accounts/login/")
    assert (response.status_code, response["Location"]) == (301, "https://testserver/accounts/login/")
    assert Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200


# --- Content-Security-Policy -------------------------------------------------------------------------

def csp_of(response: Any) -> dict[str, list[str]]:
    directives = [d.strip().split() for d in response["Content-Security-Policy"].split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


@pytest.mark.parametrize("url", ["/accounts/login/", "/dashboard/", "/api/docs", "/admin/login/"])
def test_pages_carry_a_csp_without_inline_scripts(operator_client: Client, url: str) -> None:
    policy = csp_of(operator_client.get(url))
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert (policy["object-src"], policy["frame-ancestors"]) == (["'none'"], ["'none'"])


@pytest.mark.parametrize("url", ["/accounts/login/", "/dashboard/", "/api/docs", "/admin/login/"])
def test_no_directive_allows_inline_styles(operator_client: Client, url: str) -> None:
    # Not even style attributes (style-src-attr): the progress bar sets its width from data-width.
    policy = csp_of(operator_client.get(url))
    assert [name for name, sources in policy.items() if "'unsafe-inline'" in sources] == []


def test_api_docs_page_needs_no_inline_script(client: Client) -> None:
    html = client.get("/api/docs").content.decode()
    # Every executable script is a file of this origin; the settings are JSON data, not code.
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'src="/' in tag or 'type="application/json"' in tag, tag


# --- Cache-Control: no-store --------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/dashboard/", "/dashboard/runs/", "/api/runs/", "/api/stats/", "/metrics"])
def test_private_answers_are_not_stored(operator_client: Client, url: str) -> None:
    assert "no-store" in operator_client.get(url)["Cache-Control"]


def test_unauthenticated_api_errors_are_not_stored_either(db: Any) -> None:
    response = Client().get("/api/runs/")
    assert (response.status_code, "no-store" in response["Cache-Control"]) == (401, True)


def test_docs_assets_stay_cacheable(client: Client) -> None:
    assert client.get("/api/docs/assets/swagger-ui.css")["Cache-Control"] == "public, max-age=86400"


# --- chunked request bodies ---------------------------------------------------------------------------

def chunked_post(client: Client, url: str, body: bytes, content_type: str = "application/json") -> Any:
    """A POST as a WSGI server hands over a de-chunked body: no Content-Length, the stream ends."""
    environ: dict[str, Any] = {"CONTENT_TYPE": content_type, "CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked",
                               "wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True}
    return client.generic("POST", url, b"", **environ)


def test_a_chunked_api_body_is_read(operator: User) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(operator)[1]}")
    response = chunked_post(client, "/api/runs/", json.dumps({"task": "taskboard.demo.noop"}).encode())
    assert response.status_code == 201, response.content
    assert TaskRun.objects.filter(pk=response.json()["id"]).exists()


def test_a_chunked_body_over_the_limit_is_413(operator: User) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(operator)[1]}")
    response = chunked_post(client, "/api/runs/", b"{" + b" " * (2 * 1024 * 1024) + b"}")
    assert (response.status_code, response.json()["error"]["code"]) == (413, "payload_too_large")
    assert not TaskRun.objects.exists()


def test_a_chunked_login_form_is_read(alice: User) -> None:
    body = f"username=alice&password={PASSWORD}".encode()
    response = chunked_post(Client(), "/accounts/login/", body, "application/x-www-form-urlencoded")
    assert response.status_code == 302


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(transactional_db: Any, tmp_path: Path) -> Iterator[int]:
    """A real gunicorn (as ``make run`` starts it) on the test database; yields its port."""
    port = free_port()
    env = {**os.environ, **database_env(), "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        group = processes.start(
            gunicorn_command(sys.executable, f"127.0.0.1:{port}", workers=1, threads=2,
                             control_socket=str(tmp_path / "gunicorn.ctl")),  # its own, not the user's
            name="gunicorn", cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        def serving() -> bool:
            assert group.poll() is None, log_path.read_text(errors="replace")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
            return True

        wait_for(serving, timeout=30, interval=0.1, message="gunicorn to listen")
        yield port
    finally:
        group.stop(10.0)


def test_a_chunked_post_through_gunicorn_is_read(gunicorn: int, operator: User) -> None:
    key = tokens.create_token(operator)[1]
    body = json.dumps({"task": "taskboard.demo.noop", "idempotency_key": "chunked-1"}).encode()
    connection = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
    connection.request("POST", "/api/runs/", body=iter([body[:10], body[10:]]), encode_chunked=True,
                       headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                                "Transfer-Encoding": "chunked"})
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    assert response.status == 201, answer
    assert TaskRun.objects.filter(idempotency_key="chunked-1").exists()
