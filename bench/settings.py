"""taskboard's settings, unchanged, plus the bench app (completion marker, bench tasks).

Used by the benchmark driver and by the taskboard contender's ``taskboard_worker`` (and so
its ``taskboard_cluster`` subprocesses, which inherit ``DJANGO_SETTINGS_MODULE``).
"""

from taskboard.settings import *  # noqa: F403
from taskboard.settings import INSTALLED_APPS, TASKBOARD

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]
TASKBOARD = {**TASKBOARD, "DEMO": False}
