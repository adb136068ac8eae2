"""The bare view: ``POST /bare/rows/`` with ``{"task": "<name>", "args": [...]}``.

What any Django JSON endpoint does at least: parse the body, refuse what is not a small object
of the expected shape (400), insert one row (autocommit), answer 201 with a JSON body.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from bench.bare.models import BareRow

ALLOWED = frozenset({"task", "args"})


def bad(message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "bad_request", "message": message}}, status=400)


@csrf_exempt
@require_POST
def create_row(request: HttpRequest) -> JsonResponse:
    try:
        data = json.loads(request.body)
    except ValueError:
        return bad("malformed JSON")
    if not isinstance(data, dict) or set(data) - ALLOWED:
        return bad(f"send an object with the keys {sorted(ALLOWED)}")
    task = data.get("task")
    if not isinstance(task, str) or not 0 < len(task) <= 255:
        return bad("task: a string of 1 to 255 characters")
    args = data.get("args", [])
    if not isinstance(args, list):
        return bad("args: a list")
    # (mypy reads taskboard's settings, which do not install this app)
    row = BareRow.objects.create(task=task, args=args, created_at=timezone.now())  # type: ignore[attr-defined]
    return JsonResponse({"id": str(row.id), "task": row.task, "args": row.args,
                         "created_at": row.created_at.isoformat()}, status=201)
