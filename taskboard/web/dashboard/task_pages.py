"""Task pages: every registered task, and one task's effective policy and its own charts.

The policy is what the code defines now (``TaskboardTask.policy`` with the backend's
defaults applied): attempts, timeout, the backoff curve with its jitter band, which
exceptions are retried. Runs carry the attempts and backoff they were enqueued with, so a
run enqueued before a deploy may differ; its page shows what applied to it.

The charts' window is a GET parameter (``?window=7d``), so a view can be bookmarked; an
unknown window answers 400 and says which ones exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from taskboard.backend import registry
from taskboard.backend.task import TaskboardTask
from taskboard.readmodels.tasks import DEFAULT_WINDOW, SAMPLE_LIMIT, WINDOWS, task_stats
from taskboard.web.dashboard.charts import (
    Chart,
    backoff_chart,
    failure_rate_chart,
    percentile_chart,
    secs,
    throughput_chart,
)
from taskboard.web.dashboard.classification import names
from taskboard.web.dashboard.common import render_page, staff_view
from taskboard.web.dashboard.new_run import signature_text
from taskboard.web.dashboard.run_pages import allowed_verbs
from taskboard.web.requests import HtmxHttpRequest


@dataclass(frozen=True)
class Retry:
    number: int  # the retry (attempt number + 1 runs after it)
    low: str
    high: str


@dataclass(frozen=True)
class PolicyView:
    task: TaskboardTask
    max_attempts: int
    timeout: str
    backoff: Any  # models.Backoff
    retries: list[Retry]
    jitter: str
    longest_wait: str  # the sum of the ceilings: the most time spent waiting between attempts
    retry_on: str
    give_up_on: str
    chart: Chart | None


def policy_view(task: TaskboardTask) -> PolicyView:
    policy = task.policy
    backoff = policy.backoff
    ceilings = [backoff.ceiling(n) for n in range(1, policy.max_attempts)]
    timeout = task.effective_timeout
    return PolicyView(
        task=task, max_attempts=policy.max_attempts, backoff=backoff,
        timeout=f"{secs(timeout)} per attempt" if timeout else "none",
        retries=[Retry(n, secs(c * (1 - backoff.jitter)), secs(c)) for n, c in enumerate(ceilings, 1)],
        jitter=(f"{backoff.jitter * 100:.0f} %: each delay is drawn uniformly between "
                f"{(1 - backoff.jitter) * 100:.0f} % and 100 % of its ceiling"
                if backoff.jitter else "none: each delay is its ceiling"),
        longest_wait=secs(sum(ceilings)),
        retry_on=names(policy.retry_on) if policy.retry_on else "",
        give_up_on=names(policy.give_up_on) if policy.give_up_on else "",
        chart=backoff_chart(backoff, policy.max_attempts),
    )


@require_GET
@staff_view
def task_list(request: HtmxHttpRequest) -> HttpResponse:
    tasks = [(name, task, signature_text(task)) for name in registry.names() if (task := registry.get(name))]
    return render_page(request, "taskboard/task_list.html",
                       {"nav": "tasks", "tasks": tasks, "may": allowed_verbs(request)})


class WindowForm(forms.Form):
    window = forms.ChoiceField(choices=[(key, w.label) for key, w in WINDOWS.items()], required=False)


@require_GET
@staff_view
def task_detail(request: HtmxHttpRequest, name: str) -> HttpResponse:
    task = registry.get(name)
    if task is None:
        raise Http404(f"no registered task {name}")
    form = WindowForm(request.GET or None)
    window = (form.cleaned_data.get("window") if form.is_valid() else None) or DEFAULT_WINDOW
    context: dict[str, Any] = {"nav": "tasks", "name": name, "policy": policy_view(task),
                               "signature": signature_text(task), "form": form, "window": window,
                               "windows": WINDOWS, "sample_limit": f"{SAMPLE_LIMIT:,}", "may": allowed_verbs(request)}
    if form.is_bound and not form.is_valid():
        return render_page(request, "taskboard/task.html", context, "charts", status=400)
    stats = task_stats(name, window)
    context.update(stats=stats, charts=[throughput_chart(stats), failure_rate_chart(stats)],
                   timing_charts=[percentile_chart(stats, "Run time", lambda b, p: b.run_time(p)),
                                  percentile_chart(stats, "Queue wait", lambda b, p: b.wait(p))])
    return render_page(request, "taskboard/task.html", context, "charts")
