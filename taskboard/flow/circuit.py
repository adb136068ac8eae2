"""The circuit breaker as a pure state machine (no database, unit-tested on its own).

closed → open when, among the calls recorded since the state began and within ``window``
seconds, at least ``min_calls`` were made and ``failure_rate`` % of them failed.
open → half_open once ``retry_at`` passes (never while forced open).
half_open admits ``half_open_probes`` runs; any failed call re-opens it (one more trip: the
open time doubles, capped), ``half_open_probes`` successful calls close it (trips reset).
Only retryable, timeout and lost outcomes are failures: a permanent error is the task's fault
(the dependency answered), so it counts as a successful call; a cancel is not a call.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from taskboard.flow.config import BreakerConfig

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

# Outcomes (models.Outcome values) that count as a failed call of the dependency.
FAILED_OUTCOMES = frozenset({"retryable", "timeout", "lost"})


def counts_as_call(outcome: str) -> bool:
    return outcome != "cancelled"


def is_failure(outcome: str) -> bool:
    return outcome in FAILED_OUTCOMES


@dataclass(frozen=True, slots=True)
class Circuit:
    state: str
    since: datetime
    opened_at: datetime | None = None
    retry_at: datetime | None = None
    trips: int = 0
    probes_started: int = 0
    forced: bool = False


@dataclass(frozen=True, slots=True)
class Calls:
    """Calls recorded since ``Circuit.since`` and within the window."""

    total: int
    failures: int

    @property
    def rate(self) -> float:
        return 100.0 * self.failures / self.total if self.total else 0.0


@dataclass(frozen=True, slots=True)
class Transition:
    circuit: Circuit
    reason: str


def window_start(config: BreakerConfig, circuit: Circuit, now: datetime) -> datetime:
    return max(circuit.since, now - timedelta(seconds=config.window))


def trip(config: BreakerConfig, circuit: Circuit, now: datetime, reason: str) -> Transition:
    trips = circuit.trips + 1
    retry_at = now + timedelta(seconds=config.open_duration(trips))
    return Transition(Circuit(OPEN, now, opened_at=now, retry_at=retry_at, trips=trips), reason)


def step(config: BreakerConfig, circuit: Circuit, calls: Calls, now: datetime) -> Transition | None:
    """The automatic transition ``circuit`` takes now, given its ``calls``; None to stay."""
    if circuit.state == CLOSED:
        if calls.total >= config.min_calls and calls.rate >= config.failure_rate:
            return trip(config, circuit, now, f"{calls.failures} of {calls.total} calls failed "
                                              f"({calls.rate:.0f} % ≥ {config.failure_rate:g} %)")
        return None
    if circuit.state == OPEN:
        if circuit.forced or circuit.retry_at is None or now < circuit.retry_at:
            return None
        return Transition(replace(circuit, state=HALF_OPEN, since=now, probes_started=0),
                          f"open for {(now - (circuit.opened_at or now)).total_seconds():.0f} s: probing")
    if calls.failures:
        return trip(config, circuit, now, "a half-open probe failed")
    if calls.total >= config.half_open_probes:
        return Transition(Circuit(CLOSED, now), f"{calls.total} half-open probe(s) succeeded")
    return None


def admits(config: BreakerConfig, circuit: Circuit) -> bool:
    """Whether a run may start now (after ``step``); a half-open admission is a probe."""
    if circuit.state == CLOSED:
        return True
    if circuit.state == HALF_OPEN:
        return circuit.probes_started < config.half_open_probes
    return False


def force(circuit: Circuit, state: str, now: datetime) -> Circuit:
    """A manual open (stays open until closed by hand) or close (trips reset)."""
    if state == OPEN:
        return Circuit(OPEN, now, opened_at=now, retry_at=None, trips=circuit.trips, forced=True)
    return Circuit(CLOSED, now)
