"""When a schedule fires: a 5-field cron expression in an IANA time zone, or every N seconds.

Pure functions over aware datetimes; nothing here touches the database.

**Cron** fire times are computed by ``cronsim`` on the wall clock of the schedule's zone and
returned in UTC. Across a DST change a fixed-time expression fires once, as Debian cron does:
a wall time that does not exist (02:30 on a spring-forward night in Berlin) fires at the
first minute that does (03:00), and one that occurs twice (02:30 on a fall-back night) fires
at its first occurrence only. Expressions with a wildcard minute or hour (``*/15 * * * *``)
follow real elapsed time instead, so they neither stop nor double up for the lost or
repeated hour.

**Every** N seconds fires on a lattice ``anchor + k·N`` (the anchor is any earlier fire time
of the schedule), so every host computes the same fire times and the phase survives
restarts; the time zone plays no part.

``plan`` decides what one clock tick fires for a schedule that is due, after any downtime:
fire times at most ``grace`` seconds old are fired one by one (a clock that is a little late
catches up without gaps); older ones were *missed* and, by the misfire policy, are either
skipped (``skip``) or covered by a single fire (``run_once``).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cronsim import CronSim, CronSimError

CRON_MAX = 200
EVERY_MAX = 366 * 86400  # a year and a day: longer intervals are a cron expression's job
TIMEZONE_MAX = 64
# Counting missed cron fire times after a long outage stops here (the count is only reported).
COUNT_CAP = 10_000
_EPSILON = timedelta(microseconds=1)


class TimingError(ValueError):
    """A cron expression, interval or time zone that cannot be used; the message says why."""


@lru_cache(maxsize=256)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name`` (``UTC``, ``Europe/Berlin``), or ``TimingError``."""
    if not isinstance(name, str) or not name or len(name) > TIMEZONE_MAX:
        raise TimingError(f"timezone {str(name)[:80]!r} is not a known IANA time zone (e.g. UTC, Europe/Berlin)")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise TimingError(f"timezone {name[:80]!r} is not a known IANA time zone (e.g. UTC, Europe/Berlin)") from None


def normalise_cron(expr: object) -> str:
    """A valid 5-field expression with single spaces, or ``TimingError`` naming the problem."""
    if not isinstance(expr, str):
        raise TimingError("cron must be a string of 5 fields, e.g. '*/5 * * * *'")
    fields = expr.split()
    if len(expr) > CRON_MAX:
        raise TimingError(f"cron is longer than {CRON_MAX} characters")
    if len(fields) != 5:
        raise TimingError(f"cron {expr[:80]!r} must have 5 fields (minute hour day-of-month month "
                          f"day-of-week), not {len(fields)}")
    normal = " ".join(fields)
    try:
        CronSim(normal, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise TimingError(f"cron {normal!r} is not valid: {str(exc).lower() or 'bad expression'}") from None
    return normal


def check_every(every: object) -> int:
    if isinstance(every, bool) or not isinstance(every, int):
        raise TimingError("every must be a whole number of seconds")
    if not 1 <= every <= EVERY_MAX:
        raise TimingError(f"every must be from 1 to {EVERY_MAX} seconds, not {every}")
    return every


@dataclass(frozen=True)
class Timing:
    """When a schedule fires: ``cron`` (in ``timezone``) or ``every`` seconds, exactly one."""

    cron: str = ""
    every: int | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if bool(self.cron) == (self.every is not None):
            raise TimingError("give exactly one of cron and every")

    def next_after(self, after: datetime, anchor: datetime | None = None) -> datetime:
        """The first fire time strictly after ``after``, in UTC. ``anchor`` (an earlier fire
        time; default ``after``) fixes the phase of an ``every`` schedule."""
        if self.every is not None:
            step = timedelta(seconds=self.every)
            base = anchor if anchor is not None else after
            return base + ((after - base) // step + 1) * step
        it = CronSim(self.cron, after.astimezone(zone(self.timezone)))
        # cronsim iterates wall times; on a fall-back night the first occurrence of a wall time
        # can lie before ``after`` (which may be in the repeated hour): step past it.
        for _ in range(1000):
            try:
                candidate = next(it).astimezone(UTC)
            except StopIteration:
                break
            if candidate > after:
                return candidate
        raise TimingError(f"cron {self.cron!r} never fires")

    def upcoming(self, after: datetime, count: int, anchor: datetime | None = None) -> list[datetime]:
        """The next ``count`` fire times after ``after``."""
        times: list[datetime] = []
        current = after
        for _ in range(count):
            try:
                current = self.next_after(current, anchor)
            except TimingError:
                break
            times.append(current)
        return times

    def first_fire(self, now: datetime) -> datetime:
        """A new (or resumed) schedule's first fire time: the next one after ``now``; an
        interval counts from ``now``'s whole second."""
        anchor = now.replace(microsecond=0) if self.every is not None else None
        return self.next_after(now, anchor)

    def count_between(self, start: datetime, end: datetime) -> int:
        """Fire times in ``[start, end)`` where ``start`` is one (capped at ``COUNT_CAP``)."""
        if end <= start:
            return 0
        if self.every is not None:
            return min(COUNT_CAP, -((start - end) // timedelta(seconds=self.every)))
        count, current = 1, start
        while count < COUNT_CAP:
            current = self.next_after(current)
            if current >= end:
                break
            count += 1
        return count

    def times(self, start: datetime, anchor: datetime) -> Iterator[datetime]:
        """``start`` (a fire time) and every fire time after it."""
        current = start
        while True:
            yield current
            current = self.next_after(current, anchor)


@dataclass
class Plan:
    """What one tick does for a due schedule: fire ``fire_times`` (the first one covers
    ``missed`` earlier fire times when ``collapsed``), then wait until ``next_run_at``."""

    fire_times: list[datetime] = field(default_factory=list)
    next_run_at: datetime | None = None
    missed: int = 0
    missed_from: datetime | None = None
    collapsed: bool = False


def plan(timing: Timing, due_at: datetime, now: datetime, *, grace: float, run_once: bool,
         limit: int = 100) -> Plan:
    """Fire times to fire now for a schedule whose next fire time ``due_at`` is ≤ ``now``.

    Fire times older than ``grace`` seconds were missed: ``run_once`` fires once for all of
    them (at the first one's time), otherwise they are skipped. Later ones up to ``now`` are
    fired in order, at most ``limit`` per tick (the rest on the next tick)."""
    result = Plan()
    cutoff = now - timedelta(seconds=grace)
    first = due_at
    if due_at < cutoff:
        try:
            first = timing.next_after(cutoff - _EPSILON, anchor=due_at)
        except TimingError:
            return result  # nothing left to fire, ever
        result.missed = timing.count_between(due_at, first)
        result.missed_from = due_at
        if run_once:
            result.fire_times.append(due_at)
            result.collapsed = True
    try:
        for fire_at in timing.times(first, anchor=due_at):
            if fire_at > now or len(result.fire_times) >= limit:
                result.next_run_at = fire_at
                break
            result.fire_times.append(fire_at)
    except TimingError:
        result.next_run_at = None  # a cron expression with no fire time left: never again
    return result


def describe(timing: Timing) -> str:
    """The schedule in plain words: "At 02:30, Monday through Friday (Europe/Berlin)"."""
    if timing.every is not None:
        return f"Every {_duration(timing.every)}"
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    try:
        words = str(ExpressionDescriptor(timing.cron, options).get_description())
    except Exception:  # an expression cronsim takes but the describer does not: show it as is
        words = f"Cron {timing.cron}"
    return words if timing.timezone == "UTC" else f"{words} ({timing.timezone})"


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return unit if n == 1 else f"{n} {unit}s"
    return "second" if seconds == 1 else f"{seconds} seconds"
