"""Failure groups: grouping, counts per window, recovery share and the drill-down."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.utils import timezone

from taskboard.models import Outcome, Status
from taskboard.readmodels import failures


def groups():
    return {group.message: group for group in failures._failure_groups(timezone.now(), None, "recent")}


def test_messages_that_differ_only_in_numbers_form_one_group(make_failed):
    make_failed("card declined for order 1042")
    make_failed("card declined for order 2077")
    make_failed("gateway unreachable")
    assert sorted(group.count_7d for group in groups().values()) == [1, 2]


def test_counts_per_window(make_run, make_attempt):
    run = make_run(Status.FAILED)
    now = timezone.now()
    for number, age in enumerate([timedelta(minutes=5), timedelta(hours=3), timedelta(days=3),
                                  timedelta(days=9)], start=1):
        make_attempt(run, number=number, finished_at=now - age)
    group = next(iter(groups().values()))
    assert (group.count_1h, group.count_24h, group.count_7d) == (1, 2, 3)


def test_first_and_last_seen(make_run, make_attempt):
    run = make_run(Status.FAILED)
    now = timezone.now()
    make_attempt(run, number=1, finished_at=now - timedelta(days=2))
    make_attempt(run, number=2, finished_at=now - timedelta(minutes=1))
    group = next(iter(groups().values()))
    assert (group.first_seen, group.last_seen) == (now - timedelta(days=2), now - timedelta(minutes=1))


def test_sparkline_puts_old_failures_left_and_new_ones_right(make_run, make_attempt):
    run = make_run(Status.FAILED)
    make_attempt(run, number=1, finished_at=timezone.now() - timedelta(days=6, hours=20))
    make_attempt(run, number=2)
    spark = next(iter(groups().values())).spark
    assert (len(spark), spark[0], spark[-1], sum(spark)) == (28, 1, 1, 2)


def test_closed_hours_are_served_from_the_cache(make_run, make_attempt, django_assert_num_queries):
    make_attempt(make_run(Status.FAILED), finished_at=timezone.now() - timedelta(hours=5))
    now = timezone.now()
    failures.failure_stats(None, now)
    # The cached hours (a query only when the cache is the database's), then the live last two
    # hours: the attempts are read once, not once more for the closed hours.
    cache_queries = 1 if isinstance(caches["default"], DatabaseCache) else 0
    with django_assert_num_queries(cache_queries + 1) as queries:
        stats = failures.failure_stats(None, now)
    assert sum("taskboard_taskattempt" in query["sql"] for query in queries.captured_queries) == 1
    assert [group.count_7d for group in stats.values()] == [1]


def test_successful_attempts_are_not_failures(make_run, make_attempt):
    make_attempt(make_run(Status.SUCCEEDED), outcome=Outcome.SUCCEEDED)
    assert groups() == {}


def test_recovered_share_counts_finished_runs_that_succeeded_later(make_run, make_attempt):
    for status in (Status.SUCCEEDED, Status.SUCCEEDED, Status.FAILED, Status.RETRYING):
        make_attempt(make_run(status), message="flaky upstream")
    group = groups()["flaky upstream"]
    assert (group.recovered, group.runs, group.recovered_share) == (2, 3, pytest.approx(2 / 3))


def test_task_filter(make_failed):
    make_failed("a", task="taskboard.demo.fail")
    make_failed("b", task="taskboard.demo.flaky")
    rows = failures._failure_groups(timezone.now(), "taskboard.demo.flaky", "recent")
    assert [group.message for group in rows] == ["b"]


def test_frequent_order_puts_the_busiest_group_first(make_failed):
    make_failed("rare")
    make_failed("common 1")
    make_failed("common 2")
    rows = failures._failure_groups(timezone.now(), None, "frequent")
    assert rows[0].count_24h == 2


def test_page_lists_groups_with_links_to_their_drill_down(viewer_client, make_failed):
    run = make_failed("gateway unreachable")
    fingerprint = run.attempt_set.get().fingerprint
    content = viewer_client.get("/dashboard/failures/").content.decode()
    assert f'href="/dashboard/failures/{fingerprint}/">PermanentError</a>' in content
    assert '<svg class="spark"' in content


def test_page_offers_group_replay_to_operators_only(operator_client, viewer_client, make_failed):
    make_failed()
    assert "Replay dead letters…" in operator_client.get("/dashboard/failures/").content.decode()
    assert "Replay dead letters…" not in viewer_client.get("/dashboard/failures/").content.decode()


def test_drill_down_lists_the_runs_of_the_group_only(viewer_client, make_failed):
    first, second = make_failed("declined 1"), make_failed("declined 2")
    other = make_failed("something else")
    content = viewer_client.get(f"/dashboard/failures/{first.attempt_set.get().fingerprint}/").content.decode()
    runs = set(re.findall(r'href="/dashboard/runs/([0-9a-f-]{36})/"', content))
    assert {str(first.pk), str(second.pk)} <= runs and str(other.pk) not in runs


def test_drill_down_counts_the_open_dead_letters_of_the_group(viewer_client, make_failed):
    run = make_failed("declined 1")
    make_failed("declined 2")
    content = viewer_client.get(f"/dashboard/failures/{run.attempt_set.get().fingerprint}/").content.decode()
    assert '<b class="big">2</b> open dead letters' in content


def test_drill_down_of_an_unknown_fingerprint_is_404(viewer_client, db):
    assert viewer_client.get("/dashboard/failures/0123456789abcdef/").status_code == 404


def test_hostile_message_is_escaped_in_groups(viewer_client, make_failed):
    make_failed("<script>alert(1)</script>")
    content = viewer_client.get("/dashboard/failures/").content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


# --- an operator's cancel is not a failure (issue 12) ----------------------------------------------


def cancelled_run(make_run, make_attempt):
    run = make_run(Status.CANCELLED)
    make_attempt(run, outcome=Outcome.CANCELLED, exception="taskboard.exceptions.TaskCancelled",
                 message="Cancelled by operator.")
    return run


def test_an_operators_cancel_forms_no_failure_group(viewer_client, make_run, make_attempt):
    cancelled_run(make_run, make_attempt)
    assert groups() == {}
    assert "TaskCancelled" not in viewer_client.get("/dashboard/failures/").content.decode()


def test_a_cancel_does_not_count_in_a_group_it_shares_a_run_with(make_run, make_attempt):
    run = make_run(Status.CANCELLED, attempts=2)
    make_attempt(run, number=1, outcome=Outcome.RETRYABLE, message="flaky upstream")
    make_attempt(run, number=2, outcome=Outcome.CANCELLED, exception="taskboard.exceptions.TaskCancelled",
                 message="Cancelled by operator.")
    assert [(group.message, group.count_7d) for group in groups().values()] == [("flaky upstream", 1)]


def test_a_cancel_has_no_failure_group_page(viewer_client, make_run, make_attempt):
    fingerprint = cancelled_run(make_run, make_attempt).attempt_set.get().fingerprint
    assert failures.group_summary(fingerprint) is None
    assert viewer_client.get(f"/dashboard/failures/{fingerprint}/").status_code == 404


# --- user content with bidi controls shows them escaped ---------------------------------------------


def test_bidi_controls_show_escaped_on_the_failures_pages(viewer_client, make_failed):
    run = make_failed("refund for \u202eexe.pdf")
    fingerprint = run.attempt_set.get().fingerprint
    for url in ("/dashboard/failures/", f"/dashboard/failures/{fingerprint}/"):
        content = viewer_client.get(url).content.decode()
        assert "\u202e" not in content
        assert "refund for \\u202eexe.pdf" in content
