"""``python -m bench.q2_enqueue N``: N ``async_task("bench.noop.noop")`` calls under
bench.q2_plain_settings; prints one JSON line with the time taken.

defaults: plain ``async_task`` (Redis: a new connection per call, as django-q2 does).
tuned, saveall: one broker object reused for every call (``async_task(..., broker=b)``).
"""

from __future__ import annotations

import json
import os
import sys
import time

import django


def main() -> None:
    n = int(sys.argv[1])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.q2_plain_settings")
    django.setup()
    from django_q.brokers import get_broker
    from django_q.tasks import async_task

    tuned = os.environ.get("BENCH_Q2_PROFILE") in {"tuned", "saveall"}
    broker = get_broker() if tuned else None
    began = time.perf_counter()
    for _ in range(n):
        if broker is not None:
            async_task("bench.noop.noop", broker=broker)
        else:
            async_task("bench.noop.noop")
    seconds = time.perf_counter() - began
    print(json.dumps({"n": n, "seconds": seconds}))


if __name__ == "__main__":
    main()
