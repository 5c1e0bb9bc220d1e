"""The latest evaluation-harness result, kept in project state for the nightly pipeline alerts.

Stored at ``atocore/status/harness_result`` as
``{"passed": int, "total": int, "pass_rate": float, "recorded_at": ISO 8601}``.
"""

from typing import Any

from django.utils import timezone

SYSTEM_PROJECT = "atocore"
CATEGORY = "status"
KEY = "harness_result"


def record_harness_result(*, passed: int, total: int) -> dict[str, Any]:
    """Store a run's counts as the latest result and return the stored value."""
    from memories.services import set_project_state

    if isinstance(passed, bool) or isinstance(total, bool) or total < 1 or not 0 <= passed <= total:
        raise ValueError(f"need 0 <= passed <= total and total >= 1, got {passed}/{total}")
    value = {
        "passed": int(passed),
        "total": int(total),
        "pass_rate": round(passed / total, 4),
        "recorded_at": timezone.now().isoformat(timespec="microseconds"),
    }
    set_project_state(project=SYSTEM_PROJECT, category=CATEGORY, key=KEY, value=value)
    return value


def latest_harness_result() -> dict[str, Any] | None:
    from memories.selectors import get_project_state

    return get_project_state(project=SYSTEM_PROJECT, category=CATEGORY, key=KEY)
