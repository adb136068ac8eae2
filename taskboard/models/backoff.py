"""Exponential backoff with jitter: the retry delay a run row carries (pure, no database).

The ceiling for attempt ``n`` (1-based, the attempt that just failed) is
``min(max_delay, base * factor ** (n - 1))`` and the delay is drawn uniformly from
``[ceiling * (1 - jitter), ceiling]``. ``jitter=1`` is "full jitter" (AWS architecture
blog), which spreads a thundering herd of retries best; ``jitter=0`` is deterministic.

It lives with the models because a run stores its backoff (``TaskRun.backoff``) and the
dispatcher's lease recovery schedules retries from the row alone, without the task.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


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
