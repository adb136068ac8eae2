"""Rate limits: ``"N/s"``, ``"N/m"``, ``"N/h"`` and the sliding window (pure).

A start is admitted when fewer than N starts of its rate key were admitted in the last
period (a sliding log of ``RateStart`` rows, not a fixed bucket: no burst of 2N across a
bucket boundary).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}
_FORMAT = re.compile(r"^\s*(\d+)\s*/\s*([smh])\s*$")
LONGEST_PERIOD = max(_PERIODS.values())


@dataclass(frozen=True, slots=True)
class Rate:
    count: int
    period: float  # seconds

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.period)


def parse_rate(text: str) -> Rate:
    """``"10/m"`` → ``Rate(10, 60.0)``; ValueError for anything else."""
    match = _FORMAT.match(text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) < 1:
        raise ValueError(f"rate_limit must look like '10/s', '10/m' or '10/h' (N ≥ 1), not {text!r}")
    return Rate(int(match.group(1)), _PERIODS[match.group(2)])


def admits(rate: Rate, starts_in_window: int) -> bool:
    return starts_in_window < rate.count


def next_free_at(rate: Rate, starts: Sequence[datetime], now: datetime) -> datetime:
    """When the window next has room, given the admitted ``starts`` (any order)."""
    recent = sorted(s for s in starts if s > rate.window_start(now))
    if len(recent) < rate.count:
        return now
    return recent[len(recent) - rate.count] + timedelta(seconds=rate.period)
