"""Integrity scan results over HTTP: the latest run and the run history.

Read tolerantly: the run history (IntegrityRun) and the state the scan writes
(atocore/status/integrity_check_result) may each be absent or shaped differently.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from integrity.models import IntegrityRun
from memories.models import ProjectState
from observability.api.pagination import KeysetPagination
from observability.api.permissions import AUDIT_READERS

SYSTEM_PROJECT = "atocore"
STATE_CATEGORY, STATE_KEY = "status", "integrity_check_result"


class IntegrityRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True, required=False)
    total_findings = serializers.IntegerField(required=False)
    errors = serializers.IntegerField(required=False)
    result = serializers.JSONField(required=False, help_text="Per check: status, count, samples, details.")


class IntegrityStateSerializer(serializers.Serializer):
    value = serializers.JSONField()
    updated_at = serializers.DateTimeField()


class RunPagination(KeysetPagination):
    time_field = "started_at"


class IntegrityRunListView(ListAPIView):
    """GET /api/v1/integrity/runs/: the scan history, newest first, a page at a time."""

    permission_classes = AUDIT_READERS
    serializer_class = IntegrityRunSerializer
    pagination_class = RunPagination
    queryset = IntegrityRun.objects.all()

    @extend_schema(tags=["integrity"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class LatestIntegrityView(APIView):
    """GET /api/v1/integrity/latest/: the last run and the stored result; 404 before the first scan."""

    permission_classes = AUDIT_READERS

    @extend_schema(
        tags=["integrity"],
        responses=inline_serializer(
            "LatestIntegrity",
            fields={
                "run": IntegrityRunSerializer(allow_null=True),
                "state": IntegrityStateSerializer(allow_null=True),
            },
        ),
    )
    def get(self, request):
        run = IntegrityRun.objects.order_by("-started_at", "-id").first()
        state = (
            ProjectState.objects.filter(project=SYSTEM_PROJECT, category=STATE_CATEGORY, key=STATE_KEY)
            .values("value", "updated_at")
            .first()
        )
        if run is None and state is None:
            raise NotFound("no integrity scan has run yet")
        return Response(
            {
                "run": IntegrityRunSerializer(run).data if run is not None else None,
                "state": IntegrityStateSerializer(state).data if state is not None else None,
            }
        )
