"""taskboard's URLs plus the bare view: one server answers both contenders."""

from django.urls import path

from bench.bare.views import create_row
from taskboard.urls import handler404
from taskboard.urls import urlpatterns as taskboard_patterns

__all__ = ["handler404", "urlpatterns"]

urlpatterns = [path("bare/rows/", create_row), *taskboard_patterns]
