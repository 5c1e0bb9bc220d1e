"""Reads of the store shared by the API, the admin, the commands and the checks."""

from typing import Any

from memories.models import Memory, MemoryStatus, ProjectState


def get_project_state(*, project: str, category: str, key: str, default: Any = None) -> Any:
    """The value at ``project/category/key``, or ``default``."""
    row = ProjectState.objects.filter(project=project, category=category, key=key).values("value").first()
    return row["value"] if row is not None else default


def candidate_queue_size() -> int:
    return Memory.objects.filter(status=MemoryStatus.CANDIDATE).count()
