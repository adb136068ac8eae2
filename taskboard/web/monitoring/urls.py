"""URL patterns; see the module docstring of the views they route to."""

from django.urls import path

from taskboard.web.monitoring.views import healthz, metrics

urlpatterns: list = [
    path("healthz", healthz, name="taskboard-healthz"),
    path("metrics", metrics, name="taskboard-metrics"),
]
