"""taskboard's settings, unchanged, plus the bare contender's app and URL (``/bare/rows/``).

The server ``bench.api_http`` starts uses these, so ``POST /api/runs/`` and the bare view run
in the same processes, with the same middleware, database connections and gunicorn workers.
"""

from taskboard.settings import *  # noqa: F403
from taskboard.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.bare"]
ROOT_URLCONF = "bench.bare.urls"
