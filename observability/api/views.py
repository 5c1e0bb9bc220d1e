"""The audit trail over HTTP: the two original AtoCore paths and the paginated list."""

import uuid

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from observability import selectors
from observability.api.pagination import KeysetPagination
from observability.api.permissions import AUDIT_READERS
from observability.api.serializers import AuditFilterSerializer, MemoryAuditSerializer
from observability.models import MemoryAudit


class MemoryAuditView(APIView):
    """GET /memory/{id}/audit: the full history of one memory, oldest first (also once deleted)."""

    permission_classes = AUDIT_READERS

    @extend_schema(
        tags=["audit"],
        responses=inline_serializer(
            "MemoryHistory",
            fields={"memory_id": serializers.UUIDField(), "entries": MemoryAuditSerializer(many=True)},
        ),
    )
    def get(self, request, memory_id: str):
        try:
            pk = uuid.UUID(memory_id)
        except ValueError:
            raise Http404 from None
        entries = MemoryAuditSerializer(selectors.memory_audit(pk), many=True).data
        if not entries:  # history outlives a memory, so only "no history at all" is unknown
            raise Http404(f"no memory {pk} and no history of one")
        return Response({"memory_id": str(pk), "entries": entries})


class _RecentParams(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=selectors.RECENT_LIMIT_MAX, default=50)


class RecentAuditView(APIView):
    """GET /admin/audit/recent: the latest mutations across the system, newest first."""

    permission_classes = AUDIT_READERS

    @extend_schema(
        tags=["audit"],
        parameters=[_RecentParams],
        responses=inline_serializer("RecentAudit", fields={"entries": MemoryAuditSerializer(many=True)}),
    )
    def get(self, request):
        params = _RecentParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = selectors.recent_audit(params.validated_data["limit"])
        return Response({"entries": MemoryAuditSerializer(rows, many=True).data})


class AuditPagination(KeysetPagination):
    time_field = "timestamp"


class AuditListView(ListAPIView):
    """GET /api/v1/audit/: audit rows, newest first, filtered, a page at a time."""

    permission_classes = AUDIT_READERS
    serializer_class = MemoryAuditSerializer
    pagination_class = AuditPagination

    def get_queryset(self):
        params = AuditFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        rows = MemoryAudit.objects.all()
        if "memory" in f:
            rows = rows.filter(memory_id=f["memory"])
        for name in ("actor", "action", "user"):
            if name in f:
                rows = rows.filter(**{name: f[name]})
        if "since" in f:
            rows = rows.filter(timestamp__gte=f["since"])
        if "until" in f:
            rows = rows.filter(timestamp__lt=f["until"])
        return rows

    @extend_schema(tags=["audit"], parameters=[AuditFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
