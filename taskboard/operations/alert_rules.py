"""Change the alert rules' settings from the admin: save or delete an ``AlertRule`` override
(a whole rule or one queue/task/breaker). Django's change/delete permission on alert rules;
the audit event is written with the change. The values are validated by the caller's form
against ``notify.config.check_rule_values`` (the evaluator re-checks every row it reads)."""

from __future__ import annotations

import structlog
from django.db import transaction
from django.utils import timezone

from taskboard.models import AlertRule
from taskboard.operations import audit
from taskboard.operations.permissions import Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")

PERM_CHANGE_RULE = "taskboard.change_alertrule"
PERM_DELETE_RULE = "taskboard.delete_alertrule"


def save_alert_rule(row: AlertRule, *, user: Actor = None) -> AlertRule:
    """Store ``row`` (new or changed) as who changed it."""
    require(user, PERM_CHANGE_RULE)
    row.updated_at, row.updated_by = timezone.now(), actor_name(user)[:150]
    with transaction.atomic():
        row.save()
        values = {k: v for k, v in row.values().items() if v is not None}
        audit.record("alert_rule.save", user=user, targets=[str(row)], count=1,
                     reason=f"{values} {row.note}".strip())
    logger.info("alert rule saved", rule=row.rule, scope=row.scope, values=values, by=row.updated_by)
    return row


def delete_alert_rule(row: AlertRule, *, user: Actor = None) -> None:
    """Remove an override: the rule falls back to ``TASKBOARD_ALERTS`` and the defaults."""
    require(user, PERM_DELETE_RULE)
    with transaction.atomic():
        name = str(row)
        row.delete()
        audit.record("alert_rule.delete", user=user, targets=[name], count=1)
    logger.info("alert rule deleted", rule=name, by=actor_name(user))
