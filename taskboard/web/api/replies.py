"""Answers sent without django-ninja's response validation, for the hot endpoints.

ninja validates what an endpoint returns against the response schema of its status (a
pydantic model) and dumps it again: ~0.3 ms for a run, a large share of an enqueue's time
outside the database. The run JSON is built by ``readmodels.representations``, whose keys
``tests/web/api/test_api_openapi.py`` holds to ``RunOut``; the schema still documents the
answer in OpenAPI.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

CONTENT_TYPE = "application/json; charset=utf-8"  # what ninja's JSON renderer sends

# One encoder for every answer: ``json.dumps(..., cls=…)`` builds an encoder per call. The run
# JSON holds only JSON types; Django's encoder is the fallback for anything else (it never
# runs for a run, so the C encoder does all the work).
_ENCODER = json.JSONEncoder(default=DjangoJSONEncoder().default)


def json_reply(status: int, body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(_ENCODER.encode(body).encode(), status=status, content_type=CONTENT_TYPE)
