from django.urls import path

from observability.api import status_views
from observability.api.views import AuditListView

urlpatterns = [
    path("audit/", AuditListView.as_view(), name="api-audit"),
    path("alerts/", status_views.AlertListView.as_view(), name="api-alerts"),
    path("alerts/last/", status_views.LastAlertsView.as_view(), name="api-alerts-last"),
    path("harness/results/", status_views.HarnessResultView.as_view(), name="api-harness-results"),
    path(
        "harness/results/latest/",
        status_views.LatestHarnessResultView.as_view(),
        name="api-harness-latest",
    ),
    path("dashboard/", status_views.DashboardView.as_view(), name="api-dashboard"),
]
