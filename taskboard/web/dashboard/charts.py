"""Geometry of the task page's small SVG charts, rendered by ``partials/svg_chart.html``.

Everything here is numbers and plain-text titles; the template escapes the titles, so no
markup is built in Python. Coordinates are strings formatted here (never by the template's
localisation). The figures themselves come from ``readmodels.tasks``; the backoff curve from
``Backoff.ceiling``, the same function the retry delay is drawn from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from taskboard.models import Backoff
from taskboard.readmodels.tasks import TaskBucket, TaskStats
from taskboard.templatetags.taskboard_tags import duration, percent

WIDTH, HEIGHT = 300, 80


def num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def secs(value: float | None) -> str:
    return duration(None if value is None else timedelta(seconds=value))


@dataclass(frozen=True)
class Shape:
    css: str
    title: str
    x: str = ""
    y: str = ""
    width: str = ""
    height: str = ""
    points: str = ""  # polyline / polygon


@dataclass
class Chart:
    label: str  # the accessible name: what the chart says, in words
    css: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Shape] = field(default_factory=list)
    bands: list[Shape] = field(default_factory=list)
    lines: list[Shape] = field(default_factory=list)


def _when(bucket: TaskBucket, stats: TaskStats) -> str:
    local = timezone.localtime(bucket.start)
    return local.strftime("%m-%d %H:%M" if stats.window.step >= timedelta(hours=6) else "%H:%M")


def throughput_chart(stats: TaskStats) -> Chart:
    """Runs finished per bucket, stacked: succeeded, failed, cancelled."""
    total = stats.total
    chart = Chart(f"Runs finished, {stats.window.label.lower()}: {total.finished:,} ({total.succeeded:,} succeeded, "
                  f"{total.failed:,} failed, {total.cancelled:,} cancelled)", "chart-throughput")
    step = chart.width / len(stats.buckets)
    peak = max((b.finished for b in stats.buckets), default=0) or 1
    for i, bucket in enumerate(stats.buckets):
        title = (f"{_when(bucket, stats)} · {bucket.finished:,} runs finished: {bucket.succeeded:,} succeeded, "
                 f"{bucket.failed:,} failed, {bucket.cancelled:,} cancelled")
        top = float(chart.height)
        for css, count in (("ok", bucket.succeeded), ("bad", bucket.failed), ("off", bucket.cancelled)):
            if count:
                height = count / peak * chart.height
                top -= height
                chart.bars.append(Shape(css, title, num(i * step + 0.5), num(top), num(step - 1), num(height)))
    return chart


def failure_rate_chart(stats: TaskStats) -> Chart:
    total = stats.total
    chart = Chart(f"Failure rate, {stats.window.label.lower()}: "
                  f"{percent(total.failure_rate) if total.succeeded + total.failed else 'no finished runs'}",
                  "chart-rate", height=30)
    step = chart.width / len(stats.buckets)
    for i, bucket in enumerate(stats.buckets):
        if bucket.failure_rate:
            height = bucket.failure_rate * chart.height
            chart.bars.append(Shape("bad", f"{_when(bucket, stats)} · {percent(bucket.failure_rate)} of "
                                           f"{bucket.succeeded + bucket.failed:,} failed",
                                    num(i * step + 0.5), num(chart.height - height), num(step - 1), num(height)))
    return chart


def percentile_chart(stats: TaskStats, name: str, value: Callable[[TaskBucket, float], float | None]) -> Chart:
    """p50 and p95 of ``value`` per bucket as two lines (buckets without runs leave gaps)."""
    overall = {p: value(stats.total, p) for p in (50, 95)}
    chart = Chart(f"{name}, {stats.window.label.lower()}: p50 {secs(overall[50])}, p95 {secs(overall[95])}",
                  "chart-lines")
    series = {p: [value(bucket, p) for bucket in stats.buckets] for p in (50, 95)}
    peak = max((v for values in series.values() for v in values if v is not None), default=0.0) or 1.0
    step = chart.width / len(stats.buckets)
    for p, values in series.items():
        for run in _runs(values):
            points = " ".join(f"{num((x + 0.5) * step)},{num(chart.height - v / peak * (chart.height - 2) - 1)}"
                              for x, v in run)
            chart.lines.append(Shape(f"p{p}", f"{name} p{p}", points=points))
    return chart


def _runs(values: Sequence[float | None]) -> list[list[tuple[float, float]]]:
    """Consecutive non-empty points (in bucket units); a lone point becomes a short flat line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append((float(i), v))
    return [run if len(run) > 1 else [(run[0][0] - 0.3, run[0][1]), (run[0][0] + 0.3, run[0][1])]
            for run in runs if run]


def backoff_chart(backoff: Backoff, max_attempts: int) -> Chart | None:
    """The delay before each retry: the ceiling as a line, the jitter band under it."""
    retries = list(range(1, max_attempts))
    if not retries:
        return None
    ceilings = [backoff.ceiling(n) for n in retries]
    peak = max(ceilings) or 1.0
    chart = Chart(f"Backoff before retries 1 to {len(retries)}: from {secs(ceilings[0])} up to {secs(peak)}, "
                  f"drawn between {(1 - backoff.jitter) * 100:.0f} % and 100 % of the ceiling", "chart-backoff")
    # One retry is drawn as a flat segment across the chart rather than a dot.
    xs = [i * chart.width / (len(retries) - 1) for i in range(len(retries))] if len(retries) > 1 else [0, chart.width]
    ys = ceilings if len(retries) > 1 else ceilings * 2

    def points(scale: float) -> list[str]:
        return [f"{num(x)},{num(chart.height - y * scale / peak * (chart.height - 2) - 1)}"
                for x, y in zip(xs, ys, strict=True)]

    high = points(1.0)
    chart.bands.append(Shape("band", "jitter band: each delay is drawn uniformly from it",
                             points=" ".join(points(1 - backoff.jitter) + high[::-1])))
    chart.lines.append(Shape("ceiling", "ceiling: base × factor^(retry − 1), at most max delay", points=" ".join(high)))
    return chart
