"""Tasks for the django.tasks conformance tests (importable by name, like any app's tasks)."""

from __future__ import annotations

from django.tasks import task


@task(max_attempts=3, retry_on=[TypeError], backoff_base=0.0, backoff_max=0.0)
def return_set() -> object:
    # retry_on names TypeError on purpose: a value that is not JSON must stay permanent.
    return {1, 2}


@task(max_attempts=1)
def divide(a: int, b: int) -> float:
    return a / b


def double(x: int) -> int:
    """Decorated by the test for another backend (a plain django.tasks Task)."""
    return 2 * x
