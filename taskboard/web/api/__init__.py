"""The JSON API (django-ninja): schemas, endpoints, token/session auth, error shapes, docs."""
