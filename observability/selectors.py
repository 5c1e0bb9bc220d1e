"""Reads of the audit trail, shared by the API, the admin and the dashboard."""

import uuid

from django.db.models import QuerySet

from observability.models import MemoryAudit

RECENT_LIMIT_MAX = 500


def recent_audit(limit: int = 50) -> QuerySet[MemoryAudit]:
    """The latest mutations across the system, newest first."""
    limit = max(1, min(int(limit), RECENT_LIMIT_MAX))
    return MemoryAudit.objects.order_by("-timestamp", "-id")[:limit]


def memory_audit(memory_id: uuid.UUID | str) -> QuerySet[MemoryAudit]:
    """The full history of one memory, oldest first (also after the memory is gone)."""
    return MemoryAudit.objects.filter(memory_id=memory_id).order_by("timestamp", "id")
