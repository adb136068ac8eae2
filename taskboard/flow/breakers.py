"""Circuit breakers, persisted: the ``Breaker`` row per name, ``BreakerCall`` rows (written
with each outcome by ``models.TaskRun``), ``BreakerTransition`` history. The state machine
itself is ``flow.circuit`` (pure).

Every read-modify-write of a breaker happens under its key lock (``breaker:<name>``, see
``flow.locks``), so hosts agree on one state; half-open probes are counted on the row when
admitted, so no more than ``half_open_probes`` start however many hosts claim at once.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from taskboard.flow import circuit
from taskboard.flow import release as flow_release
from taskboard.flow.config import BreakerConfig, breakers_config
from taskboard.flow.locks import lock_keys
from taskboard.models import Breaker, BreakerCall, BreakerTransition, HoldReason


def lock_name(name: str) -> str:
    return f"breaker:{name}"


def config_of(name: str) -> BreakerConfig:
    configs = breakers_config()
    if name not in configs:
        raise KeyError(f"no circuit breaker named {name!r} is configured")
    return configs[name]


def _row(name: str, now: datetime) -> Breaker:
    row, _ = Breaker.objects.get_or_create(name=name, defaults={"since": now})
    return row


def _circuit(row: Breaker) -> circuit.Circuit:
    return circuit.Circuit(row.state, row.since, row.opened_at, row.retry_at, row.trips,
                           row.probes_started, row.forced)


def calls_of(config: BreakerConfig, state: circuit.Circuit, now: datetime) -> circuit.Calls:
    counts = BreakerCall.objects.filter(
        breaker=config.name, at__gte=circuit.window_start(config, state, now),
    ).aggregate(total=Count("id"), failures=Count("id", filter=Q(failed=True)))
    return circuit.Calls(counts["total"] or 0, counts["failures"] or 0)


def _save(row: Breaker, new: circuit.Circuit, reason: str, actor: str, now: datetime) -> None:
    before = row.state
    row.state, row.since, row.opened_at, row.retry_at = new.state, new.since, new.opened_at, new.retry_at
    row.trips, row.probes_started, row.forced = new.trips, new.probes_started, new.forced
    row.save()
    if before != new.state or actor:
        BreakerTransition.objects.create(breaker=row.name, at=now, from_state=before, to_state=new.state,
                                         reason=reason[:500], actor=actor[:150])


def current(name: str, now: datetime | None = None) -> tuple[Breaker, circuit.Circuit]:
    """The breaker's state after any automatic transition due now, persisted. Call inside
    ``atomic`` with ``lock_name(name)`` locked (admission does; ``refresh`` does it for you).
    A transition to closed or half-open releases held runs (pushed after commit)."""
    now = now or timezone.now()
    config = config_of(name)
    row = _row(name, now)
    state = _circuit(row)
    for _ in range(3):  # open → half-open → (closed | open) may all be due at once
        move = circuit.step(config, state, calls_of(config, state, now), now)
        if move is None:
            break
        _save(row, move.circuit, move.reason, "", now)
        state = move.circuit
    return row, state


def refresh(name: str, now: datetime | None = None) -> circuit.Circuit:
    """Apply due transitions and release what the breaker now admits (worker after an
    outcome of a guarded run; the clock every tick)."""
    now = now or timezone.now()
    with transaction.atomic():
        lock_keys([lock_name(name)])
        row, state = current(name, now)
        _release_admitted(row, state)
    return state


def _release_admitted(row: Breaker, state: circuit.Circuit) -> int:
    config = config_of(row.name)
    if state.state == circuit.CLOSED:
        return flow_release.release_some(HoldReason.BREAKER, row.name, flow_release.batch_size())
    if state.state == circuit.HALF_OPEN:
        return flow_release.release_some(HoldReason.BREAKER, row.name,
                                         config.half_open_probes - state.probes_started)
    return 0


def take_probe(row: Breaker) -> None:
    """A half-open breaker admitted a run: one probe fewer left (under the lock)."""
    row.probes_started += 1
    row.save(update_fields=["probes_started"])


def force_open(name: str, reason: str = "", actor: str = "") -> Breaker:
    """Open by hand: runs are held until ``force_close`` (no automatic probe)."""
    return _force(name, circuit.OPEN, reason or "opened by hand", actor)


def force_close(name: str, reason: str = "", actor: str = "") -> Breaker:
    """Close by hand (trips reset) and release the held runs."""
    return _force(name, circuit.CLOSED, reason or "closed by hand", actor)


def _force(name: str, state: str, reason: str, actor: str) -> Breaker:
    now = timezone.now()
    with transaction.atomic():
        lock_keys([lock_name(name)])
        config_of(name)
        row = _row(name, now)
        new = circuit.force(_circuit(row), state, now)
        _save(row, new, reason, actor, now)
        _release_admitted(row, new)
    return row


def prune(now: datetime | None = None) -> int:
    """Delete calls older than every configured window (bounded by the ``at`` index)."""
    now = now or timezone.now()
    longest = max((c.window for c in breakers_config().values()), default=0.0)
    from datetime import timedelta

    deleted, _ = BreakerCall.objects.filter(at__lt=now - timedelta(seconds=longest + 60)).delete()
    return deleted
