"""The built-in alert rules: each looks at the rows once and says which groups are wrong now.

A rule returns ``Observation``s — (rule, key) groups whose condition holds, with a count, a
summary and a dashboard link; the evaluator turns them into firing and resolved ``Alert``s.
Every rule is one or two bounded queries, whatever the size of the runs table:

- ``dead_letter``: open dead letters of the last ``window`` per (task, fingerprint), from the
  partial index ``dlq_open_groups`` alone; fires at ``min_count``. A group clears when its dead
  letters are replayed or discarded (or age out of the window). At most ``MAX_GROUPS`` groups
  get an alert each (those firing already, then the biggest); one more alert counts the rest.
- ``failure_rate``: failed ÷ (succeeded + failed) finished runs per task over ``window``
  (``readmodels.overview.rate``, the overview's definition), at least ``min_count`` runs, at or
  over ``threshold`` percent; counted in 10-second buckets that are read once (``tally``).
- ``queue_wait``: the oldest ready run of a queue (``readmodels.queues.queue_stats``, the one
  definition of oldest wait) has waited longer than the queue's ``threshold`` (SLO) seconds.
- ``no_workers``: a queue has queued runs and no live ``taskboard_worker`` serves it
  (``WorkerNode.objects.alive``); it inhibits ``queue_wait`` of that queue, which it explains.
- ``breaker_open``: a circuit breaker is open or half-open (probing); count = runs it holds.
- ``stuck``: running runs whose heartbeat is older than three leases (nobody recovers them) or
  that run longer than their timeout and the interrupt grace (the interrupt did not work), or,
  without a timeout, longer than ``threshold`` seconds. Grouped per task.
- ``schedule_missed``: a schedule's fire time is overdue by more than ``threshold`` seconds (no
  clock fires it), or fire times of the last ``window`` failed to create a run. Per schedule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Any

from django.db.models import Count
from django.urls import reverse
from django.utils.http import urlencode

from taskboard.conf import conf
from taskboard.models import (
    Breaker,
    BreakerState,
    DeadLetter,
    FireOutcome,
    HoldReason,
    Schedule,
    ScheduleFire,
    Status,
    TaskRun,
    WorkerNode,
)
from taskboard.models.fingerprints import normalise_message
from taskboard.notify import tally
from taskboard.notify.config import AlertsConfig, RuleSettings
from taskboard.readmodels.overview import rate
from taskboard.readmodels.queues import QueueStats, queue_stats

# At most this many dead_letter alerts, one per failure group; OVERFLOW_KEY's counts the rest.
MAX_GROUPS = 100
OVERFLOW_KEY = "(more groups)"


@dataclass
class Observation:
    rule: str
    key: str
    count: int
    summary: str | None  # None: keep the stored one (``describe`` makes it for a new alert)
    link: str
    # The count counts members of the group (dead letters, stuck runs): a group that grew is
    # worth another notification (after the group interval); a figure (queued runs) is not.
    grows: bool = False
    describe: Callable[[], str] | None = None

    def text(self) -> str:
        if self.summary is not None:
            return self.summary
        return self.describe() if self.describe else self.key


@dataclass
class Context:
    now: datetime
    config: AlertsConfig
    overrides: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    firing: set[tuple[str, str]] = field(default_factory=set)  # (rule, key) of the alerts firing now
    _rules: dict[tuple[str, str], RuleSettings] = field(default_factory=dict)

    def rule(self, name: str, scope: str = "") -> RuleSettings:
        found = self._rules.get((name, scope))
        if found is None:
            found = self._rules[(name, scope)] = self.config.rule(name, scope, self.overrides)
        return found

    @cached_property
    def queues(self) -> dict[str, QueueStats]:
        return queue_stats(self.now)

    @cached_property
    def served_queues(self) -> set[str]:
        served: set[str] = set()
        for queues in WorkerNode.objects.alive(self.now).values_list("queues", flat=True):
            served.update(queues or [])
        return served


def duration(seconds: float) -> str:
    """``45 s``, ``7 min``, ``2 h 5 min``: coarse, so a summary changes rarely."""
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _path(name: str, *args: str, **query: str) -> str:
    path = reverse(f"taskboard:{name}", args=args)
    return f"{path}?{urlencode(query)}" if query else path


def dead_letter(ctx: Context) -> Iterator[Observation]:
    since = ctx.now - timedelta(seconds=ctx.rule("dead_letter").window or 0)
    rows = (DeadLetter.objects.unresolved().filter(created_at__gte=since).order_by()
            .values_list("task", "fingerprint").annotate(n=Count("created_at")))
    groups = []
    for task, fingerprint, n in rows:
        settings = ctx.rule("dead_letter", task)
        if settings.enabled and n >= (settings.min_count or 1):
            groups.append((f"{task} {fingerprint}".strip(), task, fingerprint, n))
    # Groups already firing keep their alert; then the biggest. Past MAX_GROUPS, one alert
    # stands for the rest: thousands of alerts (messages with ids in them make a group each)
    # help nobody, and each costs the evaluation.
    groups.sort(key=lambda g: (("dead_letter", g[0]) not in ctx.firing, -g[3], g[0]))
    failures = reverse("taskboard:failures")
    for key, task, fingerprint, n in groups[:MAX_GROUPS]:
        link = f"{failures}{fingerprint}/" if fingerprint else _path("dead-letters", task=task)
        yield Observation("dead_letter", key, n, None, link, grows=True,
                          describe=partial(_dead_letter_summary, task, fingerprint))
    rest = groups[MAX_GROUPS:]
    if rest:
        yield Observation("dead_letter", OVERFLOW_KEY, sum(g[3] for g in rest),
                          f"{len(rest)} more failure groups have open dead letters (only {MAX_GROUPS} are "
                          "alerted one by one)", failures, grows=True)


def _dead_letter_summary(task: str, fingerprint: str) -> str:
    # Once per new alert: the group's latest reason, with numbers, ids and quoted values
    # blanked as in the fingerprint (the group's identity, and no customer data in a chat).
    reason = (DeadLetter.objects.unresolved().filter(task=task, fingerprint=fingerprint)
              .order_by("-created_at").values_list("reason", flat=True).first()) or ""
    return f"{task}: {normalise_message(reason)[:300]}" if reason else f"{task}: dead letters"


def failure_rate(ctx: Context) -> Iterator[Observation]:
    window = ctx.rule("failure_rate").window or 600
    for task, (succeeded, failed) in tally.finished_runs(ctx.now, window).items():
        settings = ctx.rule("failure_rate", task)
        total, percent = succeeded + failed, rate(failed, succeeded) * 100
        if not settings.enabled or total < (settings.min_count or 1) or percent < (settings.threshold or 100):
            continue
        summary = (f"{task}: {percent:.0f} % of {total} runs failed in the last {duration(window)} "
                   f"(threshold {settings.threshold:g} %)")
        yield Observation("failure_rate", task, failed, summary, _path("task", task))


def no_workers(ctx: Context) -> Iterator[Observation]:
    for queue, stats in ctx.queues.items():
        if stats.depth and queue not in ctx.served_queues and ctx.rule("no_workers", queue).enabled:
            yield Observation("no_workers", queue, stats.depth,
                              f"queue {queue}: runs are waiting and no live worker serves it", _path("workers"))


def queue_wait(ctx: Context) -> Iterator[Observation]:
    for queue, stats in ctx.queues.items():
        settings = ctx.rule("queue_wait", queue)
        slo = settings.threshold or 0
        if not settings.enabled or not stats.depth or stats.oldest_wait_seconds <= slo:
            continue
        if queue not in ctx.served_queues and ctx.rule("no_workers", queue).enabled:
            continue  # inhibited: no_workers says why
        summary = (f"queue {queue}: the oldest ready run has waited {duration(stats.oldest_wait_seconds)} "
                   f"(SLO {duration(slo)})")
        yield Observation("queue_wait", queue, stats.depth, summary, _path("runs", queue=queue, status="queued"))


def breaker_open(ctx: Context) -> Iterator[Observation]:
    rows = list(Breaker.objects.filter(state__in=[BreakerState.OPEN, BreakerState.HALF_OPEN])
                .values_list("name", "state", "opened_at", "trips", "forced"))
    if not rows:
        return
    held = dict(TaskRun.objects.filter(status=Status.HELD, hold_reason=HoldReason.BREAKER).order_by()
                .values_list("hold_key").annotate(n=Count("pk")).values_list("hold_key", "n"))
    for name, state, opened_at, trips, forced in rows:
        if not ctx.rule("breaker_open", name).enabled:
            continue
        why = "forced open by an operator" if forced else f"{trips} trip{'s' if trips != 1 else ''} in a row"
        since = f" since {opened_at:%Y-%m-%d %H:%M} UTC" if opened_at else ""
        state_text = "half-open (probing)" if state == BreakerState.HALF_OPEN else "open"
        yield Observation("breaker_open", name, held.get(name, 0),
                          f"circuit breaker {name} is {state_text}{since} ({why})", _path("flow"))


def stuck(ctx: Context) -> Iterator[Observation]:
    # Running runs are few (one per busy worker process): read them, judge each here.
    stale = ctx.now - timedelta(seconds=3 * conf.LEASE_SECONDS)
    counts: Counter[str] = Counter()
    for task, claimed_at, heartbeat_at, timeout in (TaskRun.objects.filter(status=Status.RUNNING)
                                                    .values_list("task", "claimed_at", "heartbeat_at", "timeout")):
        settings = ctx.rule("stuck", task)
        if not settings.enabled:
            continue
        limit = timeout + 2 * conf.INTERRUPT_GRACE_SECONDS if timeout else settings.threshold or 3600
        started = claimed_at or heartbeat_at
        if (heartbeat_at is not None and heartbeat_at < stale) or (
                started is not None and (ctx.now - started).total_seconds() > limit):
            counts[task] += 1
    for task, n in counts.items():
        yield Observation("stuck", task, n,
                          f"{task}: running without a heartbeat or past its expected duration",
                          _path("runs", task=task, status="running"), grows=True)


def schedule_missed(ctx: Context) -> Iterator[Observation]:
    # Overdue: no clock fired it (``Schedule.objects.overdue``, index ``schedule_due``); failed:
    # a fire time came and no run could be created (its task is gone, its arguments no longer bind).
    settings = ctx.rule("schedule_missed")
    failed = dict(ScheduleFire.objects.filter(outcome=FireOutcome.FAILED,
                                              fire_at__gte=ctx.now - timedelta(seconds=settings.window or 3600))
                  .order_by().values_list("schedule__name").annotate(n=Count("pk")).values_list("schedule__name", "n"))
    # The least threshold of any schedule: each one's own is applied below.
    least = min([settings.threshold or 120, *(values["threshold"] for layer in (ctx.config.rules, ctx.overrides)
                                              for (rule, _), values in layer.items()
                                              if rule == "schedule_missed" and "threshold" in values)])
    overdue = dict(Schedule.objects.overdue(ctx.now, least).values_list("name", "next_run_at"))
    link = _path("schedules")
    for name in sorted({*failed, *overdue}):
        scoped = ctx.rule("schedule_missed", name)
        if not scoped.enabled:
            continue
        due = overdue.get(name)
        if due is not None and (ctx.now - due).total_seconds() > (scoped.threshold or 120):
            summary = f"schedule {name}: due since {due:%Y-%m-%d %H:%M} UTC and not fired"
        elif name in failed:
            summary = f"schedule {name}: {failed[name]} fire time(s) could not enqueue a run"
        else:
            continue
        yield Observation("schedule_missed", name, failed.get(name, 0) + (1 if name in overdue else 0), summary,
                          link, grows=True)


RULES: dict[str, Callable[[Context], Iterator[Observation]]] = {
    "dead_letter": dead_letter,
    "failure_rate": failure_rate,
    "queue_wait": queue_wait,
    "no_workers": no_workers,
    "breaker_open": breaker_open,
    "stuck": stuck,
    "schedule_missed": schedule_missed,
}
