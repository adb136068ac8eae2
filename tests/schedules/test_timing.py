"""Fire times, pure: cron in a time zone across DST changes, intervals, the misfire plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from taskboard.schedules import timing
from taskboard.schedules.timing import Timing, TimingError, plan


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires(t: Timing, after: datetime, n: int) -> list[datetime]:
    return t.upcoming(after, n)


# --- DST: Europe/Berlin 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET ----


def test_berlin_spring_forward_fires_a_missing_wall_time_once_at_the_first_minute_that_exists():
    t = Timing(cron="30 2 * * *", timezone="Europe/Berlin")
    assert fires(t, utc(2026, 3, 28), 3) == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 0),  # 02:30 does not exist: 03:00 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]


def test_berlin_fall_back_fires_a_repeated_wall_time_once():
    t = Timing(cron="30 2 * * *", timezone="Europe/Berlin")
    assert fires(t, utc(2026, 10, 24), 3) == [
        utc(2026, 10, 24, 0, 30),  # 02:30 CEST
        utc(2026, 10, 25, 0, 30),  # the first 02:30 (CEST); the second (CET, 01:30 UTC) does not fire
        utc(2026, 10, 26, 1, 30),  # 02:30 CET
    ]


def test_from_inside_the_repeated_hour_the_next_fire_is_the_next_day():
    t = Timing(cron="30 2 * * *", timezone="Europe/Berlin")
    # 02:10 CET, the second 02:10 of the night: 02:30 has fired (as CEST) an hour ago.
    assert t.next_after(utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 26, 1, 30)


def test_an_interval_like_cron_follows_real_time_through_the_repeated_hour():
    t = Timing(cron="*/30 * * * *", timezone="Europe/Berlin")
    assert fires(t, utc(2026, 10, 24, 23, 59), 5) == [
        utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30),  # 02:00, 02:30 CEST
        utc(2026, 10, 25, 1, 0), utc(2026, 10, 25, 1, 30),  # 02:00, 02:30 CET
        utc(2026, 10, 25, 2, 0),
    ]


# --- America/New_York 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST ----------


def test_new_york_keeps_the_wall_time_across_spring_forward():
    t = Timing(cron="0 9 * * *", timezone="America/New_York")
    assert fires(t, utc(2026, 3, 7), 2) == [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13)]


def test_new_york_interval_cron_skips_the_lost_hour_without_a_gap_in_real_time():
    t = Timing(cron="*/30 * * * *", timezone="America/New_York")
    # 01:30 EST, then 03:00 EDT: 30 minutes later in real time.
    assert fires(t, utc(2026, 3, 8, 6, 15), 2) == [utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 0)]


def test_new_york_fall_back_fires_1_30_once():
    t = Timing(cron="30 1 * * *", timezone="America/New_York")
    assert fires(t, utc(2026, 10, 31, 12), 2) == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


# --- intervals ------------------------------------------------------------------------------------


def test_every_keeps_its_phase_from_the_anchor():
    t = Timing(every=10)
    anchor = utc(2026, 1, 1, 0, 0, 3)
    assert t.next_after(utc(2026, 1, 1, 0, 0, 3), anchor) == utc(2026, 1, 1, 0, 0, 13)
    assert t.next_after(utc(2026, 1, 1, 0, 5, 0), anchor) == utc(2026, 1, 1, 0, 5, 3)
    assert t.next_after(utc(2026, 1, 1, 0, 5, 3), anchor) == utc(2026, 1, 1, 0, 5, 13)


def test_first_fire_of_an_interval_counts_from_the_whole_second():
    assert Timing(every=5).first_fire(utc(2026, 1, 1, 0, 0, 1) + timedelta(microseconds=700)) == utc(
        2026, 1, 1, 0, 0, 6)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("expr", ["* * * *", "0 0 * * * *", "61 * * * *", "* 25 * * *", "nonsense x y z w", "",
                                  "0 0 30 2 *"])
def test_bad_cron_is_refused_with_a_reason(expr):
    with pytest.raises(TimingError):
        timing.normalise_cron(expr)


def test_cron_is_normalised():
    assert timing.normalise_cron("  */5   * *  * MON ") == "*/5 * * * MON"


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "Europe", "x" * 65])
def test_bad_time_zones_are_refused(name):
    with pytest.raises(TimingError):
        timing.zone(name)


@pytest.mark.parametrize("every", [0, -1, 1.5, True, "5", timing.EVERY_MAX + 1])
def test_bad_intervals_are_refused(every):
    with pytest.raises(TimingError):
        timing.check_every(every)


def test_exactly_one_of_cron_and_every():
    with pytest.raises(TimingError):
        Timing(cron="* * * * *", every=5)
    with pytest.raises(TimingError):
        Timing()


# --- the plan of a tick ---------------------------------------------------------------------------


def test_a_little_late_fires_every_fire_time_in_order():
    t = Timing(every=1)
    due = utc(2026, 1, 1, 12, 0, 0)
    p = plan(t, due, due + timedelta(seconds=3.5), grace=30, run_once=False)
    assert p.fire_times == [due + timedelta(seconds=s) for s in range(4)]
    assert (p.next_run_at, p.missed) == (due + timedelta(seconds=4), 0)


def test_after_downtime_skip_jumps_to_the_next_fire_time():
    t = Timing(cron="*/5 * * * *")
    due = utc(2026, 1, 1, 12, 0)
    now = utc(2026, 1, 1, 13, 2)
    p = plan(t, due, now, grace=30, run_once=False)
    assert p.fire_times == []
    assert (p.missed, p.next_run_at) == (13, utc(2026, 1, 1, 13, 5))  # 12:00 … 13:00 missed


def test_after_downtime_run_once_fires_once_for_the_missed_period():
    t = Timing(cron="*/5 * * * *")
    due = utc(2026, 1, 1, 12, 0)
    p = plan(t, due, utc(2026, 1, 1, 13, 2), grace=30, run_once=True)
    assert (p.fire_times, p.collapsed, p.missed) == ([due], True, 13)
    assert p.next_run_at == utc(2026, 1, 1, 13, 5)


def test_missed_and_recent_fire_times_together():
    t = Timing(every=10)
    due = utc(2026, 1, 1, 12, 0, 0)
    now = due + timedelta(seconds=65)
    skip = plan(t, due, now, grace=30, run_once=False)
    assert skip.fire_times == [due + timedelta(seconds=s) for s in (40, 50, 60)]
    assert skip.missed == 4  # 0, 10, 20, 30 are more than 30 s old
    once = plan(t, due, now, grace=30, run_once=True)
    assert once.fire_times == [due] + skip.fire_times


def test_catch_up_is_bounded_per_tick():
    t = Timing(every=1)
    due = utc(2026, 1, 1)
    p = plan(t, due, due + timedelta(seconds=20), grace=30, run_once=False, limit=5)
    assert len(p.fire_times) == 5 and p.next_run_at == due + timedelta(seconds=5)


# --- words ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("t", "words"), [
    (Timing(cron="30 2 * * 1-5", timezone="Europe/Berlin"), "At 02:30, Monday through Friday (Europe/Berlin)"),
    (Timing(cron="*/15 * * * *"), "Every 15 minutes"),
    (Timing(every=1), "Every second"),
    (Timing(every=90), "Every 90 seconds"),
    (Timing(every=7200), "Every 2 hours"),
    (Timing(every=86400), "Every day"),
])
def test_descriptions_in_plain_words(t, words):
    assert timing.describe(t) == words
