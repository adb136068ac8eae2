"""Module-level tasks used by the tests (importable by worker subprocesses too)."""

from __future__ import annotations

import time
from typing import Any

from django.tasks import task

from taskboard.exceptions import PermanentError


class Unrecoverable(Exception):
    pass


@task
def add(a: int, b: int) -> int:
    return a + b


@task(takes_context=True, max_attempts=4, backoff_base=0.0, backoff_max=0.0, jitter=0.0)
def fail_until(context: Any, succeed_on: int) -> dict[str, int]:
    if context.attempt < succeed_on:
        raise ConnectionError(f"attempt {context.attempt} failed")
    return {"attempt": context.attempt}


@task(max_attempts=3, give_up_on=[Unrecoverable], backoff_base=0.0, backoff_max=0.0)
def raise_unrecoverable() -> None:
    raise Unrecoverable("row 17 is corrupt")


@task(max_attempts=3, retry_on=[ConnectionError], backoff_base=0.0, backoff_max=0.0)
def raise_value_error() -> None:
    raise ValueError("bad value 'x'")


@task(max_attempts=2)
def raise_permanent() -> None:
    raise PermanentError("no such account 99")


@task(takes_context=True, timeout=1, max_attempts=2, backoff_base=0.0, backoff_max=0.0)
def sleep_past_timeout(context: Any, seconds: float) -> dict[str, float]:
    time.sleep(seconds)
    return {"slept": seconds}


@task(takes_context=True)
def swallow_everything(context: Any, seconds: float) -> str:
    """A hostile handler: it catches BaseException and keeps sleeping."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except BaseException:  # noqa: BLE001
            pass
    return "survived"


@task
def return_not_json() -> object:
    return object()


@task(takes_context=True)
def report(context: Any, n: int) -> dict[str, Any]:
    for i in range(n):
        context.progress(100 * (i + 1) / n, f"item {i + 1}")
    context.save_checkpoint({"done": n})
    return {"attempt": context.attempt, "checkpoint": context.checkpoint}


@task
async def async_add(a: int, b: int) -> int:
    return a + b


@task(queue_name="default", max_attempts=1)
def echo(value: Any = None, *, label: str = "") -> Any:
    return {"value": value, "label": label}


@task(max_attempts=1)
def exit_process(status: int) -> None:
    """Ends the worker process at once, as a crash in C code or ``os._exit`` would."""
    import os

    os._exit(status)


@task(takes_context=True)
def wait_for_path(context: Any, path: str, limit: float = 120.0) -> bool:
    """Block until ``path`` exists: a test holds a batch of runs, then releases them at once."""
    from pathlib import Path

    deadline = time.monotonic() + limit
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        context.raise_if_cancelled()
        time.sleep(0.05)
    return True


# --- flow control (tests/flow) ---------------------------------------------------------------

@task(concurrency_limit=1, concurrency_key="account:{account}", max_attempts=1)
def one_per_account(account: int, path: str = "") -> int:
    """At most one running per account; waits for ``path`` (when given) so a slot stays taken."""
    from pathlib import Path

    deadline = time.monotonic() + 120
    while path and not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return account


@task(concurrency_limit=1, concurrency_key="account:{account}", max_attempts=1)
def fail_per_account(account: int) -> None:
    """Shares ``one_per_account``'s keys; fails at once (dead-lettered: one attempt)."""
    raise ValueError(f"account {account} failed")


@task(concurrency_limit=2, concurrency_key="tenant:{tenant}", on_limit="reject")
def reject_over_two(tenant: str) -> str:
    return tenant


@task(rate_limit="2/h", rate_key="api:{api}")
def two_per_hour(api: str) -> str:
    return api


@task(breaker="demo-payments", max_attempts=5, backoff_base=0.0, backoff_max=0.0, jitter=0.0)
def guarded(ok: bool, permanent: bool = False) -> bool:
    if permanent:
        raise PermanentError("bad request")
    if not ok:
        raise ConnectionError("gateway down")
    return True


@task(concurrency_limit=1, max_attempts=1)
def one_at_a_time(seconds: float = 0.0) -> float:
    time.sleep(seconds)
    return seconds
