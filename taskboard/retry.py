"""Retry policy and error classification: pure functions, no database.

Backoff is exponential with jitter: the ceiling for attempt ``n`` (1-based, the attempt that
just failed) is ``min(max_delay, base * factor ** (n - 1))`` and the delay is drawn uniformly
from ``[ceiling * (1 - jitter), ceiling]``. ``jitter=1`` is "full jitter" (AWS architecture
blog), which spreads a thundering herd of retries best; ``jitter=0`` is deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class PermanentError(Exception):
    """Raise (or subclass) this in a task for a failure that retrying cannot fix."""


class ErrorKind(StrEnum):
    RETRYABLE = "retryable"
    PERMANENT = "permanent"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    LOST = "lost"


# Kinds that may be retried when attempts remain. A cancel is an operator's decision and is
# never undone by a retry; a permanent error would fail the same way again.
RETRYABLE_KINDS = frozenset({ErrorKind.RETRYABLE, ErrorKind.TIMEOUT, ErrorKind.LOST})


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if not self.base >= 0:
            raise ValueError("backoff base must be >= 0 seconds")
        if not self.factor >= 1:
            raise ValueError("backoff factor must be >= 1")
        if not self.max_delay >= self.base:
            raise ValueError("backoff max_delay must be >= base")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def ceiling(self, attempt: int) -> float:
        # Cap the exponent first: factor ** 1000 would overflow a float.
        exponent = min(max(attempt - 1, 0), 64)
        return min(self.max_delay, self.base * self.factor**exponent)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        ceiling = self.ceiling(attempt)
        low = ceiling * (1 - self.jitter)
        return (rng or random).uniform(low, ceiling)

    def as_dict(self) -> dict[str, float]:
        return {
            "base": self.base,
            "factor": self.factor,
            "max_delay": self.max_delay,
            "jitter": self.jitter,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Backoff:
        if not data:
            return cls()
        return cls(**{key: float(data[key]) for key in cls.__slots__ if key in data})


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

    def classify(self, exc: BaseException) -> ErrorKind:
        if isinstance(exc, PermanentError):
            return ErrorKind.PERMANENT
        if self.give_up_on and isinstance(exc, self.give_up_on):
            return ErrorKind.PERMANENT
        if self.retry_on and not isinstance(exc, self.retry_on):
            return ErrorKind.PERMANENT
        return ErrorKind.RETRYABLE


def should_retry(kind: ErrorKind, attempt: int, max_attempts: int) -> bool:
    return kind in RETRYABLE_KINDS and attempt < max_attempts
