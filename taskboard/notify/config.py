"""Alert settings: rule thresholds, notification timing, channels — parsed and validated.

``settings.py`` reads the environment through ``settings_from_env()`` at start-up (a bad value
stops the process naming the variable); the rest of taskboard reads the settings lazily through
``alerts_config()`` / ``channels()``, which validate again so ``override_settings`` and values
written in code are held to the same rules. ``check_rule_values`` is also what the admin's rule
overrides (``AlertRule`` rows) are validated with. Standard library and Django's exceptions
only: imported by ``settings.py`` before Django is configured.

``TASKBOARD_ALERTS`` is a JSON object. Top-level timing keys (seconds), as in Prometheus
Alertmanager: ``group_wait`` (30: the first notification of a new alert waits this long, so a
burst is sent once with its count), ``group_interval`` (300: an alert whose group grew is
notified again at most this often), ``repeat_interval`` (14400: an unchanged firing alert is
repeated this often); ``interval`` (5: how often the clock evaluates), ``enabled`` (true);
deliveries: ``delivery_attempts`` (6), ``delivery_backoff_max`` (600 s), ``delivery_timeout``
(10 s per HTTP/SMTP call), ``queue`` (the queue delivery runs use; default the first configured).
Any other key is a rule (``"failure_rate"``) or a rule for one queue, task or breaker
(``"queue_wait:reports"``) with the fields of ``RULE_FIELDS``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# Each built-in rule and the fields it takes. ``threshold`` means: failure_rate — percent of
# finished runs that failed; queue_wait — the SLO in seconds; stuck — the longest expected run
# time in seconds of a run without a timeout; schedule_missed — seconds a fire time may be
# overdue. ``min_count``: dead letters in a group (dead_letter), finished runs in the window
# (failure_rate). ``window``: seconds looked back (schedule_missed: for fires that failed).
RULE_FIELDS: dict[str, frozenset[str]] = {
    "dead_letter": frozenset({"enabled", "min_count", "window"}),
    "failure_rate": frozenset({"enabled", "threshold", "min_count", "window"}),
    "queue_wait": frozenset({"enabled", "threshold"}),
    "no_workers": frozenset({"enabled"}),
    "breaker_open": frozenset({"enabled"}),
    "stuck": frozenset({"enabled", "threshold"}),
    "schedule_missed": frozenset({"enabled", "threshold", "window"}),
}
# What a rule's scope names (the part after ":" in TASKBOARD_ALERTS, AlertRule.scope).
RULE_SCOPES = {"dead_letter": "task", "failure_rate": "task", "queue_wait": "queue", "no_workers": "queue",
               "breaker_open": "breaker", "stuck": "task", "schedule_missed": "schedule"}
# Fields that only the whole rule may set: they shape the rule's one query.
RULE_LEVEL_ONLY = frozenset({"window"})

MAX_WINDOW = {"dead_letter": 30 * 86400.0, "failure_rate": 86400.0, "schedule_missed": 7 * 86400.0}
TIMING_KEYS = {"interval": 5.0, "group_wait": 30.0, "group_interval": 300.0, "repeat_interval": 14400.0,
               "delivery_backoff_max": 600.0, "delivery_timeout": 10.0}
OTHER_KEYS = {"enabled", "delivery_attempts", "queue"}


@dataclass(frozen=True, slots=True)
class RuleSettings:
    enabled: bool = True
    threshold: float | None = None
    min_count: int | None = None
    window: float | None = None

    def merged(self, values: Mapping[str, Any]) -> RuleSettings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


RULE_DEFAULTS: dict[str, RuleSettings] = {
    "dead_letter": RuleSettings(min_count=1, window=7 * 86400.0),
    "failure_rate": RuleSettings(threshold=50.0, min_count=10, window=600.0),
    "queue_wait": RuleSettings(threshold=300.0),
    "no_workers": RuleSettings(),
    "breaker_open": RuleSettings(),
    "stuck": RuleSettings(threshold=3600.0),
    "schedule_missed": RuleSettings(threshold=120.0, window=3600.0),
}


@dataclass(frozen=True)
class AlertsConfig:
    enabled: bool = True
    interval: float = 5.0
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 14400.0
    delivery_attempts: int = 6
    delivery_backoff_max: float = 600.0
    delivery_timeout: float = 10.0
    queue: str = ""
    # (rule, scope) -> fields set in the settings; scope "" is the whole rule
    rules: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def rule(self, name: str, scope: str = "", overrides: Mapping[tuple[str, str], Mapping[str, Any]] = {},  # noqa: B006
             ) -> RuleSettings:
        """The effective settings of ``name`` for ``scope``: defaults, then the settings for the
        whole rule and for the scope, then the admin's overrides likewise (later wins)."""
        result = RULE_DEFAULTS[name]
        for layer in (self.rules, overrides):
            result = result.merged(layer.get((name, ""), {}))
            if scope:
                scoped = {k: v for k, v in layer.get((name, scope), {}).items() if k not in RULE_LEVEL_ONLY}
                result = result.merged(scoped)
        return result


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ImproperlyConfigured(f"{where} must be a finite number")
    return float(value)


def check_rule_values(rule: str, values: Mapping[str, Any], where: str, *, scoped: bool) -> dict[str, Any]:
    """``values`` for rule ``rule`` (None = not set), validated and normalised; ImproperlyConfigured
    naming ``where`` otherwise. ``scoped``: the values are for one queue/task/breaker."""
    if rule not in RULE_FIELDS:
        raise ImproperlyConfigured(f"{where}: unknown rule {rule!r}; rules are {', '.join(RULE_FIELDS)}")
    allowed = RULE_FIELDS[rule] - (RULE_LEVEL_ONLY if scoped else frozenset())
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in allowed:
            extra = " (only for the whole rule)" if name in RULE_LEVEL_ONLY and scoped else ""
            raise ImproperlyConfigured(f"{where}: {rule} takes {', '.join(sorted(allowed))}, not {name!r}{extra}")
        if name == "enabled":
            if not isinstance(value, bool):
                raise ImproperlyConfigured(f"{where}: enabled must be true or false")
            clean[name] = value
        elif name == "min_count":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
                raise ImproperlyConfigured(f"{where}: min_count must be a whole number from 1 to 1000000")
            clean[name] = value
        elif name == "threshold":
            number = _number(value, f"{where}: threshold")
            if rule == "failure_rate" and not 0 < number <= 100:
                raise ImproperlyConfigured(f"{where}: the failure_rate threshold is a percentage in (0, 100]")
            if rule != "failure_rate" and not 0 < number <= 30 * 86400:
                raise ImproperlyConfigured(f"{where}: the {rule} threshold is seconds, more than 0 and at most 30 days")
            clean[name] = number
        elif name == "window":
            number = _number(value, f"{where}: window")
            if not 60 <= number <= MAX_WINDOW[rule]:
                raise ImproperlyConfigured(f"{where}: window is seconds, from 60 to {MAX_WINDOW[rule]:g}")
            clean[name] = number
    return clean


def parse_alerts(value: Any, source: str = "TASKBOARD_ALERTS") -> AlertsConfig:
    """``TASKBOARD_ALERTS`` (a dict or its JSON text; "" = defaults) → ``AlertsConfig``."""
    if isinstance(value, str):
        if not value.strip():
            return AlertsConfig()
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ImproperlyConfigured(f"{source} is not JSON: {exc}") from None
    if value is None:
        return AlertsConfig()
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{source} must be a JSON object")
    top: dict[str, Any] = {}
    rules: dict[tuple[str, str], dict[str, Any]] = {}
    for key, item in value.items():
        where = f"{source}[{key!r}]"
        if key in TIMING_KEYS:
            number = _number(item, where)
            if not 0 < number <= 30 * 86400:
                raise ImproperlyConfigured(f"{where} must be seconds, more than 0 and at most 30 days")
            top[key] = number
        elif key == "enabled":
            if not isinstance(item, bool):
                raise ImproperlyConfigured(f"{where} must be true or false")
            top[key] = item
        elif key == "delivery_attempts":
            if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= 100:
                raise ImproperlyConfigured(f"{where} must be a whole number from 1 to 100")
            top[key] = item
        elif key == "queue":
            if not isinstance(item, str) or len(item) > 64:
                raise ImproperlyConfigured(f"{where} must be a queue name")
            top[key] = item
        else:
            rule, _, scope = str(key).partition(":")
            if not isinstance(item, dict):
                raise ImproperlyConfigured(f"{where} must be an object of rule settings")
            if len(scope) > 255:
                raise ImproperlyConfigured(f"{where}: a scope is at most 255 characters")
            rules[(rule, scope)] = check_rule_values(rule, item, where, scoped=bool(scope))
    config = AlertsConfig(**top, rules=rules)
    if config.group_interval < config.interval or config.repeat_interval < config.group_interval:
        raise ImproperlyConfigured(f"{source}: need interval ≤ group_interval ≤ repeat_interval")
    return config


def alerts_config() -> AlertsConfig:
    """``settings.TASKBOARD_ALERTS``, read now (override_settings works), validated."""
    from django.conf import settings

    return parse_alerts(getattr(settings, "TASKBOARD_ALERTS", None))


# --- channels -------------------------------------------------------------------------------------

SECRET_PREFIX = "whsec_"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_webhook_secret(value: str, source: str = "TASKBOARD_WEBHOOK_SECRET") -> str:
    """A ``whsec_<base64>`` secret of 24 to 64 bytes (the spec's range); the message never
    repeats the value."""
    if not value.startswith(SECRET_PREFIX):
        raise ImproperlyConfigured(f"{source} must start with {SECRET_PREFIX!r} (generate one with "
                                   "`manage.py taskboard_token --webhook-secret`)")
    try:
        raw = base64.b64decode(value[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{source}: the part after {SECRET_PREFIX!r} is not base64") from None
    if not 24 <= len(raw) <= 64:
        raise ImproperlyConfigured(f"{source} must hold 24 to 64 bytes (it holds {len(raw)})")
    return value


def check_http_url(value: str, source: str, *, path_allowed: bool = True) -> str:
    """An absolute http(s) URL with a host; no query or fragment unless ``path_allowed``."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ImproperlyConfigured(f"{source} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImproperlyConfigured(f"{source} must be an http:// or https:// URL with a host")
    if not path_allowed and (parts.query or parts.fragment):
        raise ImproperlyConfigured(f"{source} must not have a query or fragment")
    return value


def check_email(value: str, source: str) -> str:
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    try:
        validate_email(value)
    except ValidationError:
        raise ImproperlyConfigured(f"{source}: {value!r} is not an email address") from None
    return value


def check_apprise_url(value: str, source: str) -> str:
    """An Apprise URL that Apprise can parse. The message names the scheme, never the URL (it
    holds tokens)."""
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if not scheme:
        raise ImproperlyConfigured(f"{source}: {value[:12]!r}… is not an Apprise URL (scheme://…)")
    import apprise  # only when Apprise URLs are configured: it takes ~0.2 s to import

    if not apprise.Apprise().add(value):
        raise ImproperlyConfigured(f"{source}: Apprise cannot use the {scheme}:// URL (unknown scheme or "
                                   "missing parts; see https://github.com/caronc/apprise/wiki)")
    return value


def apprise_channel(url: str) -> str:
    """The channel name of one Apprise URL: stable, and without the URL's tokens."""
    return "apprise:" + hashlib.sha256(url.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Channels:
    webhook_url: str = ""
    webhook_secret: str = ""
    emails: tuple[str, ...] = ()
    apprise_urls: tuple[str, ...] = ()
    base_url: str = ""

    def names(self) -> list[str]:
        """Where a notification goes: one delivery run per name."""
        names = ["webhook"] if self.webhook_url else []
        if self.emails:
            names.append("email")
        return names + [apprise_channel(url) for url in self.apprise_urls]

    def apprise_url(self, channel: str) -> str | None:
        return next((url for url in self.apprise_urls if apprise_channel(url) == channel), None)


def check_channels(webhook_url: str, secret: str, emails: list[str], apprise_urls: list[str],
                   base_url: str) -> Channels:
    """Every channel setting validated together (a webhook URL needs its secret)."""
    if webhook_url:
        check_http_url(webhook_url, "TASKBOARD_ALERT_WEBHOOK_URL")
        if not secret:
            raise ImproperlyConfigured("TASKBOARD_ALERT_WEBHOOK_URL is set but TASKBOARD_WEBHOOK_SECRET is not; "
                                       "generate one with `manage.py taskboard_token --webhook-secret`")
    if secret:
        check_webhook_secret(secret)
    for address in emails:
        check_email(address, "TASKBOARD_ALERT_EMAILS")
    for i, url in enumerate(apprise_urls):
        check_apprise_url(url, f"TASKBOARD_ALERT_URLS (item {i + 1})")
    if base_url:
        check_http_url(base_url, "TASKBOARD_BASE_URL", path_allowed=False)
    return Channels(webhook_url, secret, tuple(emails), tuple(apprise_urls), base_url.rstrip("/"))


def channels() -> Channels:
    """The channels configured now (from ``settings``); alert e-mail falls back to ``ADMINS``."""
    from django.conf import settings

    emails = list(getattr(settings, "TASKBOARD_ALERT_EMAILS", None) or [])
    if not emails:
        # Django 6 takes ADMINS as addresses; older (name, address) pairs still work.
        emails = [a[1] if isinstance(a, list | tuple) else a for a in getattr(settings, "ADMINS", None) or []]
    return Channels(
        webhook_url=getattr(settings, "TASKBOARD_ALERT_WEBHOOK_URL", "") or "",
        webhook_secret=getattr(settings, "TASKBOARD_WEBHOOK_SECRET", "") or "",
        emails=tuple(emails),
        apprise_urls=tuple(getattr(settings, "TASKBOARD_ALERT_URLS", None) or []),
        base_url=(getattr(settings, "TASKBOARD_BASE_URL", "") or "").rstrip("/"),
    )


@dataclass(frozen=True)
class EnvSettings:
    """What ``settings.py`` assigns, read from the environment and validated."""

    alerts: dict[str, Any]
    webhook_url: str
    webhook_secret: str
    emails: list[str]
    apprise_urls: list[str]
    base_url: str


def settings_from_env() -> EnvSettings:
    from taskboard.env import env_list, env_str

    raw = env_str("TASKBOARD_ALERTS", "")
    parse_alerts(raw)  # validated at start-up, naming the variable
    alerts = json.loads(raw) if raw.strip() else {}
    webhook_url = env_str("TASKBOARD_ALERT_WEBHOOK_URL", "")
    secret = env_str("TASKBOARD_WEBHOOK_SECRET", "")
    emails = env_list("TASKBOARD_ALERT_EMAILS", "")
    urls = env_list("TASKBOARD_ALERT_URLS", "")
    base_url = env_str("TASKBOARD_BASE_URL", "http://127.0.0.1:8000")
    check_channels(webhook_url, secret, emails, urls, base_url)
    return EnvSettings(alerts, webhook_url, secret, emails, urls, base_url.rstrip("/"))
