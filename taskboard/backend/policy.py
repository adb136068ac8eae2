"""A task's retry policy: how many attempts, which backoff, which errors are permanent.

Pure classification, no database; the backoff itself is ``models.Backoff`` (a run row
carries it, see there).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from taskboard.exceptions import PermanentError
from taskboard.models import Backoff, Outcome

ExceptionTypes = tuple[type[BaseException], ...]


def as_exception_types(value: type[BaseException] | Iterable[type[BaseException]] | None,
                       name: str) -> ExceptionTypes:
    if value is None:
        return ()
    items = (value,) if isinstance(value, type) else tuple(value)
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise TypeError(f"{name} must be exception classes, got {item!r}")
    return items


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff: Backoff = field(default_factory=Backoff)
    # When set, only these exceptions are retried; everything else is permanent.
    retry_on: ExceptionTypes = ()
    # These are always permanent (checked before retry_on).
    give_up_on: ExceptionTypes = ()

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise ValueError("max_attempts must be a whole number >= 1")

    def classify(self, exc: BaseException) -> Outcome:
        if isinstance(exc, PermanentError):
            return Outcome.PERMANENT
        if self.give_up_on and isinstance(exc, self.give_up_on):
            return Outcome.PERMANENT
        if self.retry_on and not isinstance(exc, self.retry_on):
            return Outcome.PERMANENT
        return Outcome.RETRYABLE
