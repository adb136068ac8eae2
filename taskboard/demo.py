"""Demo tasks (names and behaviour fixed by CONTRACT.md) and the first-start demo mix."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.tasks import task
from django.utils import timezone

from taskboard.exceptions import PermanentError

MAX_SECONDS = 24 * 3600

# The retry options below reach TaskboardTask through Django 6.1's ``@task(**kwargs)``
# pass-through, which django-stubs does not model yet: hence the ``call-overload`` ignores.


def _check_seconds(name: str, value: float) -> None:
    if not 0 <= value <= MAX_SECONDS:
        raise PermanentError(f"{name} must be between 0 and {MAX_SECONDS}, got {value}")


@task
def noop() -> None:
    return None


@task(takes_context=True)
def sleep(context: Any, seconds: float) -> dict[str, float]:
    _check_seconds("seconds", seconds)
    for tenth in range(1, 11):
        time.sleep(seconds / 10)
        context.progress(tenth * 10, f"slept {seconds * tenth / 10:g}s of {seconds:g}s")
    return {"slept": seconds}


@task(takes_context=True, max_attempts=5, backoff_base=1.0, backoff_max=30.0)  # type: ignore[call-overload]
def flaky(context: Any, fail_times: int) -> dict[str, int]:
    if context.attempt <= fail_times:
        raise ConnectionError(
            f"simulated connection reset on attempt {context.attempt} of {fail_times} failing"
        )
    return {"attempts": context.attempt}


@task
def fail(message: str) -> None:
    raise PermanentError(message)


@task(takes_context=True, max_attempts=5, backoff_base=0.5, backoff_max=10.0)  # type: ignore[call-overload]
def steps(context: Any, steps: int, step_seconds: float) -> dict[str, int]:
    if not 0 <= steps <= 100_000:
        raise PermanentError(f"steps must be between 0 and 100000, got {steps}")
    _check_seconds("step_seconds", step_seconds)
    state = context.checkpoint or {}
    done, step_runs = int(state.get("done", 0)), int(state.get("step_runs", 0))
    resumed_from = done
    for i in range(done, steps):
        time.sleep(step_seconds)
        step_runs += 1
        context.save_checkpoint({"done": i + 1, "step_runs": step_runs})
        context.progress((i + 1) * 100 / steps, f"step {i + 1} of {steps}")
    return {"steps": steps, "step_runs": step_runs, "resumed_from": resumed_from}


@task(concurrency_limit=2, concurrency_key="user:{user_id}")  # type: ignore[call-overload]
def per_user(user_id: int, seconds: float) -> dict[str, float]:
    """At most 2 running per user, across every host; the rest wait ``held``."""
    _check_seconds("seconds", seconds)
    time.sleep(seconds)
    return {"user_id": user_id, "slept": seconds}


@task(breaker="demo-payments", max_attempts=3, backoff_base=1.0, backoff_max=10.0)  # type: ignore[call-overload]
def charge(ok: bool) -> dict[str, bool]:
    """Guarded by the breaker ``demo-payments``: a retryable failure when ``ok`` is false."""
    if not ok:
        raise ConnectionError("simulated payment gateway unreachable")
    return {"charged": True}


def seed() -> int:
    """A small realistic mix so a new user sees a living system on first start."""
    runs = [
        noop.enqueue(),
        noop.enqueue(),
        sleep.enqueue(seconds=3),
        flaky.enqueue(fail_times=2),
        fail.enqueue(message="card declined for order 1042"),
        steps.enqueue(steps=20, step_seconds=1.5),
        sleep.using(run_after=timezone.now() + timedelta(seconds=20)).enqueue(seconds=2),
    ]
    return len(runs)
