from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("dashboard/", include("taskboard.views.dashboard_urls")),
    path("api/", include("taskboard.views.api_urls")),
    path("", include("taskboard.views.monitoring_urls")),  # /healthz, /metrics
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
]
