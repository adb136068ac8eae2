"""The no-op task of each enqueue contender (imported by ``bench.enqueue``'s measuring child)."""

from __future__ import annotations

from django.tasks import task


@task(backend="dtdb")
def dtdb_noop() -> None:
    """django-tasks-db's contender (its ``DatabaseBackend``, alias ``dtdb``)."""
    return None
