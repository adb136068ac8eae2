"""The flow-control families of ``/metrics``: held runs by reason, one state gauge per
breaker (1 for its current state, 0 for the others, as Prometheus state sets go), and limit
utilisation (running or started of each limit in use, with its limit)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from taskboard.readmodels import flow

BREAKER_STATES = ("closed", "open", "half_open")


def collect() -> Iterator[Metric]:
    held = GaugeMetricFamily("taskboard_runs_held", "Runs held by flow control, by reason.", labels=["reason"])
    for reason, n in flow.held_by_reason().items():
        held.add_metric([reason], n)
    yield held

    state = GaugeMetricFamily("taskboard_breaker_state",
                              "1 for a circuit breaker's current state, 0 for the others.",
                              labels=["breaker", "state"])
    rate = GaugeMetricFamily("taskboard_breaker_failure_rate",
                             "Percent of the calls in a breaker's current window that failed.", labels=["breaker"])
    for row in flow.breaker_rows():
        for name in BREAKER_STATES:
            state.add_metric([row["name"], name], 1 if row["state"] == name else 0)
        rate.add_metric([row["name"]], row["failure_rate"])
    yield state
    yield rate

    used = GaugeMetricFamily("taskboard_limit_used",
                             "Runs running (concurrency, queue) or started in the window (rate) under a limit.",
                             labels=["kind", "key"])
    limit = GaugeMetricFamily("taskboard_limit", "The limit of a key in use.", labels=["kind", "key"])
    for u in flow.utilisation():
        used.add_metric([u["kind"], u["key"]], u["used"])
        limit.add_metric([u["kind"], u["key"]], u["limit"])
    yield used
    yield limit
