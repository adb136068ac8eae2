"""Flow-control settings: circuit breakers and per-queue limits, parsed and validated.

``settings.py`` parses the environment with these functions at start-up (a bad value stops the
process naming the variable); the rest of taskboard reads the settings lazily through
``breakers_config()`` / ``queue_limits()``, which validate again so ``override_settings`` and
values written in code are held to the same rules. Standard library and Django only: it is
imported by ``settings.py`` before Django is configured.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# The breaker the demo task ``charge`` names (CONTRACT.md): opens when ≥ 50 % of at least 4
# calls in the last 60 s failed; open 10 s; 1 half-open probe.
DEFAULT_BREAKERS: dict[str, dict[str, float]] = {
    "demo-payments": {"failure_rate": 50, "min_calls": 4, "window": 60, "open_for": 10,
                      "half_open_probes": 1},
}

_FIELDS = {"failure_rate", "min_calls", "window", "open_for", "half_open_probes", "max_open_for"}


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    name: str
    failure_rate: float  # percent of calls in the window that trips the breaker
    min_calls: int  # no rate is computed below this many calls
    window: float  # seconds
    open_for: float  # seconds before the first probe; doubles on consecutive trips …
    half_open_probes: int
    max_open_for: float  # … up to this

    def open_duration(self, trips: int) -> float:
        """How long the ``trips``-th consecutive trip keeps the breaker open."""
        return min(self.open_for * 2 ** max(0, trips - 1), self.max_open_for)


def parse_breakers(value: Any, source: str = "TASKBOARD_BREAKERS") -> dict[str, BreakerConfig]:
    """``{"name": {"failure_rate": %, "min_calls": n, "window": s, "open_for": s,
    "half_open_probes": n}}`` (a dict or its JSON text) → configs; ImproperlyConfigured naming
    ``source`` otherwise."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ImproperlyConfigured(f"{source} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{source} must be a JSON object of breaker name → options")
    configs: dict[str, BreakerConfig] = {}
    for name, options in value.items():
        where = f"{source}[{name!r}]"
        if not isinstance(name, str) or not 0 < len(name) <= 100:
            raise ImproperlyConfigured(f"{source}: breaker names are 1 to 100 characters")
        if not isinstance(options, dict) or set(options) - _FIELDS:
            raise ImproperlyConfigured(f"{where} must be an object with keys {sorted(_FIELDS)}")
        try:
            rate = float(options.get("failure_rate", 50))
            min_calls = _whole(options.get("min_calls", 10))
            window = float(options.get("window", 60))
            open_for = float(options.get("open_for", 60))
            probes = _whole(options.get("half_open_probes", 1))
            cap = float(options.get("max_open_for", max(open_for, min(32 * open_for, 3600.0))))
        except (TypeError, ValueError):
            raise ImproperlyConfigured(f"{where}: every option must be a number") from None
        if not 0 < rate <= 100:
            raise ImproperlyConfigured(f"{where}: failure_rate must be a percentage in (0, 100]")
        if min_calls < 1 or probes < 1:
            raise ImproperlyConfigured(f"{where}: min_calls and half_open_probes must be at least 1")
        if window <= 0 or open_for <= 0 or cap < open_for:
            raise ImproperlyConfigured(f"{where}: window and open_for must be positive, "
                                       "max_open_for at least open_for")
        configs[name] = BreakerConfig(name, rate, min_calls, window, open_for, probes, cap)
    return configs


def _whole(value: Any) -> int:
    if isinstance(value, bool) or float(value) != int(value):
        raise ValueError(value)
    return int(value)


def parse_queue_limits(value: Any, source: str = "TASKBOARD_QUEUE_LIMITS") -> dict[str, int]:
    """``"default=10,reports=2"`` (or a dict) → ``{"default": 10, "reports": 2}``."""
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for part in str(value or "").split(","):
            if not part.strip():
                continue
            name, sep, limit = part.partition("=")
            if not sep:
                raise ImproperlyConfigured(f"{source}: {part.strip()!r} is not QUEUE=LIMIT")
            items.append((name.strip(), limit.strip()))
    limits: dict[str, int] = {}
    for name, limit in items:
        try:
            number = _whole(limit)
        except (TypeError, ValueError):
            raise ImproperlyConfigured(f"{source}: the limit of {name!r} must be a whole number") from None
        if not name or number < 1:
            raise ImproperlyConfigured(f"{source}: {name!r} needs a name and a limit of at least 1")
        limits[str(name)] = number
    return limits


def breakers_config() -> dict[str, BreakerConfig]:
    from django.conf import settings

    return parse_breakers(getattr(settings, "TASKBOARD_BREAKERS", DEFAULT_BREAKERS))


def queue_limits() -> dict[str, int]:
    from django.conf import settings

    return parse_queue_limits(getattr(settings, "TASKBOARD_QUEUE_LIMITS", {}))
