"""The django-ninja API of CONTRACT.md, mounted at ``/api/``: one router per resource.

Lists are newest first with keyset pagination (``readmodels.paging``): ``next`` is an opaque
cursor (base64 of the last row's timestamp and id), so pages stay cheap and stable at
millions of rows. Errors: see ``errors``; authentication: ``auth``; bodies: ``body``.
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.operation import Operation

from taskboard.web.api import alerts, audit, batches, dead_letters, failures, flow, runs, schedules, stats, webhooks
from taskboard.web.api.docs import LocalSwagger
from taskboard.web.api.errors import install


class TaskboardAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # The ids of the time all endpoints lived in one module; generated clients name
        # their methods after them, so they stay as they were.
        return f"taskboard_web_api_endpoints_{operation.view_func.__name__}"


api = TaskboardAPI(
    title="taskboard API",
    version="1",
    description="Runs, dead letters, failure groups, stats and flow control (queues, task "
                "pauses, circuit breakers) of taskboard. Errors are "
                '`{"error": {"code": "…", "message": "…"}}` with a 4xx status.',
    urls_namespace="taskboard-api",
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install(api)
for router in (alerts.router, audit.router, batches.router, dead_letters.router, failures.router, flow.router,
               runs.router, schedules.router, stats.router, webhooks.router):
    api.add_router("", router)
