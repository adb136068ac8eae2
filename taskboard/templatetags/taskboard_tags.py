"""Template helpers of the dashboard: badges, times, JSON and the small SVG charts.

Everything that can carry user data goes through ``format_html``/autoescaping; the SVGs are
built from numbers and escaped labels only. User text (arguments, messages, names) also goes
through ``visible_controls``, so bidi control characters show as escapes instead of silently
reordering what the operator reads.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

JSON_DISPLAY_LIMIT = 20_000

# The Unicode Bidi_Control characters. A right-to-left override turns "invoice_exe.pdf" into
# what reads as "invoice_fdp.exe"; in user content they are shown as their escape ("\u202e"),
# which is also how JSON writes them, so a shown JSON value stays the same value.
BIDI_CONTROLS = {ord(char): f"\\u{ord(char):04x}" for char in
                 "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"}


@register.filter(is_safe=True)  # the escapes add no HTML-special character
def visible_controls(value: Any) -> str:
    """``value`` with its bidi control characters shown as ``\u202e``-style escapes."""
    if value is None:
        return ""
    return str(value).translate(BIDI_CONTROLS)


@register.simple_tag
def status_badge(status: str) -> SafeString:
    # The label is the status itself (lowercase, as in the API and the CLI), never colour only.
    text = escape(status)
    return mark_safe(f'<span class="badge st-{text}"><span class="dot" aria-hidden="true"></span>{text}</span>')


@register.simple_tag
def outcome_badge(outcome: str) -> SafeString:
    text = escape(outcome)
    return mark_safe(f'<span class="badge oc-{text}"><span class="dot" aria-hidden="true"></span>{text}</span>')


@register.filter
def duration(value: timedelta | None) -> str:
    if value is None:
        return "—"
    seconds = value.total_seconds()
    if seconds < 0:
        return "0 s"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} m"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _coarse(seconds: float) -> str:
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


@register.filter
def ago(value: datetime | None) -> str:
    if value is None:
        return "—"
    seconds = (timezone.now() - value).total_seconds()
    if seconds < -1:
        return f"in {_coarse(-seconds)}"
    if seconds < 1:
        return "just now"
    return f"{_coarse(seconds)} ago"


@register.simple_tag
def when(value: datetime | None, relative: bool = True) -> SafeString | str:
    """A <time> showing "12 s ago" (or the local timestamp) with the exact time as tooltip."""
    if value is None:
        return "—"
    local = timezone.localtime(value)
    exact = local.strftime("%Y-%m-%d %H:%M:%S %Z")
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), exact,
                       ago(value) if relative else exact)


@register.filter
def pretty_json(value: Any) -> str:
    text = visible_controls(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str))
    if len(text) > JSON_DISPLAY_LIMIT:
        return text[:JSON_DISPLAY_LIMIT] + f"\n… ({len(text) - JSON_DISPLAY_LIMIT:,} more characters)"
    return text


@register.filter
def call_preview(run: Any, limit: int = 90) -> str:
    """``1, 'x', key=value`` — the arguments of a run on one line."""
    parts = [json.dumps(a, ensure_ascii=False, default=str) for a in run.args or []]
    parts += [f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in (run.kwargs or {}).items()]
    text = visible_controls(", ".join(parts))
    return text if len(text) <= limit else text[: limit - 1] + "…"


@register.filter
def short_id(value: Any) -> str:
    return str(value)[:8]


@register.filter
def task_name(path: str) -> str:
    return visible_controls(path.rsplit(".", 1)[-1])


@register.filter
def task_module(path: str) -> str:
    return visible_controls(path.rsplit(".", 1)[0]) if "." in path else ""


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    scaled = value * 100
    return f"{scaled:.0f} %" if scaled == 0 or scaled >= 10 else f"{scaled:.1f} %"


# The charts are built with plain string formatting: every interpolated value is a number
# or passes through escape(), and format_html per bar would cost more than the whole query.


@register.simple_tag
def sparkline(values: list[int], label: str = "") -> SafeString:
    """Tiny bar chart of counts (oldest first), e.g. a failure group over 7 days."""
    width, height = 2 * len(values) + 1, 20
    peak = max(values, default=0) or 1
    bars = []
    for i, value in enumerate(values):
        if value:
            h = max(1.0, round(value / peak * height, 2))
            bars.append(f'<rect x="{2 * i + 0.5}" y="{round(height - h, 2)}" width="1.6" height="{h}"></rect>')
    text = escape(label)
    return mark_safe(  # noqa: S308 - numbers and escaped text only
        f'<svg class="spark" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{text}"><title>{text}</title>{"".join(bars)}</svg>')


@register.simple_tag
def throughput_chart(series: Any) -> SafeString:
    """Stacked bars of finished runs (succeeded below, then failed, then cancelled) of one
    ``readmodels.overview.Series``."""
    n, height = len(series.buckets), 60
    peak = max((b.finished for b in series.buckets), default=0) or 1
    bars = []
    for i, bucket in enumerate(series.buckets):
        title = (f"{timezone.localtime(bucket.start):%H:%M} · {bucket.finished:,} runs finished: "
                 f"{bucket.succeeded:,} succeeded, {bucket.failed:,} failed, {bucket.cancelled:,} cancelled")
        x, top, rects = i * 10 + 1, float(height), []
        for css, count in (("ok", bucket.succeeded), ("bad", bucket.failed), ("off", bucket.cancelled)):
            h = round(count / peak * height, 2)
            top = round(top - h, 2)
            rects.append(f'<rect class="{css}" x="{x}" y="{top}" width="8" height="{h}"></rect>')
        bars.append(f'<g><title>{escape(title)}</title><rect class="hit" x="{x}" y="0" width="8" '
                    f'height="{height}"></rect>{"".join(rects)}</g>')
    label = escape(f"{series.title}: {series.finished:,} runs finished, {series.failed:,} failed, "
                   f"{series.cancelled:,} cancelled")
    return mark_safe(  # noqa: S308 - numbers and escaped text only
        f'<svg class="chart" viewBox="0 0 {n * 10} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{label}">{"".join(bars)}</svg>')


@register.simple_tag
def failure_rate_chart(series: Any) -> SafeString:
    """Failure rate per bucket (failed / (succeeded + failed) runs) as bars on a 0–100 % scale."""
    n, height = len(series.buckets), 24
    bars = []
    for i, bucket in enumerate(series.buckets):
        h = round(bucket.failure_rate * height, 2)
        title = escape(f"{timezone.localtime(bucket.start):%H:%M} · {percent(bucket.failure_rate)} of runs failed")
        bars.append(f'<rect x="{i * 10 + 1}" y="{round(height - h, 2)}" width="8" height="{h}">'
                    f'<title>{title}</title></rect>')
    label = escape(f"{series.title}: {percent(series.failure_rate)} of runs failed")
    return mark_safe(  # noqa: S308 - numbers and escaped text only
        f'<svg class="chart rate" viewBox="0 0 {n * 10} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{label}">{"".join(bars)}</svg>')


@register.filter
def seconds(value: float | None) -> str:
    return "—" if value is None else duration(timedelta(seconds=float(value)))


@register.filter
def elapsed(value: datetime | None) -> str:
    """How long ago ``value`` was, as a duration ("1 m 05 s")."""
    return "—" if value is None else duration(timezone.now() - value)
