"""Swagger UI for ``/api/docs`` served from django-ninja's bundled files, never a CDN.

django-ninja renders its local-asset template only when ``ninja`` is in INSTALLED_APPS and
falls back to a CDN otherwise. Instead of depending on that, this page points at
``/api/docs/assets/<file>``, which streams the few files django-ninja ships in its package.
The validator badge (a request to validator.swagger.io) is switched off.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ninja
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import escape
from ninja.openapi.docs import DocsBase

ASSETS_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.png": "image/png",
}

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="{assets}favicon.png">
<link rel="stylesheet" href="{assets}swagger-ui.css">
</head>
<body data-csrf-token="{csrf}" data-api-csrf="true">
<script type="application/json" id="swagger-settings">{settings}</script>
<div id="swagger-ui"></div>
<noscript><p>The schema is at <a href="{schema}">{schema}</a>.</p></noscript>
<script src="{assets}swagger-ui-bundle.js"></script>
<script src="{assets}swagger-ui-init.js"></script>
</body>
</html>
"""


class LocalSwagger(DocsBase):
    def render_page(self, request: HttpRequest, api: Any, **kwargs: Any) -> HttpResponse:
        schema_url = self.get_openapi_url(api, kwargs)
        settings = {"url": schema_url, "layout": "BaseLayout", "deepLinking": True, "validatorUrl": None}
        # JSON inside <script>: escape "<" so no value can close the element.
        settings_json = json.dumps(settings).replace("<", "\\u003c")
        html = PAGE.format(
            title=escape(api.title),
            assets=escape(reverse("taskboard-api-docs-asset", kwargs={"name": "_"}).removesuffix("_")),
            csrf=escape(get_token(request)),
            settings=settings_json,
            schema=escape(schema_url),
        )
        return HttpResponse(html)


def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in ASSETS:
        raise Http404(name)
    response = FileResponse((ASSETS_DIR / name).open("rb"), content_type=ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response
