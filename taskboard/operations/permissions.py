"""Who may do what: the permission names of the operator verbs and the one rule that checks them.

``user=None`` means a trusted local caller (a management command, the clock); anyone else must
be active staff holding the verb's permission, the same rule for dashboard, admin and API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from taskboard.exceptions import NotAllowed

if TYPE_CHECKING:
    # django-stubs resolves settings.AUTH_USER_MODEL (and so ``request.user``) to ``User``.
    from django.contrib.auth.models import AnonymousUser, User

PERM_VIEW = "taskboard.view_taskrun"
PERM_CANCEL = "taskboard.cancel_taskrun"
PERM_REPLAY = "taskboard.replay_taskrun"
PERM_ENQUEUE = "taskboard.enqueue_taskrun"
PERM_DISCARD = "taskboard.discard_deadletter"
# "Retry now" re-executes a failed run's work early, like a replay; "Run now" starts a
# scheduled run before the time its enqueuer asked for, like an enqueue.
PERM_RETRY_NOW = PERM_REPLAY
PERM_RUN_NOW = PERM_ENQUEUE
# Flow control: pausing queues and tasks, and forcing circuit breakers, are separate rights.
PERM_PAUSE = "taskboard.pause_flow"
PERM_BREAKER = "taskboard.control_breaker"
# Schedules: adding, pausing, resuming, running now and removing one (a schedule is a repeated
# enqueue; the "taskboard operators" group holds it).
PERM_SCHEDULE = "taskboard.manage_schedule"
# Pruning deletes history: Django's own delete permission on runs (``taskboard_prune`` runs
# as a trusted caller; no screen offers it).
PERM_PRUNE = "taskboard.delete_taskrun"

# Alerts: silencing one (nothing is sent about it for a while); webhook subscriptions to run
# events (adding one sends run data to a URL of the operator's choosing).
PERM_SILENCE = "taskboard.silence_alert"
PERM_WEBHOOKS = "taskboard.manage_webhooks"

# A request's user (logged in or not); None is a trusted local caller.
type Operator = User | AnonymousUser
type Actor = Operator | None


def actor_name(user: Actor) -> str:
    if user is None:
        return "system"
    return user.get_username() or f"user {user.pk}"


def require(user: Actor, perm: str) -> None:
    """Raise ``NotAllowed`` unless ``user`` may use ``perm`` (None always may)."""
    if user is None:
        return
    if not (user.is_active and user.is_staff and user.has_perm(perm)):
        raise NotAllowed(f"{actor_name(user)} lacks the permission {perm}")
