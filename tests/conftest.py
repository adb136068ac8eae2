"""Fixtures every test package shares: users with and without permissions, their clients, and
the hypothesis profiles.

Hypothesis profiles: ``fast`` (the default, ``make test``) tries a few dozen examples per
property; ``thorough`` (``HYPOTHESIS_PROFILE=thorough``, used by CI) tries several times as
many. Properties set only what they need beyond that (health checks), so the profile decides
how hard they look.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from hypothesis import settings

from taskboard.operations import PERM_CANCEL, PERM_DISCARD, PERM_ENQUEUE, PERM_REPLAY, PERM_VIEW

# No example database: the examples are cheap to regenerate, and no directory is left behind.
# No deadline: a request's first call pays for imports and caches.
settings.register_profile("fast", max_examples=30, deadline=None, database=None)
settings.register_profile("thorough", max_examples=200, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove the SQLite test database's writers' lock (``models.sqlitelock``): Django removes
    the database file, and the lock beside it would stay in the temporary directory."""
    from django.conf import settings as django_settings

    from taskboard.models.sqlitelock import lock_file

    name = django_settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        Path(lock_file(str(name))).unlink(missing_ok=True)


def _perm(dotted: str) -> Permission:
    app_label, codename = dotted.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def make_user(username: str, *, staff: bool = True, perms: tuple[str, ...] = (),
              superuser: bool = False) -> User:
    user = User.objects.create_user(username, password="pw-" + username, is_staff=staff,
                                    is_superuser=superuser)
    user.user_permissions.add(*[_perm(p) for p in perms])
    return user


VIEWER_PERMS = (PERM_VIEW, "taskboard.view_taskattempt", "taskboard.view_deadletter")
OPERATOR_PERMS = VIEWER_PERMS + (PERM_CANCEL, PERM_REPLAY, PERM_ENQUEUE, PERM_DISCARD)


@pytest.fixture
def viewer(db: Any) -> User:
    """Read-only staff: may look, may not act."""
    return make_user("viewer", perms=VIEWER_PERMS)


@pytest.fixture
def operator(db: Any) -> User:
    return make_user("operator", perms=OPERATOR_PERMS)


@pytest.fixture
def outsider(db: Any) -> User:
    """Logged in but not staff."""
    return make_user("outsider", staff=False, perms=OPERATOR_PERMS)


@pytest.fixture
def operator_client(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def viewer_client(viewer: User) -> Client:
    client = Client()
    client.force_login(viewer)
    return client
