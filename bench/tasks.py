"""taskboard tasks used only by the benchmark (imported by workers via autodiscovery)."""

from __future__ import annotations

from typing import Any

from django.tasks import task


# Retry options pass through Django 6.1's ``@task(**kwargs)``, which django-stubs does not model.
@task(takes_context=True, max_attempts=2, backoff_base=1.0, jitter=0.0)  # type: ignore[call-overload]
def fail_once(context: Any) -> int:
    """Fails attempt 1, succeeds attempt 2; with base 1.0 and jitter 0 the retry is due 1.0 s
    after the failure is recorded (TaskRun.run_after)."""
    if context.attempt == 1:
        raise ConnectionError("bench: planned failure of attempt 1")
    return context.attempt
