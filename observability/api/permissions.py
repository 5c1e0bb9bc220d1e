"""Model permissions that the API checks: one for reading, one for writing.

Both are granted to the API group (observability.access.API_GROUP), which staff join
automatically. Anonymous callers get a 401 before these run (IsAuthenticated first).
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated

READ_AUDIT = "observability.view_memoryaudit"
READ_MEMORIES = "memories.view_memory"
WRITE_MEMORIES = "memories.change_memory"


def model_permission(read: str, write: str | None = None) -> type[BasePermission]:
    """A permission class: ``read`` for safe methods, ``write`` (default ``read``) for the others."""

    class ModelPermission(BasePermission):
        message = "you need the permission {perm}"

        def has_permission(self, request, view) -> bool:
            perm = read if request.method in SAFE_METHODS else (write or read)
            self.message = f"you need the permission {perm}"
            return request.user.has_perm(perm)

    ModelPermission.__name__ = f"Requires_{read.replace('.', '_')}"
    return ModelPermission


CanReadAudit = model_permission(READ_AUDIT)
CanUseMemories = model_permission(READ_MEMORIES, WRITE_MEMORIES)

AUDIT_READERS = [IsAuthenticated, CanReadAudit]
MEMORY_USERS = [IsAuthenticated, CanUseMemories]
