"""Each built-in rule: when it fires, what it counts, and how the settings and the admin's
overrides (``AlertRule``) change it; and the whole evaluation's fixed query budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taskboard.models import Alert, AlertRule, AlertState, Breaker, BreakerState, HoldReason, Status
from taskboard.notify import evaluate
from taskboard.notify.rules import duration
from tests.factories import make_failed, make_run, make_worker
from tests.notify.conftest import at

pytestmark = pytest.mark.django_db

ALL_RULES = ("dead_letter", "failure_rate", "queue_wait", "no_workers", "breaker_open", "stuck", "schedule_missed")


def only(settings, *rules: str, **extra) -> None:
    settings.TASKBOARD_ALERTS = {**{r: {"enabled": False} for r in ALL_RULES if r not in rules}, **extra}


def firing(rule: str) -> dict[str, Alert]:
    return {a.key: a for a in Alert.objects.firing().filter(rule=rule)}


def finished(task: str, status: str, n: int, seconds_ago: float = 30) -> None:
    for _ in range(n):
        make_run(status, task=task, finished_at=timezone.now() - timedelta(seconds=seconds_ago))


# --- failure_rate ---------------------------------------------------------------------------------


def test_failure_rate_fires_at_the_threshold_with_enough_runs(settings):
    only(settings, "failure_rate")
    finished("billing.charge", Status.FAILED, 6)
    finished("billing.charge", Status.SUCCEEDED, 4)
    finished("emails.send", Status.FAILED, 3)  # 100 %, but fewer than min_count (10) runs
    finished("emails.send", Status.CANCELLED, 20)  # a cancel is no failure and no outcome
    at(timezone.now())
    [alert] = firing("failure_rate").values()
    assert alert.key == "billing.charge" and alert.count == 6
    assert alert.summary == "billing.charge: 60 % of 10 runs failed in the last 10 min (threshold 50 %)"
    assert alert.link == "/dashboard/tasks/billing.charge/"


def test_failure_rate_looks_only_at_its_window_and_resolves(settings):
    only(settings, "failure_rate")
    finished("billing.charge", Status.FAILED, 10, seconds_ago=3600)
    now = timezone.now()
    at(now)
    assert firing("failure_rate") == {}
    finished("billing.charge", Status.FAILED, 10, seconds_ago=5)
    at(now + timedelta(seconds=30))
    assert set(firing("failure_rate")) == {"billing.charge"}
    at(now + timedelta(minutes=15))  # those failures left the 10-minute window
    assert firing("failure_rate") == {}


def test_failure_rate_thresholds_per_task_from_settings_and_the_admin(settings):
    only(settings, "failure_rate", **{"failure_rate:reports.build": {"threshold": 90}})
    for task in ("billing.charge", "reports.build", "emails.send"):
        finished(task, Status.FAILED, 6)
        finished(task, Status.SUCCEEDED, 4)
    AlertRule.objects.create(rule="failure_rate", scope="emails.send", enabled=False)
    at(timezone.now())
    assert set(firing("failure_rate")) == {"billing.charge"}


def test_the_admins_whole_rule_override_wins_over_the_settings(settings):
    only(settings, "failure_rate", failure_rate={"min_count": 100})
    finished("billing.charge", Status.FAILED, 10)
    at(timezone.now())
    assert firing("failure_rate") == {}
    AlertRule.objects.create(rule="failure_rate", min_count=5)
    at(timezone.now())
    assert set(firing("failure_rate")) == {"billing.charge"}


# --- queue_wait and no_workers -----------------------------------------------------------------------


def test_queue_wait_fires_when_the_oldest_ready_run_waits_past_the_slo(settings):
    only(settings, "queue_wait", "no_workers")
    make_worker()
    make_run(Status.QUEUED, ago=400)
    make_run(Status.QUEUED, ago=10)
    at(timezone.now())
    [alert] = firing("queue_wait").values()
    assert alert.key == "default" and alert.count == 2
    assert alert.summary == "queue default: the oldest ready run has waited 6 min (SLO 5 min)"
    assert alert.link == "/dashboard/runs/?queue=default&status=queued"


def test_queue_wait_counts_from_run_after_for_a_delayed_run(settings):
    only(settings, "queue_wait")
    make_worker()
    make_run(Status.QUEUED, ago=3600, run_after=timezone.now() - timedelta(seconds=60))
    at(timezone.now())
    assert firing("queue_wait") == {}  # ready for one minute only


def test_queue_wait_slo_per_queue(settings):
    only(settings, "queue_wait", **{"queue_wait:default": {"threshold": 3600}})
    make_worker()
    make_run(Status.QUEUED, ago=400)
    at(timezone.now())
    assert firing("queue_wait") == {}


def test_no_workers_fires_for_a_queue_with_work_and_no_live_worker_and_inhibits_queue_wait(settings):
    only(settings, "queue_wait", "no_workers")
    make_worker(seconds_ago=600)  # stale
    make_run(Status.QUEUED, ago=400)
    now = timezone.now()
    at(now)
    assert firing("queue_wait") == {}
    [alert] = firing("no_workers").values()
    assert alert.key == "default" and alert.count == 1 and alert.link == "/dashboard/workers/"
    make_worker(name="w2")
    at(now + timedelta(seconds=5))
    assert firing("no_workers") == {} and set(firing("queue_wait")) == {"default"}


def test_no_work_no_alert(settings):
    only(settings, "no_workers")
    at(timezone.now())
    assert not Alert.objects.exists()


# --- breaker_open --------------------------------------------------------------------------------


def test_breaker_open_fires_while_open_or_probing_and_counts_held_runs(settings):
    only(settings, "breaker_open")
    now = timezone.now()
    Breaker.objects.create(name="payments", state=BreakerState.OPEN, opened_at=now, trips=2)
    Breaker.objects.create(name="search", state=BreakerState.CLOSED)
    for _ in range(3):
        make_run(Status.HELD, hold_reason=HoldReason.BREAKER, hold_key="payments", held_since=now)
    at(now)
    [alert] = firing("breaker_open").values()
    assert alert.key == "payments" and alert.count == 3
    assert "is open since" in alert.summary and "(2 trips in a row)" in alert.summary
    Breaker.objects.filter(name="payments").update(state=BreakerState.HALF_OPEN)
    at(now + timedelta(seconds=5))
    assert set(firing("breaker_open")) == {"payments"}
    Breaker.objects.filter(name="payments").update(state=BreakerState.CLOSED)
    at(now + timedelta(seconds=10))
    assert Alert.objects.get().state == AlertState.RESOLVED


# --- stuck ---------------------------------------------------------------------------------------


def test_stuck_runs_no_heartbeat_or_past_their_expected_duration(settings):
    only(settings, "stuck", **{"stuck:reports.build": {"threshold": 60}})
    now = timezone.now()
    make_run(Status.RUNNING, task="emails.send", heartbeat_at=now - timedelta(minutes=5))  # nobody recovers it
    make_run(Status.RUNNING, task="emails.send", heartbeat_at=now)  # fine
    make_run(Status.RUNNING, task="billing.charge", timeout=30, claimed_at=now - timedelta(minutes=2),
             heartbeat_at=now)  # its timeout did not interrupt it
    make_run(Status.RUNNING, task="reports.build", claimed_at=now - timedelta(minutes=2), heartbeat_at=now)
    make_run(Status.RUNNING, task="media.transcode", claimed_at=now - timedelta(minutes=30), heartbeat_at=now)
    at(now)
    assert {key: a.count for key, a in firing("stuck").items()} == {
        "emails.send": 1, "billing.charge": 1, "reports.build": 1}


# --- the evaluation as a whole ---------------------------------------------------------------------


def test_one_evaluation_is_a_fixed_number_of_queries_however_many_rows(settings, django_assert_max_num_queries):
    only(settings, *ALL_RULES)
    make_worker()
    now = timezone.now()
    for i in range(40):
        make_failed(f"card declined for order {i}", ago=i)
        make_failed(f"address {i} bounced", task="tests.sample_tasks.echo", ago=i)
        make_run(Status.SUCCEEDED, task=f"task.{i % 7}", finished_at=now)
        make_run(Status.QUEUED, ago=600 + i)
        make_run(Status.RUNNING, task=f"task.{i % 5}", heartbeat_at=now - timedelta(minutes=10))
    Breaker.objects.create(name="payments", state=BreakerState.OPEN, opened_at=now)
    at(now)  # opens every alert (a one-off: a new alert costs a few queries)
    assert Alert.objects.firing().count() >= 5
    with django_assert_max_num_queries(14):
        at(now + timedelta(seconds=5))
    with django_assert_max_num_queries(14):
        at(now + timedelta(seconds=10))


def test_non_holders_only_read_the_lease(settings, django_assert_num_queries):
    now = timezone.now()
    evaluate.evaluate(now=now, holder="host-a:1")
    with django_assert_num_queries(1):
        assert not evaluate.evaluate(now=now + timedelta(seconds=1), holder="host-b:2").held


def test_duration_is_coarse():
    assert [duration(s) for s in (45, 119, 400, 7199, 7200, 7500)] == [
        "45 s", "119 s", "6 min", "119 min", "2 h", "2 h 5 min"]


def test_dead_letter_alerts_are_capped_and_one_alert_counts_the_rest(settings, monkeypatch):
    from taskboard.notify import rules

    only(settings, "dead_letter")
    monkeypatch.setattr(rules, "MAX_GROUPS", 3)
    for i in range(5):
        for _ in range(i + 1):  # group i has i + 1 dead letters
            make_failed("declined", exception=f"app.Error{i}")
    now = timezone.now()
    at(now)
    alerts = firing("dead_letter")
    assert sorted(a.count for key, a in alerts.items() if key != rules.OVERFLOW_KEY) == [3, 4, 5]
    overflow = alerts[rules.OVERFLOW_KEY]
    assert overflow.count == 1 + 2 and overflow.summary.startswith("2 more failure groups")
    for _ in range(10):  # a small group grows past the others: the firing ones keep their alerts
        make_failed("declined", exception="app.Error0")
    at(now + timedelta(seconds=5))
    assert sorted(a.count for key, a in firing("dead_letter").items() if key != rules.OVERFLOW_KEY) == [3, 4, 5]


# --- schedule_missed --------------------------------------------------------------------------------


def test_schedule_missed_when_overdue_or_failing_to_enqueue(settings):
    from taskboard.models import FireOutcome, Schedule, ScheduleFire

    only(settings, "schedule_missed", **{"schedule_missed:slow": {"threshold": 3600}})
    now = timezone.now()
    Schedule.objects.create(name="nightly", task="tests.sample_tasks.add", every=60,
                            next_run_at=now - timedelta(minutes=10))
    Schedule.objects.create(name="slow", task="tests.sample_tasks.add", every=60,
                            next_run_at=now - timedelta(minutes=10))  # its own threshold is an hour
    Schedule.objects.create(name="paused", task="tests.sample_tasks.add", every=60, paused=True,
                            next_run_at=now - timedelta(minutes=10))
    gone = Schedule.objects.create(name="gone", task="tests.sample_tasks.add", every=60,
                                   next_run_at=now + timedelta(minutes=1))
    for minutes in (1, 2):
        ScheduleFire.objects.create(schedule=gone, fire_at=now - timedelta(minutes=minutes),
                                    outcome=FireOutcome.FAILED, note="task removed")
    at(now)
    alerts = firing("schedule_missed")
    assert set(alerts) == {"nightly", "gone"}
    assert alerts["nightly"].summary.startswith("schedule nightly: due since")
    assert alerts["gone"].count == 2 and alerts["gone"].link == "/dashboard/schedules/"
    Schedule.objects.filter(name="nightly").update(next_run_at=now + timedelta(minutes=1))
    at(now + timedelta(seconds=5))
    assert set(firing("schedule_missed")) == {"gone"}


def test_a_steady_evaluation_writes_only_the_lease_and_builds_no_alert(settings, monkeypatch, no_channels):
    only(settings, *ALL_RULES)
    make_worker()
    for i in range(3):
        make_failed("declined", exception=f"app.Error{i}")
    make_run(Status.QUEUED, ago=900)
    now = timezone.now()
    at(now)
    at(now + timedelta(seconds=40))  # after the group wait: each alert notified once
    assert Alert.objects.firing().count() == 4
    monkeypatch.setattr(evaluate, "_alert", lambda row: pytest.fail(f"an Alert was built for {row.key}"))
    with CaptureQueriesContext(connection) as queries:
        result = at(now + timedelta(seconds=45))
    assert (result.opened, result.resolved, result.notified) == (0, 0, 0)
    writes = [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and "alertlease" in writes[0].lower()


# --- dead_letter: which groups get an alert of their own -------------------------------------------


def reference_selection(groups, firing_keys, max_groups):
    """The rule's definition: firing groups first, then the biggest, ties by key; the rest in one."""
    ordered = sorted(groups, key=lambda g: (g[0] not in firing_keys, -g[1], g[0]))
    rest = ordered[max_groups:]
    return ordered[:max_groups], (len(rest), sum(n for _, n in rest))


@pytest.mark.parametrize("seed", range(6))
def test_dead_letter_groups_alerted_one_by_one_are_the_firing_then_the_biggest(settings, monkeypatch, seed):
    import random

    from taskboard.notify import rules
    from taskboard.notify.config import alerts_config

    only(settings, "dead_letter")
    rng = random.Random(seed)
    monkeypatch.setattr(rules, "MAX_GROUPS", rng.randint(1, 6))
    for i in range(rng.randint(0, 12)):
        for _ in range(rng.choice([1, 1, 2, 3])):  # many ties
            make_failed("declined", exception=f"app.Error{i}", task=rng.choice(["tests.sample_tasks.fail", "b.t"]))
    groups = None
    for _ in range(3):  # the same groups with other alerts firing: a selection of their own
        ctx = rules.Context(timezone.now(), alerts_config())
        groups = groups or [(f"{task} {fp}".strip(), n) for task, fp, n in ctx.read("dead_letter_groups")]
        ctx.firing = {("dead_letter", key) for key, _ in rng.sample(groups, min(len(groups), rng.randint(0, 8)))}
        observations = list(rules.dead_letter(ctx))
        expected, (more, members) = reference_selection(groups, {key for _, key in ctx.firing}, rules.MAX_GROUPS)
        alerted = [(o.key, o.count) for o in observations if o.key != rules.OVERFLOW_KEY]
        assert alerted == expected
        overflow = [o for o in observations if o.key == rules.OVERFLOW_KEY]
        assert [(o.count, o.summary.split(" ")[0]) for o in overflow] == ([(members, str(more))] if more else [])


def test_dead_letter_groups_below_every_min_count_are_not_read(settings):
    from taskboard.notify import rules
    from taskboard.notify.config import alerts_config

    only(settings, "dead_letter", dead_letter={"min_count": 3})
    AlertRule.objects.create(rule="dead_letter", scope="b.t", min_count=2)
    make_failed("declined", task="b.t")  # 1: under b.t's 2
    for _ in range(2):
        make_failed("declined", task="b.t", exception="app.Other")  # 2: b.t's own count
        make_failed("declined")  # 2: under the rule's 3
    make_failed("declined")  # now 3
    for _ in range(2):
        make_failed("declined", exception="app.Small")  # 2: under 3, and not read (none fires under 2)
    at(timezone.now())
    assert sorted(a.count for a in firing("dead_letter").values()) == [2, 3]
    ctx = rules.Context(timezone.now(), alerts_config(), {("dead_letter", "b.t"): {"min_count": 2}})
    assert sorted(n for *_, n in ctx.read("dead_letter_groups")) == [2, 2, 3]
