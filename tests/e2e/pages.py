"""Every dashboard page, with rows in every state behind it: what the screenshot, axe-core and
layout tests walk through.

``every_page`` names each page by the dashboard URL it covers; ``test_every_page_is_covered``
fails when a page is added to ``taskboard/web/dashboard/urls.py`` without being listed here
(or, for a fragment or a POST action, in ``NOT_PAGES``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from taskboard import operations
from taskboard.backend import registry
from taskboard.bulk import enqueue_many
from taskboard.demo import fail, noop, sleep, steps
from taskboard.models import Alert, Batch, DeadLetter, Status, TaskRun
from tests.cache_helpers import forget_dashboard_cache
from tests.execution.workers import wait_for

# Dashboard URL names that are no page of their own: polled fragments and POST actions.
NOT_PAGES = frozenset({
    "flow-action", "panel", "run-progress", "run-row", "runs-bulk", "run-cancel", "run-replay", "run-replay-edited",
    "run-retry-now", "run-run-now", "failure-group-replay", "dead-letters-bulk", "batch-action",
    "schedule-add", "schedule-action", "alert-silence",
})

HOSTILE_MESSAGE = "e2e refund \u202eexe.pdf <b>not bold</b>"


@dataclass(frozen=True)
class Seed:
    """Runs in every state a page can show, made through the real worker."""

    succeeded: str  # run ids
    failed: str
    hostile: str
    running: str
    cancelled: str
    replayed: str
    fingerprint: str
    batch: str = ""  # a batch with finished and failed children


@dataclass(frozen=True)
class Page:
    name: str  # the screenshot's file name and the key of the axe report
    url_name: str  # the dashboard URL name it covers ("" for pages outside the dashboard)
    url: str
    heading: str  # text of its <h1>


def wait_for_status(run_id: Any, *statuses: str, timeout: float = 20) -> TaskRun:
    return wait_for(lambda: TaskRun.objects.filter(pk=run_id, status__in=statuses).first(), timeout,
                    interval=0.1, message=f"run {run_id} to be {' or '.join(statuses)}")


def seed_every_state() -> Seed:
    succeeded = noop.enqueue().id
    failed = fail.enqueue(message="e2e card declined for order 1042").id
    hostile = fail.enqueue(message=HOSTILE_MESSAGE).id
    replayed = fail.enqueue(message="e2e replay me").id
    cancelled = sleep.enqueue(seconds=60).id
    running = steps.enqueue(steps=400, step_seconds=0.5).id
    wait_for_status(succeeded, Status.SUCCEEDED)
    for run_id in (failed, hostile, replayed):
        wait_for_status(run_id, Status.FAILED)
    wait_for_status(cancelled, Status.RUNNING)
    operations.cancel(cancelled)
    wait_for_status(cancelled, Status.CANCELLED)
    operations.replay(replayed)
    wait_for(lambda: DeadLetter.objects.filter(run__pk=replayed, resolved_at__isnull=False).exists(), 10,
             message="the replayed dead letter to be resolved")
    wait_for(lambda: TaskRun.objects.filter(pk=running, progress__gt=0).exists(), 20, message="progress")
    forget_dashboard_cache()
    fingerprint = TaskRun.objects.get(pk=failed).attempt_set.get().fingerprint
    # A schedule with a run in its status strip.
    operations.add_schedule("e2e-nightly", "taskboard.demo.noop", cron="30 2 * * 1-5", timezone="Europe/Berlin")
    wait_for_status(operations.run_schedule("e2e-nightly").pk, Status.SUCCEEDED)
    batch = enqueue_many(fail, [{"kwargs": {"message": "e2e batch child"}}, {"kwargs": {"message": "e2e again"}}],
                         batch={"name": "e2e batch"}).batch
    assert batch is not None
    wait_for(lambda: Batch.objects.filter(pk=batch.pk, finished_at__isnull=False).exists(), 20,
             message="the e2e batch to finish")
    # Alerts: one firing (with its Silence control), one silenced, one resolved (keys of their
    # own: the worker's clock evaluates the real rules meanwhile).
    now = timezone.now()
    Alert.objects.create(rule="dead_letter", key=f"e2e.tasks.charge {fingerprint}", count=3,
                         link=f"/dashboard/failures/{fingerprint}/",
                         summary="taskboard.demo.fail: permanent error: PermanentError: e2e card declined for order #")
    Alert.objects.create(rule="queue_wait", key="e2e-reports", count=12,
                         summary="queue default: the oldest ready run has waited 7 min (SLO 5 min)",
                         silenced_until=now + timedelta(hours=1), silence_reason="e2e deploy", silenced_by="ops")
    Alert.objects.create(rule="breaker_open", key="demo-payments", state="resolved", count=0,
                         started_at=now - timedelta(hours=1), resolved_at=now,
                         summary="circuit breaker demo-payments is open (1 trip in a row)")
    return Seed(succeeded, failed, hostile, running, cancelled, replayed, fingerprint, str(batch.pk))


def a_day_ago() -> str:
    """A From value, as a datetime-local input sends it."""
    return timezone.localtime(timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")


def _url(name: str, *args: Any) -> str | None:
    try:
        return reverse(f"taskboard:{name}", args=args)
    except NoReverseMatch:
        return None


def every_page(seed: Seed) -> list[Page]:
    """The login page, every dashboard page (a run detail per state) and the 404 page."""
    pages = [
        Page("overview", "overview", "/dashboard/", "Overview"),
        Page("runs", "runs", "/dashboard/runs/", "Runs"),
        Page("runs-invalid-filter", "runs", "/dashboard/runs/?status=bogus", "Runs"),
        Page("run-detail-running", "run", f"/dashboard/runs/{seed.running}/", "steps"),
        Page("run-detail-failed", "run", f"/dashboard/runs/{seed.failed}/", "fail"),
        Page("run-detail-hostile", "run", f"/dashboard/runs/{seed.hostile}/", "fail"),
        Page("run-detail-succeeded", "run", f"/dashboard/runs/{seed.succeeded}/", "noop"),
        Page("run-detail-cancelled", "run", f"/dashboard/runs/{seed.cancelled}/", "sleep"),
        Page("failures", "failures", "/dashboard/failures/", "Failures"),
        Page("failures-range", "failures", f"/dashboard/failures/?from={a_day_ago()}&sort=frequent", "Failures"),
        Page("failure-group", "failure-group", f"/dashboard/failures/{seed.fingerprint}/", "PermanentError"),
        Page("dead-letters", "dead-letters", "/dashboard/dead-letters/", "Dead letters"),
        Page("dead-letters-resolved", "dead-letters", "/dashboard/dead-letters/?state=resolved", "Dead letters"),
        Page("workers", "workers", "/dashboard/workers/", "Workers"),
        Page("flow", "flow", "/dashboard/flow/", "Flow"),
        Page("schedules", "schedules", "/dashboard/schedules/", "Schedules"),
        Page("batches", "batches", "/dashboard/batches/", "Batches"),
        Page("batch-detail", "batch", f"/dashboard/batches/{seed.batch}/", "e2e batch"),
        Page("audit", "audit", "/dashboard/audit/", "Audit log"),
        Page("alerts", "alerts", "/dashboard/alerts/", "Alerts"),
        Page("not-found", "", "/dashboard/no-such-page/", "Page not found"),
    ]
    # Pages of the New run form and the task pages, where they are installed.
    new_run = _url("run-new")
    if new_run:
        pages.append(Page("run-new", "run-new", new_run, "New run"))
        pages.append(Page("run-new-steps", "run-new", f"{new_run}?task=taskboard.demo.steps", "New run"))
    tasks = _url("tasks")
    if tasks:
        pages.append(Page("tasks", "tasks", tasks, "Tasks"))
    task = _url("task", "taskboard.demo.flaky")
    if task and "taskboard.demo.flaky" in registry.names():
        pages.append(Page("task-detail", "task", task, "flaky"))
    return pages


def uncovered_page_names(pages: list[Page], url_names: list[str]) -> set[str]:
    return set(url_names) - NOT_PAGES - {page.url_name for page in pages}
