from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from observability.api.exceptions import not_found
from observability.api.views import MemoryAuditView, RecentAuditView
from observability.health import HealthzView, ReadyzView

api_v1 = [
    path("", include("memories.api.urls")),
    path("", include("observability.api.urls")),
    path("", include("integrity.api.urls")),
]

urlpatterns = [
    # The original AtoCore paths, matched before the admin's catch-all.
    path("memory/<str:memory_id>/audit", MemoryAuditView.as_view(), name="memory-audit"),
    path("admin/audit/recent", RecentAuditView.as_view(), name="audit-recent"),
    path("admin/", admin.site.urls),
    path("healthz", HealthzView.as_view(), name="healthz"),
    path("readyz", ReadyzView.as_view(), name="readyz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/auth/", include("rest_framework.urls")),
    # JSON, not Django's HTML page, for any other path under /api/ (DEBUG too).
    re_path(r"^api/", not_found),
]

handler404 = "observability.api.exceptions.not_found"
handler500 = "observability.api.exceptions.server_error"
