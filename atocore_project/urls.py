from django.contrib import admin
from django.urls import path

from observability.api.views import MemoryAuditView, RecentAuditView

urlpatterns = [
    # The original AtoCore paths, matched before the admin's catch-all.
    path("memory/<str:memory_id>/audit", MemoryAuditView.as_view(), name="memory-audit"),
    path("admin/audit/recent", RecentAuditView.as_view(), name="audit-recent"),
    path("admin/", admin.site.urls),
]
