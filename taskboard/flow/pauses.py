"""Pausing and resuming a queue or a task.

A ``Pause`` row stops new starts: the claim's single statement checks it (NOT EXISTS), and
admission holds a paused run with reason ``paused`` and key ``queue:<name>`` / ``task:<name>``.
Running runs finish. ``resume`` deletes the row and releases the held runs at once (the clock
releases any that a claim held concurrently with the resume).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from taskboard.flow import release as flow_release
from taskboard.models import HoldReason, Pause, PauseScope


def _scope(scope: str) -> PauseScope:
    try:
        return PauseScope(scope)
    except ValueError:
        raise ValueError(f"scope must be 'queue' or 'task', not {scope!r}") from None


def pause(scope: str, name: str, reason: str = "", actor: str = "") -> Pause:
    """Pause ``scope`` (``queue``/``task``) ``name``; pausing a paused one keeps the first."""
    scope = _scope(scope)
    with transaction.atomic():
        row, _ = Pause.objects.get_or_create(scope=scope, name=name, defaults={
            "reason": reason[:500], "actor": actor[:150], "created_at": timezone.now()})
    return row


def resume(scope: str, name: str, actor: str = "") -> int:
    """Resume it; returns how many held runs were released (0 if it was not paused)."""
    scope = _scope(scope)
    key = f"{scope.value}:{name}"
    with transaction.atomic():
        Pause.objects.filter(scope=scope, name=name).delete()
        return flow_release.release_all(HoldReason.PAUSED, key)


def is_paused(scope: str, name: str) -> bool:
    return Pause.objects.filter(scope=_scope(scope), name=name).exists()


def paused(scope: str) -> dict[str, Pause]:
    """The paused names of a scope (a small table: one row per paused queue/task)."""
    return {p.name: p for p in Pause.objects.filter(scope=_scope(scope))}
