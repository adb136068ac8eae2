"""``TaskboardTask``: a ``django.tasks`` Task with taskboard's retry and timeout options.

Django 6.1 passes unknown ``@task(**kwargs)`` through to the backend's ``task_class``; unset
options fall back to ``TASKS[alias]["OPTIONS"]``, then to the defaults here.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from django.tasks.base import Task

from taskboard.backend.policy import ExceptionTypes, RetryPolicy, as_exception_types
from taskboard.flow.config import breakers_config
from taskboard.flow.keys import check_template
from taskboard.flow.keys import resolve as resolve_key
from taskboard.flow.rates import parse_rate
from taskboard.models import Backoff
from taskboard.models.outcomes import HOOK_OPTIONS

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
    # Flow control (taskboard.flow): see validate_flow_options and README "Flow control".
    concurrency_limit: int | None = None
    concurrency_key: str | None = None
    on_limit: str = "wait"
    rate_limit: str | None = None
    rate_key: str | None = None
    breaker: str | None = None
    # Hooks (taskboard.models.outcomes): tasks enqueued with run_id=<this run's id> in the
    # transaction of the run's outcome; see backend.hooks.
    on_success: str | None = None
    on_failure: str | None = None
    on_dead_letter: str | None = None

    def option(self, name: str, defaults: dict[str, Any] | None = None) -> Any:
        """The option as set on the task, else the backend's ``OPTIONS`` (``defaults``, when
        the caller already has them: looking the backend up is most of an option's cost)."""
        value = getattr(self, name)
        if value is None:
            if defaults is None:
                defaults = self.get_backend().options
            value = defaults.get(name, _OPTION_DEFAULTS[name])
        return value

    @property
    def policy(self) -> RetryPolicy:
        defaults = self.get_backend().options
        return RetryPolicy(
            max_attempts=self.option("max_attempts", defaults),
            backoff=Backoff(
                base=float(self.option("backoff_base", defaults)),
                factor=float(self.option("backoff_factor", defaults)),
                max_delay=float(self.option("backoff_max", defaults)),
                jitter=float(self.option("jitter", defaults)),
            ),
            retry_on=as_exception_types(self.retry_on, "retry_on"),
            give_up_on=as_exception_types(self.give_up_on, "give_up_on"),
        )

    @property
    def effective_timeout(self) -> float | None:
        value = self.option("timeout")
        return None if value is None else float(value)


    def validate_flow_options(self) -> None:
        """ValueError naming the option when a flow-control option cannot work."""
        if self.concurrency_limit is not None and (
                isinstance(self.concurrency_limit, bool) or not isinstance(self.concurrency_limit, int)
                or self.concurrency_limit < 1):
            raise ValueError("concurrency_limit must be a whole number of at least 1")
        if self.on_limit not in ("wait", "reject"):
            raise ValueError("on_limit must be 'wait' or 'reject'")
        if self.concurrency_key is not None and self.concurrency_limit is None:
            raise ValueError("concurrency_key needs concurrency_limit")
        if self.rate_key is not None and self.rate_limit is None:
            raise ValueError("rate_key needs rate_limit")
        if self.rate_limit is not None:
            parse_rate(self.rate_limit)
        parameters = self._parameter_names()
        for name in ("concurrency_key", "rate_key"):
            template = getattr(self, name)
            if template is not None:
                try:
                    check_template(template, parameters)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        if self.breaker is not None and self.breaker not in breakers_config():
            raise ValueError(f"breaker {self.breaker!r} is not configured in TASKBOARD_BREAKERS")

    def hook_columns(self) -> dict[str, str] | None:
        """The run's ``hooks`` column: the hooks set on this task, or None."""
        hooks = {name: value for name in HOOK_OPTIONS if (value := getattr(self, name)) is not None}
        return hooks or None

    def _parameter_names(self) -> set[str] | None:
        parameters = inspect.signature(self.func).parameters.values()
        if any(p.kind == p.VAR_KEYWORD for p in parameters):
            return None
        return {p.name for p in parameters if p.kind != p.VAR_POSITIONAL}

    def flow_columns(self, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The run's flow-control columns, keys filled from the bound arguments; KeyError
        naming an argument a key template needs and the call did not bind."""
        columns: dict[str, Any] = {}
        if self.concurrency_limit is None and self.rate_limit is None and self.breaker is None:
            return columns
        leading = [None] if self.takes_context else []
        bound = inspect.signature(self.func).bind_partial(*leading, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        if self.concurrency_limit is not None:
            columns["concurrency_limit"] = self.concurrency_limit
            columns["concurrency_key"] = (resolve_key(self.concurrency_key, arguments)
                                          if self.concurrency_key else self.module_path)
        if self.rate_limit is not None:
            columns["rate_limit"] = self.rate_limit
            columns["rate_key"] = resolve_key(self.rate_key, arguments) if self.rate_key else self.module_path
        if self.breaker is not None:
            columns["breaker"] = self.breaker
        return columns
