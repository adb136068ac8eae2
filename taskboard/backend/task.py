"""``TaskboardTask``: a ``django.tasks`` Task with taskboard's retry and timeout options.

Django 6.1 passes unknown ``@task(**kwargs)`` through to the backend's ``task_class``; unset
options fall back to ``TASKS[alias]["OPTIONS"]``, then to the defaults here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.tasks.base import Task

from taskboard.backend.policy import ExceptionTypes, RetryPolicy, as_exception_types
from taskboard.models import Backoff

_OPTION_DEFAULTS: dict[str, Any] = {
    "max_attempts": 3,
    "timeout": None,
    "backoff_base": 1.0,
    "backoff_factor": 2.0,
    "backoff_max": 300.0,
    "jitter": 1.0,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskboardTask(Task):
    # None means "the backend's OPTIONS default".
    max_attempts: int | None = None
    timeout: float | None = None
    backoff_base: float | None = None
    backoff_factor: float | None = None
    backoff_max: float | None = None
    jitter: float | None = None
    retry_on: ExceptionTypes | type[BaseException] = ()
    give_up_on: ExceptionTypes | type[BaseException] = ()

    def option(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:
            backend = self.get_backend()
            value = backend.options.get(name, _OPTION_DEFAULTS[name])
        return value

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.option("max_attempts"),
            backoff=Backoff(
                base=float(self.option("backoff_base")),
                factor=float(self.option("backoff_factor")),
                max_delay=float(self.option("backoff_max")),
                jitter=float(self.option("jitter")),
            ),
            retry_on=as_exception_types(self.retry_on, "retry_on"),
            give_up_on=as_exception_types(self.give_up_on, "give_up_on"),
        )

    @property
    def effective_timeout(self) -> float | None:
        value = self.option("timeout")
        return None if value is None else float(value)

