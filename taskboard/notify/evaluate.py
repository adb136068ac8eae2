"""Alert evaluation: run by the clock of every ``taskboard_worker``, done by one at a time.

``evaluate_if_due()`` is called on every clock tick; every ``interval`` seconds it tries to
take the lease (``AlertLease.acquire``: a conditional UPDATE on one row, ``holder = me OR
expired``, held for ``LEASE_INTERVALS`` intervals and renewed by every evaluation). The host
that holds it evaluates; the others do one indexed read and go back to their own work. If the
holder dies, another host takes over once the lease expires; a stopping host releases it.

One evaluation: read the firing alerts and the rules' overrides, then every active rule's
queries (``rules``: one or two bounded queries each), each set in one round trip on PostgreSQL
(``reads``); then reconcile: open an alert for each new group (the partial unique index
``alert_one_firing`` makes that once per group), update counts that changed (one bulk UPDATE),
resolve alerts whose condition cleared, and notify per ``policy``. An evaluation that changes
nothing writes nothing but the lease and builds no ``Alert`` object: the firing alerts are
compared as rows.

Exactly-once notifications do not rest on the lease alone: a holder that stalled past its
lease could evaluate beside its successor. Each notification is a conditional UPDATE of its
alert (``claim_notification``: the ``last_notified_at`` the decision was based on, not
silenced) committed in one transaction with the ``Notification`` row and its delivery runs;
a resolution is a conditional UPDATE ``firing → resolved``. Two evaluators racing for the same
alert produce one notification.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.db import transaction
from django.db.models.utils import create_namedtuple_class
from django.utils import timezone

from taskboard.models import Alert, AlertLease, AlertRule, AlertState, NotificationEvent, WebhookMessage
from taskboard.models.nodes import process_identity
from taskboard.notify import delivery, policy, reads, rules
from taskboard.notify.config import RULE_FIELDS, AlertsConfig, alerts_config
from taskboard.notify.context import Context, Observation
from taskboard.notify.overrides import overrides
from taskboard.notify.rules import RULES

logger = structlog.get_logger("taskboard.notify")

LEASE = "alerts"
LEASE_INTERVALS = 3  # the lease outlives this many missed evaluations
MIN_LEASE_SECONDS = 15.0


@dataclass
class Evaluation:
    held: bool  # this host holds the lease and evaluated
    observed: int = 0
    opened: int = 0
    resolved: int = 0
    notified: int = 0


def lease_seconds(config: AlertsConfig) -> float:
    return max(MIN_LEASE_SECONDS, LEASE_INTERVALS * config.interval)


def _active(ctx: Context, name: str) -> bool:
    """Is the rule on for the whole rule, or for any one scope?"""
    if ctx.rule(name).enabled:
        return True
    return any(rule == name and values.get("enabled") for layer in (ctx.config.rules, ctx.overrides)
               for (rule, _), values in layer.items())


def observe(ctx: Context) -> dict[tuple[str, str], Observation]:
    active = [name for name in RULES if name in RULE_FIELDS and _active(ctx, name)]
    ctx.rows.update(reads.fetch(rules.reads(ctx, active), plain=rules.PLAIN_READS))
    found: dict[tuple[str, str], Observation] = {}
    for name in active:
        for observation in RULES[name](ctx):
            found[(observation.rule, observation.key)] = observation
    return found


def evaluate(now: datetime | None = None, holder: str | None = None,
             config: AlertsConfig | None = None) -> Evaluation:
    """One evaluation, if this process holds (or takes) the lease."""
    now = now or timezone.now()
    config = config or alerts_config()
    if not AlertLease.acquire(LEASE, holder or process_identity(), now, lease_seconds(config)):
        return Evaluation(held=False)
    # Two round trips: the alerts and the overrides (what the rules' reads depend on), then
    # the rules' reads (``observe``).
    first = reads.fetch({"firing": FIRING, "overrides": OVERRIDES})
    firing: dict[tuple[str, str], Any] = {(row.rule, row.key): row for row in map(FiringRow._make, first["firing"])}
    layered = overrides(AlertRule.from_db(AlertRule.objects.db, _RULE_FIELDS, row) for row in first["overrides"])
    ctx = Context(now, config, layered, firing=set(firing))
    observations = observe(ctx)
    result = Evaluation(held=True, observed=len(observations))
    changed: list[Alert] = []
    due: list[Alert] = []
    for group, seen in observations.items():
        row = firing.pop(group, None)
        if row is None:
            alert = Alert.open(seen.rule, seen.key, seen.text(), seen.count, seen.link, now)
            if alert is None:
                continue
            result.opened += 1
            logger.warning("alert firing", rule=alert.rule, key=alert.key, count=alert.count)
        else:
            refreshed = _refreshed(row, seen)
            if refreshed is None and not policy.firing_due(row, now, config):
                continue  # the steady state: nothing to write or send, no object built
            alert = _alert(row)
            if refreshed is not None:
                alert.count, alert.summary, alert.link = refreshed
                alert.updated_at = now
                changed.append(alert)
        if policy.firing_due(alert, now, config):
            due.append(alert)
    if changed:
        Alert.objects.filter(state=AlertState.FIRING).bulk_update(changed, ["count", "summary", "link", "updated_at"])
    for row in firing.values():  # their condition cleared
        if _resolve(_alert(row), now, config):
            result.resolved += 1
    for alert in due:
        result.notified += _notify_firing(alert, now, config)
    return result


# The firing alerts are read as rows of every column; an Alert is built from one only when the
# evaluation writes or sends something about it (~100 alerts firing, each evaluation).
_FIELDS = [field.attname for field in Alert._meta.concrete_fields]
FiringRow: Any = create_namedtuple_class(*_FIELDS)  # as values_list(named=True) makes
_RULE_FIELDS = [field.attname for field in AlertRule._meta.concrete_fields]
FIRING = reads.Fixed(lambda: Alert.objects.firing().values_list(*_FIELDS))
OVERRIDES = reads.Fixed(lambda: AlertRule.objects.values_list(*_RULE_FIELDS))


def _alert(row: Any) -> Alert:
    return Alert.from_db(Alert.objects.db, _FIELDS, row)


def _refreshed(row: Any, seen: Observation) -> tuple[int, str, str] | None:
    """The alert's new (count, summary, link), or None when they are as stored."""
    summary = (seen.summary if seen.summary is not None else row.summary)[:500]
    values = (seen.count, summary, seen.link[:500])
    return None if values == (row.count, row.summary, row.link) else values


def _notify_firing(alert: Alert, now: datetime, config: AlertsConfig) -> int:
    with transaction.atomic():
        if not alert.claim_notification(now):
            return 0
        delivery.send(alert, NotificationEvent.FIRING, now, config)
    logger.info("alert notified", rule=alert.rule, key=alert.key, count=alert.count, kind="alert.firing")
    return 1


def _resolve(alert: Alert, now: datetime, config: AlertsConfig) -> bool:
    with transaction.atomic():
        if not alert.resolve(now):
            return False
        # Read again inside the transaction: a silence set since this evaluation began counts.
        silenced_until, notified_at = Alert.objects.filter(pk=alert.pk).values_list(
            "silenced_until", "last_notified_at").get()
        alert.silenced_until, alert.last_notified_at = silenced_until, notified_at
        if policy.resolved_due(notified_at is not None, alert.is_silenced(now)):
            delivery.send(alert, NotificationEvent.RESOLVED, now, config)
    logger.info("alert resolved", rule=alert.rule, key=alert.key)
    return True


# --- the clock's entry point ----------------------------------------------------------------------

_timer = {"last": float("-inf")}
_timer_lock = threading.Lock()


def evaluate_if_due() -> Evaluation | None:
    """Called on every clock tick: an evaluation every ``interval`` seconds (None otherwise,
    or when alerting is disabled). Never raises: alerting must not stop the dispatcher."""
    try:
        config = alerts_config()
        if not config.enabled:
            return None
        with _timer_lock:
            if time.monotonic() - _timer["last"] < config.interval:
                return None
            _timer["last"] = time.monotonic()
        result = evaluate(config=config)
        if result.held:
            prune_if_due()
        return result
    except Exception:
        logger.exception("alert evaluation failed")
        return None


# What is kept: webhook messages a week (their deliveries are long done), resolved alerts
# (with their notifications) 90 days.
MESSAGES_KEPT = timedelta(days=7)
RESOLVED_KEPT = timedelta(days=90)
PRUNE_EVERY = 3600.0
PRUNE_BATCH = 1000
_pruned = {"last": float("-inf")}


def prune_if_due(now: datetime | None = None) -> int:
    """Once an hour, on the evaluating host: old webhook messages and resolved alerts go."""
    if time.monotonic() - _pruned["last"] < PRUNE_EVERY:
        return 0
    _pruned["last"] = time.monotonic()
    now = now or timezone.now()
    deleted, _ = WebhookMessage.objects.filter(created_at__lt=now - MESSAGES_KEPT).delete()
    old = list(Alert.objects.resolved().filter(started_at__lt=now - RESOLVED_KEPT)
               .values_list("pk", flat=True)[:PRUNE_BATCH])
    if old:
        deleted += Alert.objects.filter(pk__in=old).delete()[0]
    return deleted


def release() -> None:
    """A stopping clock gives the lease up, so another host evaluates at its next tick."""
    try:
        AlertLease.release(LEASE, process_identity())
    except Exception:  # noqa: BLE001 - stopping must go on
        logger.warning("could not release the alert lease", exc_info=True)
