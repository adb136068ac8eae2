"""The pure parts: the breaker state machine, the rate window, key templates, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from taskboard.flow import circuit, keys, rates
from taskboard.flow.config import BreakerConfig, parse_breakers, parse_queue_limits

T0 = datetime(2025, 1, 1, tzinfo=UTC)
CONFIG = BreakerConfig("pay", failure_rate=50, min_calls=4, window=60, open_for=10, half_open_probes=2,
                       max_open_for=40)


def closed() -> circuit.Circuit:
    return circuit.Circuit(circuit.CLOSED, T0)


def test_closed_stays_closed_below_min_calls_even_if_all_failed():
    assert circuit.step(CONFIG, closed(), circuit.Calls(3, 3), T0) is None


def test_closed_trips_at_the_failure_rate_with_min_calls():
    move = circuit.step(CONFIG, closed(), circuit.Calls(4, 2), T0)
    assert move is not None and move.circuit.state == circuit.OPEN
    assert move.circuit.retry_at == T0 + timedelta(seconds=10) and move.circuit.trips == 1
    assert "2 of 4" in move.reason


def test_closed_stays_closed_below_the_rate():
    assert circuit.step(CONFIG, closed(), circuit.Calls(10, 4), T0) is None


def test_open_holds_until_retry_at_then_goes_half_open():
    opened = circuit.trip(CONFIG, closed(), T0, "x").circuit
    assert not circuit.admits(CONFIG, opened)
    assert circuit.step(CONFIG, opened, circuit.Calls(0, 0), T0 + timedelta(seconds=9)) is None
    move = circuit.step(CONFIG, opened, circuit.Calls(0, 0), T0 + timedelta(seconds=10))
    assert move is not None and move.circuit.state == circuit.HALF_OPEN


def test_half_open_admits_exactly_the_probes():
    half = circuit.Circuit(circuit.HALF_OPEN, T0, trips=1)
    assert circuit.admits(CONFIG, half)
    assert circuit.admits(CONFIG, circuit.Circuit(circuit.HALF_OPEN, T0, trips=1, probes_started=1))
    assert not circuit.admits(CONFIG, circuit.Circuit(circuit.HALF_OPEN, T0, trips=1, probes_started=2))


def test_half_open_closes_after_the_probes_succeed_and_resets_trips():
    half = circuit.Circuit(circuit.HALF_OPEN, T0, trips=3, probes_started=2)
    assert circuit.step(CONFIG, half, circuit.Calls(1, 0), T0) is None
    move = circuit.step(CONFIG, half, circuit.Calls(2, 0), T0)
    assert move is not None and move.circuit.state == circuit.CLOSED and move.circuit.trips == 0


def test_failed_probe_reopens_for_longer_capped():
    half = circuit.Circuit(circuit.HALF_OPEN, T0, trips=1)
    move = circuit.step(CONFIG, half, circuit.Calls(1, 1), T0)
    assert move is not None and move.circuit.state == circuit.OPEN
    assert move.circuit.retry_at == T0 + timedelta(seconds=20) and move.circuit.trips == 2
    assert CONFIG.open_duration(5) == 40  # capped at max_open_for


def test_forced_open_never_probes():
    forced = circuit.force(closed(), circuit.OPEN, T0)
    assert circuit.step(CONFIG, forced, circuit.Calls(0, 0), T0 + timedelta(days=1)) is None
    assert circuit.force(forced, circuit.CLOSED, T0).state == circuit.CLOSED


def test_window_restarts_at_each_transition():
    state = circuit.Circuit(circuit.CLOSED, T0 + timedelta(seconds=50))
    assert circuit.window_start(CONFIG, state, T0 + timedelta(seconds=100)) == T0 + timedelta(seconds=50)
    assert circuit.window_start(CONFIG, state, T0 + timedelta(seconds=200)) == T0 + timedelta(seconds=140)


@pytest.mark.parametrize("outcome,failure", [("retryable", True), ("timeout", True), ("lost", True),
                                             ("permanent", False), ("succeeded", False)])
def test_only_dependency_failures_count(outcome, failure):
    assert circuit.is_failure(outcome) is failure and circuit.counts_as_call(outcome)


def test_cancel_is_not_a_call():
    assert not circuit.counts_as_call("cancelled")


@pytest.mark.parametrize("text,rate", [("10/s", rates.Rate(10, 1)), ("3/m", rates.Rate(3, 60)),
                                       (" 1 / h ", rates.Rate(1, 3600))])
def test_parse_rate(text, rate):
    assert rates.parse_rate(text) == rate


@pytest.mark.parametrize("text", ["0/s", "10", "10/d", "x/m", "", "-1/s"])
def test_parse_rate_rejects(text):
    with pytest.raises(ValueError):
        rates.parse_rate(text)


def test_sliding_window():
    rate = rates.Rate(2, 60)
    starts = [T0, T0 + timedelta(seconds=30)]
    assert not rates.admits(rate, 2) and rates.admits(rate, 1)
    assert rates.next_free_at(rate, starts, T0 + timedelta(seconds=40)) == T0 + timedelta(seconds=60)
    assert rates.next_free_at(rate, starts, T0 + timedelta(seconds=61)) == T0 + timedelta(seconds=61)


def test_key_templates():
    assert keys.resolve("user:{user_id}", {"user_id": 42}) == "user:42"
    assert keys.placeholders("a{x}b{y}") == ["x", "y"]
    with pytest.raises(ValueError, match="unknown argument"):
        keys.check_template("user:{uid}", {"user_id"})
    keys.check_template("user:{anything}", None)
    with pytest.raises(ValueError):
        keys.check_template("user:{user.id}", {"user"})
    with pytest.raises(KeyError):
        keys.resolve("user:{user_id}", {})


def test_breaker_settings_validated():
    configs = parse_breakers('{"pay": {"failure_rate": 50, "min_calls": 4, "window": 60, '
                             '"open_for": 10, "half_open_probes": 1}}')
    assert configs["pay"].max_open_for == 320
    for bad in ['{"pay": {"failure_rate": 0}}', '{"pay": {"min_calls": 1.5}}', '{"pay": {"speed": 1}}',
                "[1]", "{", '{"pay": {"window": -1}}']:
        with pytest.raises(ImproperlyConfigured):
            parse_breakers(bad)


def test_queue_limits_validated():
    assert parse_queue_limits("default=10, reports=2") == {"default": 10, "reports": 2}
    assert parse_queue_limits("") == {}
    for bad in ["default", "default=0", "default=x", "=3"]:
        with pytest.raises(ImproperlyConfigured):
            parse_queue_limits(bad)
