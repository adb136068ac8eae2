from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

# Unknown addresses get the dashboard's styled 404 page (templates/404.html) with its navigation.
handler404 = "taskboard.web.dashboard.errors.page_not_found"

urlpatterns = [
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    path("dashboard/", include("taskboard.web.dashboard.urls")),
    path("api/", include("taskboard.web.api.urls")),
    path("", include("taskboard.web.monitoring.urls")),  # /healthz, /metrics
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
]
