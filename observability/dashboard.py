"""What the dashboard shows, as one dict: used by the API and the admin index.

Three queries whatever the store holds: the system project's state (integrity result,
last alert per severity, harness result), the 10 latest audit rows, the candidate count.
Every part tolerates missing or oddly shaped data: it shows None rather than failing.
"""

from typing import Any

from django.conf import settings
from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils import timezone

from observability.harness import CATEGORY as HARNESS_CATEGORY
from observability.harness import KEY as HARNESS_KEY
from observability.models import AlertSeverity, MemoryAudit

SYSTEM_PROJECT = "atocore"
INTEGRITY_KEY = ("status", "integrity_check_result")
RECENT_MUTATIONS = 10
PREVIEW_CHARS = 80
SEVERITIES = tuple(AlertSeverity.values)


def _system_state() -> dict[tuple[str, str], dict[str, Any]]:
    """The state rows the dashboard reads, by (category, key), in one query."""
    from memories.models import ProjectState

    wanted = Q(category="alert", key__in=[f"last_{s}" for s in SEVERITIES]) | Q(
        category="status", key__in=[INTEGRITY_KEY[1], HARNESS_KEY]
    )
    rows = ProjectState.objects.filter(wanted, project=SYSTEM_PROJECT).values(
        "category", "key", "value", "updated_at"
    )
    return {(row["category"], row["key"]): row for row in rows}


def _value(row: dict | None) -> Any:
    return row["value"] if row is not None else None


def _alert(row: dict | None) -> dict | None:
    value = _value(row)
    return value if isinstance(value, dict) else None


def _integrity_summary(row: dict | None) -> dict[str, Any] | None:
    if row is None:
        return None
    value = row["value"]
    result = value if isinstance(value, dict) else {}
    checks = result.get("checks")
    counts = None
    if isinstance(checks, dict):
        counts = {str(name): _count(check) for name, check in checks.items()}
    elif isinstance(checks, list):
        counts = {str(c.get("name", i)): _count(c) for i, c in enumerate(checks) if isinstance(c, dict)}
    total = result.get("total_findings")
    if not isinstance(total, int) and counts and all(isinstance(c, int) for c in counts.values()):
        total = sum(counts.values())
    return {
        "total_findings": total if isinstance(total, int) else None,
        "checks": counts,
        "ran_at": result.get("finished_at") or result.get("ran_at") or row["updated_at"].isoformat(),
        "result": value,
    }


def _count(check: Any) -> int | None:
    if isinstance(check, int) and not isinstance(check, bool):
        return check
    count = check.get("count") if isinstance(check, dict) else None
    return count if isinstance(count, int) else None


def _harness(row: dict | None) -> dict[str, Any]:
    value = _value(row)
    rate = value.get("pass_rate") if isinstance(value, dict) else None
    return {
        "pass_rate": rate if isinstance(rate, int | float) and not isinstance(rate, bool) else None,
        "min_pass_rate": settings.ATOCORE_HARNESS_MIN_PASS_RATE,
        "result": value,
    }


def recent_mutations(limit: int = RECENT_MUTATIONS) -> list[dict[str, Any]]:
    """The latest audit rows with a short preview of the memory's content, newest first."""
    rows = (
        MemoryAudit.objects.order_by("-timestamp", "-id")
        .annotate(content=Coalesce(KT("after__content"), KT("before__content")))
        .values("id", "memory_id", "action", "actor", "user", "timestamp", "content")[:limit]
    )
    return [
        {
            "id": row["id"],
            "memory_id": str(row["memory_id"]),
            "action": row["action"],
            "actor": row["actor"],
            "user": row["user"],
            "timestamp": row["timestamp"].isoformat(),
            "preview": preview(row["content"]),
        }
        for row in rows
    ]


def preview(content: Any) -> str:
    text = " ".join(content.split()) if isinstance(content, str) else ""
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def dashboard_data() -> dict[str, Any]:
    """Integrity, last alert per severity, 10 latest mutations, candidate queue, harness pass rate."""
    from memories.selectors import candidate_queue_size

    states = _system_state()
    return {
        "generated_at": timezone.now().isoformat(),
        "integrity": _integrity_summary(states.get(INTEGRITY_KEY)),
        "alerts": {s: _alert(states.get(("alert", f"last_{s}"))) for s in SEVERITIES},
        "recent_mutations": recent_mutations(),
        "candidate_queue": {"size": candidate_queue_size(), "max": settings.ATOCORE_CANDIDATE_QUEUE_MAX},
        "harness": _harness(states.get((HARNESS_CATEGORY, HARNESS_KEY))),
    }
