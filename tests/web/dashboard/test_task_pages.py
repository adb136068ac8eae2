"""Task pages: the list of registered tasks, and one task's policy and charts."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from taskboard.models import Status
from tests import sample_tasks  # noqa: F401 - registers the sample tasks
from tests.web.conftest import HTMX

ECHO = "tests.sample_tasks.echo"
FAIL_UNTIL = "tests.sample_tasks.fail_until"  # 4 attempts, no backoff
UNRECOVERABLE = "tests.sample_tasks.raise_unrecoverable"  # give_up_on=[Unrecoverable]
VALUE_ERROR = "tests.sample_tasks.raise_value_error"  # retry_on=[ConnectionError]
FLAKY = "taskboard.demo.flaky"  # 5 attempts, backoff 1 s × 2^n up to 30 s, full jitter


def page(client, name, query=""):
    return client.get(f"/dashboard/tasks/{name}/{query}")


def test_the_list_shows_every_registered_task_with_links(viewer_client):
    content = viewer_client.get("/dashboard/tasks/").content.decode()
    assert f'href="/dashboard/tasks/{ECHO}/">echo</a>' in content
    assert f'href="/dashboard/runs/?task={ECHO}">Runs</a>' in content
    assert "New run" not in content.split("<main")[1]  # a viewer may not enqueue


def test_an_operator_may_start_a_run_from_the_list(operator_client):
    content = operator_client.get("/dashboard/tasks/").content.decode()
    assert f'href="/dashboard/runs/new/?task={ECHO}">New run</a>' in content


def test_an_unknown_task_is_404(viewer_client, db):
    assert page(viewer_client, "os.system").status_code == 404


def test_the_policy_shows_attempts_timeout_and_the_backoff_curve(viewer_client):
    content = page(viewer_client, FLAKY).content.decode()
    assert "<dt>Max attempts</dt><dd>5</dd>" in content
    assert "<dt>Timeout</dt><dd>none</dd>" in content
    assert "100 %: each delay is drawn uniformly between 0 % and 100 % of its ceiling" in content
    assert 'class="chart chart-backoff"' in content and "<polygon class=\"band\"" in content
    # before attempts 2..5: ceilings 1, 2, 4, 8 s
    assert "<td>5</td><td class=\"num\">0 ms</td><td class=\"num\">8.0 s</td>" in content


def test_a_task_without_retries_says_so(viewer_client):
    content = page(viewer_client, ECHO).content.decode()
    assert "No retries: a run gets one attempt." in content


def test_give_up_on_and_retry_on_are_listed(viewer_client):
    content = page(viewer_client, UNRECOVERABLE).content.decode()
    assert "give_up_on</span>: <span class=\"mono\">Unrecoverable</span>" in content
    content = page(viewer_client, VALUE_ERROR).content.decode()
    assert "only <span class=\"mono\">retry_on</span>: <span class=\"mono\">ConnectionError</span>" in content


def test_the_charts_count_this_tasks_runs(viewer_client, make_run):
    end = timezone.now() - timedelta(minutes=5)
    for status in (Status.SUCCEEDED, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED):
        make_run(status, task=ECHO, finished_at=end, started_at=end - timedelta(seconds=2))
    make_run(Status.FAILED, task=FAIL_UNTIL, finished_at=end)
    content = page(viewer_client, ECHO).content.decode()
    assert "<b>4</b> runs finished · <b>2</b> succeeded · <b>1</b> failed · <b>1</b> cancelled" in content
    assert "failure rate <b>33 %</b>" in content
    assert 'aria-label="Runs finished, last 24 hours: 4 (2 succeeded, 1 failed, 1 cancelled)"' in content
    assert "<td>p50</td><td class=\"num\">2.0 s</td>" in content


def test_the_window_is_a_bookmarkable_parameter(viewer_client, make_run):
    end = timezone.now() - timedelta(days=3)
    make_run(Status.SUCCEEDED, task=ECHO, finished_at=end, started_at=end)
    assert "<b>0</b> runs finished" in page(viewer_client, ECHO).content.decode()
    content = page(viewer_client, ECHO, "?window=7d").content.decode()
    assert "<b>1</b> runs finished" in content
    assert ('href="?window=7d" hx-get="?window=7d" hx-target="#charts" hx-swap="outerHTML" hx-push-url="true" '
            'aria-current="page"') in content


def test_an_unknown_window_says_so(viewer_client):
    response = page(viewer_client, ECHO, "?window=1y")
    assert response.status_code == 400
    assert "The window is not valid" in response.content.decode()


def test_htmx_gets_the_charts_fragment(viewer_client):
    content = viewer_client.get(f"/dashboard/tasks/{ECHO}/?window=1h", **HTMX).content.decode()
    assert content.lstrip().startswith('<section id="charts"')


def test_the_run_page_links_its_task(viewer_client, make_run):
    run = make_run(task=ECHO)
    content = viewer_client.get(f"/dashboard/runs/{run.pk}/").content.decode()
    assert f'href="/dashboard/tasks/{ECHO}/">Task policy' in content
