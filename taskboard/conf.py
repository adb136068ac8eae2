"""taskboard's own settings, read lazily so ``override_settings`` works in tests.

Everything lives in ``settings.TASKBOARD`` (a dict); missing keys fall back to the defaults
below. Values are validated where they are read, with the key named in the error.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    # Enqueue the demo mix on the first start of an empty database.
    "DEMO": True,
    # A running attempt renews its lease this often; an attempt whose lease is older than
    # LEASE_SECONDS is declared lost by the dispatcher and retried.
    "LEASE_SECONDS": 15.0,
    "HEARTBEAT_SECONDS": 3.0,
    # How often a running attempt looks for a cancel request (from any host).
    "CANCEL_POLL_SECONDS": 0.5,
    # After interrupting a handler (cancel/timeout) this long without it returning, the
    # worker records the outcome itself and exits; django-q2 respawns it.
    "INTERRUPT_GRACE_SECONDS": 5.0,
    # progress() writes at most this often (the last value is always written).
    "PROGRESS_MIN_INTERVAL": 0.5,
    # Dispatcher: tick length, batch size, and how long a queued run may go unclaimed
    # (while its broker queue looks empty) before its message is considered lost.
    "DISPATCH_INTERVAL": 1.0,
    "DISPATCH_BATCH": 500,
    "REDISPATCH_AFTER": 15.0,
    # Cluster watchdog: prefetched work but no worker busy for this long = wedged cluster.
    "WEDGE_SECONDS": 10.0,
    # A worker heartbeat older than this is not alive (health check, dashboard).
    "WORKER_STALE_SECONDS": 15.0,
    # Group commit: a cluster worker holds a successful outcome this long, so that it
    # commits with the next run's claim (one transaction, one round trip) instead of alone.
    # If no message comes, the worker's monitor thread commits it when the time is up.
    # 0 commits every outcome before the message is done.
    "OUTCOME_BATCH_SECONDS": 0.02,
    # PostgreSQL: the worker's claim and outcome statements are prepared once per connection
    # and sent in one pipeline (models.pgpipeline). False for a connection pooler in
    # transaction mode that does not support prepared statements (PgBouncer < 1.21).
    "PG_PREPARED_STATEMENTS": True,
    "METRICS_PUBLIC": False,
    # Webhook subscriptions: run events are published from every process (False: no receiver
    # is connected, no thread started), and each process sends what it buffered this often, one
    # delivery run per subscription carrying them all (taskboard.notify.lifecycle).
    "WEBHOOKS": True,
    "WEBHOOK_FLUSH_SECONDS": 1.0,
    # Schedules: a fire time more than this many seconds old when the clock gets to it was
    # missed (downtime) and follows the schedule's misfire policy; younger ones still fire.
    "SCHEDULE_MISFIRE_GRACE": 30.0,
    # Retention: finished runs older than this many days are pruned by the built-in schedule
    # "taskboard.retention" (0 turns it off).
    "RETENTION_DAYS": 30.0,
    "API_MAX_BODY": 1024 * 1024,
    # An API token (and its user) is read from the database at most this often per process;
    # a revocation elsewhere takes effect within it (operations.token_cache). 0: every request.
    "API_TOKEN_CACHE_SECONDS": 1.0,
}


_ZERO_ALLOWED = {"API_TOKEN_CACHE_SECONDS", "OUTCOME_BATCH_SECONDS", "RETENTION_DAYS"}


class Settings:
    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        value = getattr(settings, "TASKBOARD", {}).get(name, DEFAULTS[name])
        default = DEFAULTS[name]
        if isinstance(default, float) and not isinstance(value, bool):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ImproperlyConfigured(f"TASKBOARD[{name!r}] must be a number") from None
            if name in _ZERO_ALLOWED and value < 0:
                raise ImproperlyConfigured(f"TASKBOARD[{name!r}] must be zero or positive")
            if name not in _ZERO_ALLOWED and value <= 0:
                raise ImproperlyConfigured(f"TASKBOARD[{name!r}] must be positive")
        return value


conf = Settings()


def configured_queues() -> list[str]:
    """The queues tasks may use: the default task backend's ``QUEUES`` (filled from
    ``TASKBOARD_QUEUES``), sorted; ``["default"]`` when it accepts any. The one source for
    the worker command, the admin and every read model."""
    from django.tasks import task_backends

    queues = getattr(task_backends["default"], "queues", None)
    return sorted(queues) if queues else ["default"]
