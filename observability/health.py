"""Liveness and readiness probes: no authentication, no data."""

import structlog
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

logger = structlog.get_logger(__name__)

_migrations_applied = False  # once true, stays true for this process (a deploy restarts it)

_Status = inline_serializer(
    "HealthStatus",
    fields={
        "status": serializers.CharField(),
        "reason": serializers.CharField(required=False),
    },
)


def pending_migrations() -> int:
    """Migrations on disk that the database has not applied."""
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


class _Probe(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class HealthzView(_Probe):
    """The process is up (touches nothing)."""

    @extend_schema(responses={200: _Status}, auth=[], tags=["health"])
    def get(self, request):
        return Response({"status": "ok"})


class ReadyzView(_Probe):
    """The database answers and every migration is applied; 503 otherwise."""

    @extend_schema(responses={200: _Status, 503: _Status}, auth=[], tags=["health"])
    def get(self, request):
        global _migrations_applied
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            if not _migrations_applied:
                pending = pending_migrations()
                if pending:
                    return Response({"status": "not_ready", "reason": f"{pending} migrations pending"}, 503)
                _migrations_applied = True
        except DatabaseError as exc:
            logger.warning("readiness_database_error", error=f"{type(exc).__name__}: {exc}")
            return Response({"status": "not_ready", "reason": "database unreachable"}, status=503)
        return Response({"status": "ready"})
