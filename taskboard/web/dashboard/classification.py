"""Why a failed attempt was classified as it was, in words an operator can check.

"retryable: ConnectionError is not in give_up_on; attempt 3 of 5; next at 14:02:11" is built
from the attempt row (its outcome, exception, number and ``retry_at``), the run row (the
``max_attempts`` and timeout that applied) and the task's retry policy as the code defines it
now (``RetryPolicy.classify`` is the rule; this only says which branch of it applied).

The exception class is looked up only among modules already imported (a task's exceptions are
imported with its module at start-up); a stored path is never imported. When the class is not
available, or today's policy would decide differently (the code changed since), the recorded
outcome stands and the text says so.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from taskboard.backend.policy import RetryPolicy
from taskboard.exceptions import PermanentError
from taskboard.models import Outcome, TaskAttempt, TaskRun


def loaded_exception(path: str) -> type[BaseException] | None:
    """The exception class ``module.Qual.Name`` names, if its module is imported already."""
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module = sys.modules.get(".".join(parts[:split]))
        if module is None:
            continue
        value: object = module
        for name in parts[split:]:
            value = getattr(value, name, None)
        if isinstance(value, type) and issubclass(value, BaseException):
            return value
        return None
    return None


def short(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def names(types: Iterable[type[BaseException]]) -> str:
    return ", ".join(kind.__name__ for kind in types) or "none"


def at(moment: datetime) -> str:
    """14:02:11 today, the date too on any other day (in the current time zone)."""
    local = timezone.localtime(moment)
    same_day = local.date() == timezone.localdate()
    return local.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S")


def _matched(kind: type[BaseException], types: tuple[type[BaseException], ...]) -> str:
    """How ``kind`` is in ``types``: itself, or a subclass of which."""
    if kind in types:
        return f"{kind.__name__} is in"
    parent = next(t for t in types if issubclass(kind, t))
    return f"{kind.__name__} is a {parent.__name__}, which is in"


def permanent_rule(kind: type[BaseException], policy: RetryPolicy) -> str | None:
    """The rule of ``RetryPolicy.classify`` that makes ``kind`` permanent, in words; None when
    it is retryable. ``classify`` tests an instance, and a stored attempt has only the class,
    so this walks the same rules in the same order with ``issubclass`` (a test holds the two
    to the same answers)."""
    if issubclass(kind, PermanentError):
        via = "" if kind is PermanentError else f"{kind.__name__} is a PermanentError; "
        return f"{via}a PermanentError is never retried"
    if policy.give_up_on and issubclass(kind, policy.give_up_on):
        return f"{_matched(kind, policy.give_up_on)} give_up_on"
    if policy.retry_on and not issubclass(kind, policy.retry_on):
        return f"{kind.__name__} is not in retry_on ({names(policy.retry_on)})"
    return None


def permanent_reason(kind: type[BaseException] | None, policy: RetryPolicy | None, path: str) -> str:
    """Which rule made ``path`` permanent; the recorded verdict when no rule explains it."""
    if kind is None or policy is None:
        return f"the worker recorded {short(path)} as permanent (a PermanentError, in give_up_on or not in retry_on)"
    return permanent_rule(kind, policy) or (
        f"the worker recorded {kind.__name__} as permanent; the task's policy today would retry it")


def retryable_reason(kind: type[BaseException] | None, policy: RetryPolicy | None, path: str) -> str:
    name = kind.__name__ if kind is not None else short(path)
    if policy is None:
        return f"the worker recorded {name} as retryable"
    if kind is not None and permanent_rule(kind, policy) is not None:
        return f"the worker recorded {name} as retryable; the task's policy today would give up on it"
    reason = f"{name} is not in give_up_on" if policy.give_up_on else f"{name} is not a PermanentError"
    if policy.retry_on:
        reason += f" and {_matched(kind, policy.retry_on) if kind else f'{name} is in'} retry_on"
    return reason


def next_step(attempt: TaskAttempt, run: TaskRun) -> str:
    position = f"attempt {attempt.number} of {run.max_attempts}"
    if attempt.retry_at is not None:
        return f"{position}; next at {at(attempt.retry_at)}"
    if attempt.outcome in (Outcome.RETRYABLE, Outcome.TIMEOUT, Outcome.LOST) and attempt.number >= run.max_attempts:
        return f"{position}, the last one"
    if attempt.outcome == Outcome.PERMANENT:
        return f"{position}; not retried"
    return position


def explain(attempt: TaskAttempt, run: TaskRun, policy: RetryPolicy | None) -> str:
    """One line: the outcome, the rule that decided it, and what happened next."""
    kind = loaded_exception(attempt.exception) if attempt.exception else None
    if attempt.outcome == Outcome.PERMANENT:
        reason = permanent_reason(kind, policy, attempt.exception)
    elif attempt.outcome == Outcome.TIMEOUT:
        limit = f"its {run.timeout:g} s timeout" if run.timeout else "its timeout"
        reason = f"the attempt ran past {limit}; a timeout is retried"
    elif attempt.outcome == Outcome.LOST:
        reason = "its worker stopped renewing the lease; a lost attempt is retried"
    elif attempt.outcome == Outcome.RETRYABLE:
        reason = retryable_reason(kind, policy, attempt.exception)
    else:
        return str(attempt.outcome)
    return f"{attempt.outcome}: {reason}; {next_step(attempt, run)}"
