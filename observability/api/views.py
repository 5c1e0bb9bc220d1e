"""The audit history endpoints of the original AtoCore API, kept at their paths."""

import uuid

from django.http import Http404
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from observability import selectors
from observability.api.serializers import MemoryAuditSerializer


class MemoryAuditView(APIView):
    """GET /memory/{id}/audit: the full history of one memory, oldest first."""

    def get(self, request, memory_id: str):
        try:
            pk = uuid.UUID(memory_id)
        except ValueError:
            raise Http404 from None
        rows = selectors.memory_audit(pk)
        return Response({"memory_id": str(pk), "entries": MemoryAuditSerializer(rows, many=True).data})


class _RecentParams(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=selectors.RECENT_LIMIT_MAX, default=50)


class RecentAuditView(APIView):
    """GET /admin/audit/recent: the latest mutations across the system, newest first."""

    def get(self, request):
        params = _RecentParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = selectors.recent_audit(params.validated_data["limit"])
        return Response({"entries": MemoryAuditSerializer(rows, many=True).data})
