"""The built-in alert rules: each looks at the rows once and says which groups are wrong now.

A rule returns ``Observation``s — (rule, key) groups whose condition holds, with a count, a
summary and a dashboard link; the evaluator turns them into firing and resolved ``Alert``s.
Every rule is one or two bounded queries, whatever the size of the runs table. The queries a
rule always makes are named in ``RULE_READS`` (built by ``READS``): the evaluator reads those of
every active rule together (``reads.fetch``: one round trip on PostgreSQL) before the rules
judge; a rule judged without them (``Context.read``) reads its own. Reads that depend on what
was read (a late queue's oldest run, an open breaker's held runs) are made by the rule itself.

- ``dead_letter``: open dead letters of the last ``window`` per (task, fingerprint), from the
  partial index ``dlq_open_groups`` alone; fires at ``min_count``. A group clears when its dead
  letters are replayed or discarded (or age out of the window). At most ``MAX_GROUPS`` groups
  get an alert each (those firing already, then the biggest); one more alert counts the rest.
- ``failure_rate``: failed ÷ (succeeded + failed) finished runs per task over ``window``
  (``readmodels.overview.rate``, the overview's definition), at least ``min_count`` runs, at or
  over ``threshold`` percent; counted in 10-second buckets that are read once (``tally``).
- ``queue_wait``: the oldest ready run of a queue (the one definition of oldest wait, that of
  ``readmodels.queues.queue_stats``, read through ``readmodels.queue_heads``: the depth and the
  earliest enqueue from the index, the exact oldest only for queues that may be late) has waited
  longer than the queue's ``threshold`` (SLO) seconds.
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

import heapq
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db.models import Count, QuerySet

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
from taskboard.notify.context import READS, Context, Observation, duration, link_to
from taskboard.notify.reads import Fixed, Read, Rows
from taskboard.readmodels.overview import rate
from taskboard.readmodels.queue_heads import heads_query, oldest_ready
from taskboard.readmodels.queues import wait_seconds

# At most this many dead_letter alerts, one per failure group; OVERFLOW_KEY's counts the rest.
MAX_GROUPS = 100
OVERFLOW_KEY = "(more groups)"


def _dead_letter_groups(ctx: Context) -> QuerySet[Any, Any]:
    """(task, fingerprint, open dead letters of the window): index ``dlq_open_groups`` alone."""
    since = ctx.now - timedelta(seconds=ctx.rule("dead_letter").window or 0)
    rows = (DeadLetter.objects.unresolved().filter(created_at__gte=since).order_by()
            .values_list("task", "fingerprint").annotate(n=Count("*")))
    least = _least_dead_letter_count(ctx)
    return rows.filter(n__gte=least) if least > 1 else rows  # smaller groups fire nowhere


type Group = tuple[int, str, str, str]  # (-count, key, task, fingerprint): sorts biggest first, then by key


def dead_letter(ctx: Context) -> Iterator[Observation]:
    alerted, groups, members = _select_groups(ctx, ctx.read("dead_letter_groups"))
    failures = link_to("failures")
    for minus_n, key, task, fingerprint in alerted:
        link = f"{failures}{fingerprint}/" if fingerprint else link_to("dead-letters", task=task)
        yield Observation("dead_letter", key, -minus_n, None, link, grows=True,
                          describe=partial(_dead_letter_summary, task, fingerprint))
    if groups > len(alerted):
        rest = members + sum(group[0] for group in alerted)
        yield Observation("dead_letter", OVERFLOW_KEY, rest,
                          f"{groups - len(alerted)} more failure groups have open dead letters (only {MAX_GROUPS} "
                          "are alerted one by one)", failures, grows=True)


# The last selection, by what it was made of: an evaluation that finds the groups, the firing
# alerts and the settings as the last one did (most evaluations) makes the same selection.
_last_selection: list[tuple[Any, tuple[list[Group], int, int]]] = []


def _select_groups(ctx: Context, rows: Rows) -> tuple[list[Group], int, int]:
    """The groups alerted one by one, and how many groups fire (and their dead letters) in all.

    Groups already firing keep their alert; then the biggest. Past MAX_GROUPS, one alert
    stands for the rest: thousands of alerts (messages with ids in them make a group each)
    help nobody, and each costs the evaluation. The groups are many: each costs a tuple here,
    and only the alerted ones are sorted.
    """
    firing_keys = frozenset(key for rule, key in ctx.firing if rule == "dead_letter")
    settings = [(layer_index, scope, sorted(values.items()))
                for layer_index, layer in enumerate((ctx.config.rules, ctx.overrides))
                for (name, scope), values in sorted(layer.items()) if name == "dead_letter"]
    made_of = (rows, firing_keys, MAX_GROUPS, settings)
    if _last_selection and _last_selection[0][0] == made_of:
        return _last_selection[0][1]
    limits: dict[str, int | None] = {}  # task -> the count at which its groups fire (None: off)
    firing: list[Group] = []
    others: list[Group] = []
    groups = members = 0
    for task, fingerprint, n in rows:
        if task not in limits:
            rule = ctx.rule("dead_letter", task)
            limits[task] = (rule.min_count or 1) if rule.enabled else None
        limit = limits[task]
        if limit is None or n < limit:
            continue
        key = f"{task} {fingerprint}".strip()
        groups, members = groups + 1, members + n
        (firing if key in firing_keys else others).append((-n, key, task, fingerprint))
    alerted = sorted(firing)[:MAX_GROUPS]
    alerted += heapq.nsmallest(MAX_GROUPS - len(alerted), others)
    _last_selection[:] = [(made_of, (alerted, groups, members))]
    return alerted, groups, members


def _least_dead_letter_count(ctx: Context) -> int:
    """The least ``min_count`` of the dead_letter rule for any task."""
    # A task's count is the last one set along its layers (see ``AlertsConfig.rule``): one of
    # the values set anywhere, or the whole rule's.
    counts = [ctx.rule("dead_letter").min_count or 1]
    counts += [values["min_count"] for layer in (ctx.config.rules, ctx.overrides)
               for (rule, _), values in layer.items() if rule == "dead_letter" and values.get("min_count")]
    return min(counts)


def _dead_letter_summary(task: str, fingerprint: str) -> str:
    # Once per new alert: the group's latest reason, with numbers, ids and quoted values
    # blanked as in the fingerprint (the group's identity, and no customer data in a chat).
    reason = (DeadLetter.objects.unresolved().filter(task=task, fingerprint=fingerprint)
              .order_by("-created_at").values_list("reason", flat=True).first()) or ""
    return f"{task}: {normalise_message(reason)[:300]}" if reason else f"{task}: dead letters"


def failure_rate(ctx: Context) -> Iterator[Observation]:
    window = ctx.rule("failure_rate").window or 600
    for task, (succeeded, failed) in tally.finished_runs(ctx.now, window, ctx.rows).items():
        settings = ctx.rule("failure_rate", task)
        total, percent = succeeded + failed, rate(failed, succeeded) * 100
        if not settings.enabled or total < (settings.min_count or 1) or percent < (settings.threshold or 100):
            continue
        summary = (f"{task}: {percent:.0f} % of {total} runs failed in the last {duration(window)} "
                   f"(threshold {settings.threshold:g} %)")
        yield Observation("failure_rate", task, failed, summary, link_to("task", task))


def no_workers(ctx: Context) -> Iterator[Observation]:
    for queue, head in ctx.queues.items():
        if head.depth and queue not in ctx.served_queues and ctx.rule("no_workers", queue).enabled:
            yield Observation("no_workers", queue, head.depth,
                              f"queue {queue}: runs are waiting and no live worker serves it", link_to("workers"))


def queue_wait(ctx: Context) -> Iterator[Observation]:
    late: dict[str, float] = {}  # queue -> SLO, for the queues whose earliest run is past it
    firsts: dict[str, datetime] = {}
    for queue, head in ctx.queues.items():
        settings = ctx.rule("queue_wait", queue)
        slo = settings.threshold or 0
        # Ready-since is never before enqueued_at: a queue whose earliest run was enqueued
        # within the SLO cannot be late, and its oldest wait need not be read.
        first = head.first_enqueued
        if not settings.enabled or not head.depth or first is None or wait_seconds(first, ctx.now) <= slo:
            continue
        if queue not in ctx.served_queues and ctx.rule("no_workers", queue).enabled:
            continue  # inhibited: no_workers says why
        late[queue], firsts[queue] = slo, first
    oldest = oldest_ready(firsts)
    for queue, slo in late.items():
        waited = wait_seconds(oldest.get(queue), ctx.now)
        if waited <= slo:
            continue
        summary = f"queue {queue}: the oldest ready run has waited {duration(waited)} (SLO {duration(slo)})"
        yield Observation("queue_wait", queue, ctx.queues[queue].depth, summary,
                          link_to("runs", queue=queue, status="queued"))


def _open_breakers() -> QuerySet[Any, Any]:
    return (Breaker.objects.filter(state__in=[BreakerState.OPEN, BreakerState.HALF_OPEN])
            .values_list("name", "state", "opened_at", "trips", "forced"))


def breaker_open(ctx: Context) -> Iterator[Observation]:
    rows = ctx.read("open_breakers")
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
                          f"circuit breaker {name} is {state_text}{since} ({why})", link_to("flow"))


def _running_runs() -> QuerySet[Any, Any]:
    return TaskRun.objects.filter(status=Status.RUNNING).values_list("task", "claimed_at", "heartbeat_at", "timeout")


def stuck(ctx: Context) -> Iterator[Observation]:
    # Running runs are few (one per busy worker process): read them, judge each here.
    stale = ctx.now - timedelta(seconds=3 * conf.LEASE_SECONDS)
    counts: Counter[str] = Counter()
    for task, claimed_at, heartbeat_at, timeout in ctx.read("running_runs"):
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
                          link_to("runs", task=task, status="running"), grows=True)


def _failed_fires(ctx: Context) -> QuerySet[Any, Any]:
    # A fire time came and no run could be created (its task is gone, its arguments no longer bind).
    since = ctx.now - timedelta(seconds=ctx.rule("schedule_missed").window or 3600)
    return (ScheduleFire.objects.filter(outcome=FireOutcome.FAILED, fire_at__gte=since).order_by()
            .values_list("schedule__name").annotate(n=Count("pk")).values_list("schedule__name", "n"))


def _overdue_schedules(ctx: Context) -> QuerySet[Any, Any]:
    # Overdue: no clock fired it (``Schedule.objects.overdue``, index ``schedule_due``), by the
    # least threshold of any schedule: each one's own is applied by the rule.
    settings = ctx.rule("schedule_missed")
    least = min([settings.threshold or 120, *(values["threshold"] for layer in (ctx.config.rules, ctx.overrides)
                                              for (rule, _), values in layer.items()
                                              if rule == "schedule_missed" and "threshold" in values)])
    return Schedule.objects.overdue(ctx.now, least).values_list("name", "next_run_at")


def schedule_missed(ctx: Context) -> Iterator[Observation]:
    failed: dict[str, int] = dict(ctx.read("failed_fires"))
    overdue: dict[str, datetime] = dict(ctx.read("overdue_schedules"))
    link = link_to("schedules")
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


def _workers(ctx: Context) -> QuerySet[Any, Any]:
    return WorkerNode.objects.alive(ctx.now).values_list("queues")


# The queries each rule always makes, by name: the evaluator makes those of the active rules
# together (``reads``). ``Fixed`` ones have no time or setting in them (compiled once);
# ``PLAIN_READS`` hold text and integers only (no converters needed).
READS.update({
    "dead_letter_groups": _dead_letter_groups,
    "queue_heads": Fixed(heads_query),
    "workers": _workers,
    "open_breakers": Fixed(_open_breakers),
    "running_runs": Fixed(_running_runs),
    "failed_fires": _failed_fires,
    "overdue_schedules": _overdue_schedules,
})
PLAIN_READS = frozenset({"dead_letter_groups"})
RULE_READS: dict[str, tuple[str, ...]] = {
    "dead_letter": ("dead_letter_groups",),
    "failure_rate": (),  # the tally's, which depend on what it has read before
    "queue_wait": ("queue_heads", "workers"),
    "no_workers": ("queue_heads", "workers"),
    "breaker_open": ("open_breakers",),
    "stuck": ("running_runs",),
    "schedule_missed": ("failed_fires", "overdue_schedules"),
}


def reads(ctx: Context, rules: Collection[str]) -> dict[str, Read]:
    """The queries ``rules`` will make at ``ctx``, by name (for ``Context.rows``)."""
    found: dict[str, Read] = {}
    for name in {name: None for rule in rules for name in RULE_READS[rule]}:
        build = READS[name]
        found[name] = build if isinstance(build, Fixed) else build(ctx)
    if "failure_rate" in rules:
        found.update(tally.reads(ctx.now, ctx.rule("failure_rate").window or 600))
    return found


RULES: dict[str, Callable[[Context], Iterator[Observation]]] = {
    "dead_letter": dead_letter,
    "failure_rate": failure_rate,
    "queue_wait": queue_wait,
    "no_workers": no_workers,
    "breaker_open": breaker_open,
    "stuck": stuck,
    "schedule_missed": schedule_missed,
}
