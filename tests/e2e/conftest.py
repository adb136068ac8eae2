"""Browser tests: a real gunicorn + a real ``taskboard_worker`` on the test database, driven by
Debian's chromium through Playwright's sync API.

Processes are started once for the package (starting them costs seconds); every test is a
``transactional_db`` test, so its rows are committed (visible to the subprocesses) and flushed
afterwards, users included: each test creates its own operator. The flush must never race a
running attempt, so every test ends by cancelling whatever it left unfinished.

Without ``/usr/bin/chromium`` the tests are skipped, unless ``TASKBOARD_REQUIRE_BROWSER=1``
(CI), where that is a failure. Playwright never downloads a browser here.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.test import Client

from taskboard import operations
from taskboard.models import FINISHED, TaskRun
from taskboard.operations import PERM_BREAKER, PERM_PAUSE
from taskboard.service import processes
from taskboard.transport import push as transport_push
from tests.cache_helpers import forget_dashboard_cache
from tests.conftest import OPERATOR_PERMS, make_user
from tests.execution.workers import FAST_SETTINGS, ROOT, WorkerProcess, database_env, wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1280, "height": 900}
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
PASSWORD_PREFIX = "pw-"  # tests.conftest.make_user's password scheme


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failure: what the server and the worker said, and a screenshot of the page."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    server = funcargs.get("taskboard_server")
    if report.failed and report.when == "call" and isinstance(server, TaskboardServer):
        report.sections.append(("gunicorn log (tail)", server.output()))
        report.sections.append(("taskboard_worker log (tail)", server.worker.output()))
        page = funcargs.get("page")
        if page is not None:
            path = artifacts_dir() / f"failed-{item.name}.png"
            try:
                page.screenshot(path=str(path), full_page=True)
                report.sections.append(("failure screenshot", str(path)))
            except Exception as exc:  # noqa: BLE001 - the page may be gone
                report.sections.append(("failure screenshot", f"not taken: {exc}"))
    return report


def artifacts_dir() -> Path:
    path = Path(os.environ.get("TASKBOARD_ARTIFACTS") or ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def chromium_executable() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        reason = (f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) "
                  "to run the browser tests")
        if os.environ.get("TASKBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TASKBOARD_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture(scope="package")
def browser(chromium_executable: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop registered as running in this thread (its
    # dispatcher lives in a greenlet), so Django's async-safety guard would refuse every ORM
    # call of the test. Nothing runs concurrently here: the test's ORM calls are plain
    # synchronous code in the main greenlet. Allowed only while the browser is up.
    previous = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=chromium_executable, headless=True,
                                                  args=CHROMIUM_ARGS)
            try:
                yield instance
            finally:
                instance.close()
    finally:
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous


AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="package")
def axe_script(chromium_executable: str) -> str:
    """axe-core's source (``npm ci`` from package-lock.json; ``make test`` installs it)."""
    if not AXE_SCRIPT.is_file():
        reason = f"{AXE_SCRIPT} is missing: run `make node` (npm ci) to install axe-core"
        if os.environ.get("TASKBOARD_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TASKBOARD_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return AXE_SCRIPT.read_text()


# Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
# govern: an injected <script> element would be refused, as it should be.
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary, html: n.html.slice(0, 300)})),
  }));
}"""


def axe_violations(page: Any, source: str) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (all rules axe enables by default:
    WCAG 2.x A and AA, and best practices)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(source)
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return violations


def describe_violations(report: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, violations in report.items():
        for violation in violations:
            lines.append(f"{name}: {violation['id']} ({violation['impact']}) {violation['help']}")
            lines += [f"    {node['target']}: {node['html']}" for node in violation["nodes"][:5]]
    return "\n".join(lines)


@dataclass
class PageProblems:
    """What went wrong on the wire or in the page's scripts while a page was open."""

    failed: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        def on_failed(request: Any) -> None:
            error = request.failure or ""
            # A poll cut short by navigating away is not a failure of the page.
            if "ERR_ABORTED" not in error:
                self.failed.append(f"{request.method} {request.url}: {error}")

        def on_response(response: Any) -> None:
            kind = response.request.resource_type
            if response.status >= 500 or (response.status >= 400 and kind in {"stylesheet", "script",
                                                                               "image", "font"}):
                self.failed.append(f"{response.request.method} {response.url}: HTTP {response.status}")

        def on_console(message: Any) -> None:
            # Script errors and Content-Security-Policy refusals; a 4xx page's own status is
            # reported as "Failed to load resource" and judged by on_response instead.
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                self.failed.append(f"console: {message.text}")

        page.on("requestfailed", on_failed)
        page.on("response", on_response)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.failed.append(f"page error: {error}"))


@pytest.fixture
def page(browser: Any, taskboard_server: TaskboardServer) -> Iterator[Any]:
    context = browser.new_context(base_url=taskboard_server.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.problems = PageProblems()
    page.problems.watch(page)
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm and friends
    try:
        yield page
    finally:
        context.close()


# --- the server and the worker ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class TaskboardServer:
    url: str
    process: processes.ProcessGroup
    log_path: Path
    worker: WorkerProcess

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True  # any HTTP status: it is serving
    except OSError:
        return False
    return True


@pytest.fixture(scope="package")
def taskboard_server(chromium_executable: str, django_db_setup: Any,
                     django_db_blocker: Any) -> Iterator[TaskboardServer]:
    """gunicorn (as ``make run`` starts it) and one ``taskboard_worker`` on the test database."""
    with django_db_blocker.unblock():
        transport_push.broker_for("default").purge_queue()
    env = {**os.environ, **FAST_SETTINGS, **database_env(), "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    env.pop(ASYNC_UNSAFE, None)
    port = free_port()
    log_path = Path(f"/tmp/taskboard-gunicorn-{os.getpid()}-{port}.log")
    with log_path.open("wb") as log:
        process = processes.start(
            [sys.executable, "-m", "gunicorn", "taskboard.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "8"],
            name="gunicorn", cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    worker: WorkerProcess | None = None
    try:
        worker = WorkerProcess(workers=2)  # starts while gunicorn boots
        server = TaskboardServer(f"http://127.0.0.1:{port}", process, log_path, worker)

        def serving() -> bool:
            assert process.poll() is None, f"gunicorn exited early:\n{server.output()}"
            return _answers(f"{server.url}/accounts/login/")

        wait_for(serving, timeout=30, interval=0.1, message="gunicorn to answer")
        with django_db_blocker.unblock():
            worker.wait_ready()
        yield server
    finally:
        if worker is not None:
            worker.stop()
        process.stop(10.0)


# --- per test ---------------------------------------------------------------------------------


def quiesce(timeout: float = 20) -> None:
    """Cancel whatever is unfinished and wait until nothing runs, so the flush races nothing."""
    open_runs = TaskRun.objects.exclude(status__in=FINISHED)
    for run_id in open_runs.values_list("pk", flat=True):
        try:
            operations.cancel(run_id)
        except Exception:  # noqa: BLE001 - it finished meanwhile
            pass
    wait_for(lambda: not open_runs.exists(), timeout, interval=0.2, message="every run to stop")


@pytest.fixture
def e2e_db(transactional_db: Any, taskboard_server: TaskboardServer) -> Iterator[None]:
    forget_dashboard_cache()
    yield
    quiesce()


@functools.cache
def server_password_hash(password: str) -> str:
    """A hash the server's (production) hashers accept: the test settings hash with MD5, which
    the server does not know. Full-strength PBKDF2, so a login does not rewrite the hash."""
    return PBKDF2PasswordHasher().encode(password, PBKDF2PasswordHasher().salt())


@pytest.fixture
def operator(e2e_db: None) -> User:
    """A staff user with the operator permissions (the flush removed the last test's)."""
    # With the flow-control permissions too, so the Flow page shows (and checks) its controls.
    user = make_user("operator", perms=(*OPERATOR_PERMS, PERM_PAUSE, PERM_BREAKER))
    user.password = server_password_hash(password_of(user))
    user.save(update_fields=["password"])
    return user


def password_of(user: User) -> str:
    return PASSWORD_PREFIX + user.get_username()


@pytest.fixture
def signed_in(page: Any, operator: User, taskboard_server: TaskboardServer) -> User:
    """The operator's session, made here (same database, same SECRET_KEY) and handed to the
    browser: for scenarios that are not about logging in (a form login costs a 1.5 s hash)."""
    client = Client()
    client.force_login(operator)
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                               "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                               "url": taskboard_server.url}])
    return operator
