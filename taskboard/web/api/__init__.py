"""The JSON API of CONTRACT.md (django-ninja), mounted at ``/api/``.

- ``site``: the ``NinjaAPI`` (title, docs, error handlers) and its routers;
- ``runs``, ``dead_letters``, ``failures``, ``stats``: the endpoints, one router per resource;
- ``schedules``: ``/api/schedules/`` (list, add, pause, resume, run now, remove), its own schemas;
- ``schemas``: request bodies (strict) and the documented response shapes;
- ``body``: reading a JSON body (size limit first, malformed JSON, unknown fields);
- ``listing``: optional filters and one keyset page (``readmodels.paging``) as JSON;
- ``auth``: ``ApiAuth(perm)``, ninja's face of ``web.auth`` (token or staff session);
- ``errors``: every exception mapped to ``web.errors``' shape; ``docs``: Swagger UI served
  locally; ``urls``: the URL patterns, with JSON 404/405 for everything under ``/api/``.

Imports ``operations``, ``readmodels``, ``models`` and ``web.auth``/``web.errors``.
"""
