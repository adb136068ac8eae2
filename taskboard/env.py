"""Reading settings from the environment: one function per kind of value.

Every setting that comes from outside goes through one of these, so a wrong value stops the
process at start-up with a message naming the variable, the value and what is expected,
instead of surfacing later as a confusing failure. An unset or empty variable means "use the
default". ``EnvError`` is an ``ImproperlyConfigured`` (what Django raises for bad settings)
and a ``ValueError``.

Imported by ``settings.py`` before Django is configured: standard library and
``django.core.exceptions`` only.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Callable, Collection, Mapping

from django.core.exceptions import ImproperlyConfigured

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


class EnvError(ImproperlyConfigured, ValueError):
    """An environment variable holds a value its setting cannot take."""


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None or value == "" else value


def _convert[T](name: str, raw: str, convert: Callable[[str], T], what: str) -> T:
    try:
        return convert(raw)
    except ValueError:
        raise EnvError(f"{name}={raw!r} is not {what}") from None


def env_str(name: str, default: str) -> str:
    return _raw(name) or default


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise EnvError(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_list(name: str, default: str) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    return [item.strip() for item in (_raw(name) or default).split(",") if item.strip()]


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = _raw(name)
    if raw is None:
        return default
    value = _convert(name, raw, int, "a whole number")
    if value < minimum:
        raise EnvError(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_float(name: str, default: float, minimum: float | None = None) -> float:
    raw = _raw(name)
    if raw is None:
        return default
    value = _convert(name, raw, float, "a number")
    if value != value or value in (float("inf"), float("-inf")):  # NaN or infinite
        raise EnvError(f"{name}={raw!r} is not a finite number")
    if minimum is not None and value < minimum:
        raise EnvError(f"{name}={raw!r} must be at least {minimum:g}")
    return value


def env_choice(name: str, default: str, choices: Collection[str], *, upper: bool = False) -> str:
    """One of ``choices``, compared case-insensitively; returned lower-case (or upper-case)."""
    raw = _raw(name)
    if raw is None:
        return default
    value = raw.strip().upper() if upper else raw.strip().lower()
    if value not in choices:
        raise EnvError(f"{name}={raw!r}: use one of {', '.join(sorted(choices))}")
    return value


def env_url(name: str, schemes: Collection[str], hint: str = "") -> str:
    """A URL with one of ``schemes`` (``"redis"`` allows ``redis://…``); "" when unset."""
    raw = _raw(name)
    if raw is None:
        return ""
    if not raw.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        allowed = ", ".join(f"{scheme}://" for scheme in schemes)
        raise EnvError(f"{name}={raw!r}: only {allowed} URLs are supported" + (f" ({hint})" if hint else ""))
    return raw


def env_json_object(name: str) -> dict[str, object]:
    """A JSON object (``{"key": …}``); ``{}`` when unset."""
    raw = _raw(name)
    if raw is None:
        return {}
    import json

    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise EnvError(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise EnvError(f"{name} must be a JSON object, not {type(value).__name__}")
    return value


def env_time_zone(name: str, default: str) -> str:
    """An IANA time zone name (``Europe/Berlin``, ``UTC``)."""
    value = env_str(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise EnvError(f"{name}={value!r} is not a known time zone (use an IANA name such as UTC)") from None
    return value


def env_proxy_header(name: str) -> tuple[str, str] | None:
    """``SECURE_PROXY_SSL_HEADER``: ``X-Forwarded-Proto=https`` (a header and the value that
    means HTTPS; ``HTTP_X_FORWARDED_PROTO,https`` works too) as Django's
    ``("HTTP_X_FORWARDED_PROTO", "https")``; None when unset."""
    raw = _raw(name)
    if raw is None:
        return None
    header, sep, value = raw.partition("=" if "=" in raw else ",")
    header, value = header.strip(), value.strip()
    if not sep or not header or not value or not all(c.isalnum() or c in "-_" for c in header):
        raise EnvError(f"{name}={raw!r} is not HEADER=VALUE (e.g. X-Forwarded-Proto=https)")
    meta = header.upper().replace("-", "_")
    return (meta if meta.startswith("HTTP_") else f"HTTP_{meta}", value)


LOCKOUT_PARAMETERS = frozenset({"username", "ip_address", "user_agent"})


def env_lockout_parameters(name: str, default: str) -> list[str | list[str]]:
    """django-axes' ``AXES_LOCKOUT_PARAMETERS``: comma-separated alternatives, each one
    parameter or several joined by ``+`` (counted together): ``username+ip_address``."""
    raw = env_str(name, default)
    parsed: list[str | list[str]] = []
    for alternative in raw.split(","):
        names = [part.strip() for part in alternative.split("+")]
        if not all(n in LOCKOUT_PARAMETERS for n in names):
            raise EnvError(f"{name}={raw!r}: use {', '.join(sorted(LOCKOUT_PARAMETERS))}, "
                           "joined by + (together) and , (either)")
        parsed.append(names[0] if len(names) == 1 else names)
    return parsed


def env_overrides(prefix: str, defaults: Mapping[str, object]) -> dict[str, object]:
    """``<prefix><KEY>`` variables for the keys of ``defaults``, each read as its default's
    type (a bool, a number of seconds, a whole number at least 1); unset keys are left out."""
    values: dict[str, object] = {}
    for key, default in defaults.items():
        name = f"{prefix}{key}"
        if _raw(name) is None:
            continue
        if isinstance(default, bool):
            values[key] = env_bool(name, default)
        elif isinstance(default, float):
            values[key] = env_float(name, default)
        else:
            values[key] = env_int(name, int(default), minimum=1)  # type: ignore[call-overload]
    return values
