"""Silence an alert for N minutes with a reason: nothing is sent about it (no firing, repeat
or resolved notification) until then, and a recurrence of its group within that time starts
silenced too. Needs ``taskboard.silence_alert``; the audit event is written with the silence."""

from __future__ import annotations

from datetime import timedelta

import structlog
from django.db import transaction
from django.utils import timezone

from taskboard.models import Alert
from taskboard.operations import audit
from taskboard.operations.inputs import BadInput, check_text
from taskboard.operations.lookups import UnknownName
from taskboard.operations.permissions import PERM_SILENCE, Actor, actor_name, require

logger = structlog.get_logger("taskboard.operations")

MINUTES_MIN, MINUTES_MAX = 1, 7 * 24 * 60  # one week at most: a silence must end
REASON_MAX = 500


def check_minutes(minutes: object) -> int:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not MINUTES_MIN <= minutes <= MINUTES_MAX:
        raise BadInput(f"minutes must be a whole number from {MINUTES_MIN} to {MINUTES_MAX} (one week)")
    return minutes


def silence_alert(alert_id: int, *, minutes: int, reason: str = "", user: Actor = None) -> Alert:
    """Silence the alert ``alert_id`` (firing or resolved: the silence mutes its group) from now
    for ``minutes``; ``UnknownName`` (404) if there is no such alert, ``BadInput`` (400) for
    minutes outside 1…10080 or an unstorable reason."""
    require(user, PERM_SILENCE)
    minutes = check_minutes(minutes)
    check_text(reason, "reason")
    if len(reason) > REASON_MAX:
        raise BadInput(f"reason is longer than {REASON_MAX} characters")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None:
            raise UnknownName(f"no alert with id {alert_id}")
        until = timezone.now() + timedelta(minutes=minutes)
        alert.silence(until, reason.strip(), actor_name(user))
        audit.record("alert.silence", user=user, targets=[alert.pk], reason=reason)
    logger.info("alert silenced", alert=alert.pk, rule=alert.rule, key=alert.key, minutes=minutes,
                by=actor_name(user))
    return alert
