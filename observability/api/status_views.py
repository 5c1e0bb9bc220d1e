"""Alerts, the harness result and the dashboard over HTTP."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from observability import dashboard, harness
from observability.api.pagination import KeysetPagination
from observability.api.permissions import AUDIT_READERS, READ_AUDIT, WRITE_MEMORIES, model_permission
from observability.api.serializers import (
    DASHBOARD_SCHEMA,
    AlertEventSerializer,
    AlertFilterSerializer,
    HarnessResultInSerializer,
    HarnessResultSerializer,
    LastAlertsSerializer,
)
from observability.models import AlertEvent, AlertSeverity


class AlertListView(ListAPIView):
    """GET /api/v1/alerts/: the alert history, newest first, a page at a time."""

    permission_classes = AUDIT_READERS
    serializer_class = AlertEventSerializer
    pagination_class = KeysetPagination

    def get_queryset(self):
        params = AlertFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        rows = AlertEvent.objects.all()
        if "severity" in params.validated_data:
            rows = rows.filter(severity=params.validated_data["severity"])
        return rows

    @extend_schema(tags=["alerts"], parameters=[AlertFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def last_alerts() -> dict:
    """The value at ``atocore/alert/last_{severity}`` for each severity, or None; one query."""
    from memories.models import ProjectState

    keys = {f"last_{severity}": severity for severity in AlertSeverity.values}
    rows = ProjectState.objects.filter(project="atocore", category="alert", key__in=keys).values(
        "key", "value"
    )
    found = {keys[row["key"]]: row["value"] for row in rows}
    return {severity: found.get(severity) for severity in AlertSeverity.values}


class LastAlertsView(APIView):
    """GET /api/v1/alerts/last/: the last alert of each severity (atocore/alert/last_{severity})."""

    permission_classes = AUDIT_READERS

    @extend_schema(tags=["alerts"], responses=LastAlertsSerializer)
    def get(self, request):
        return Response(last_alerts())


class HarnessResultView(APIView):
    """POST /api/v1/harness/results/: record a harness run (the latest is what counts)."""

    permission_classes = [IsAuthenticated, model_permission(READ_AUDIT, WRITE_MEMORIES)]

    @extend_schema(
        tags=["harness"], request=HarnessResultInSerializer, responses={201: HarnessResultSerializer}
    )
    def post(self, request):
        body = HarnessResultInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        value = harness.record_harness_result(**body.validated_data)
        return Response(value, status=status.HTTP_201_CREATED)


class LatestHarnessResultView(APIView):
    """GET /api/v1/harness/results/latest/: the last recorded harness run; 404 before the first."""

    permission_classes = AUDIT_READERS

    @extend_schema(tags=["harness"], responses=HarnessResultSerializer)
    def get(self, request):
        value = harness.latest_harness_result()
        if value is None:
            raise NotFound("no harness result has been recorded yet")
        return Response(value)


class DashboardView(APIView):
    """GET /api/v1/dashboard/: what the admin dashboard shows, as JSON."""

    permission_classes = AUDIT_READERS

    @extend_schema(tags=["dashboard"], responses=DASHBOARD_SCHEMA)
    def get(self, request):
        return Response(dashboard.dashboard_data())
