"""Per-sink health in project state ``atocore/alert_health/<sink>``, for the dashboard.

Each row: attempts, successes, failures by reason, skips by cause, the last success
and the last error (redacted). The webhook row also says whether the hook is rate
limited or disabled.
"""

import datetime
from typing import Any

from observability.alert_record import FAILURE, SKIPPED, SUCCESS, SinkOutcome
from observability.jsonsafe import truncate
from observability.state_rows import SYSTEM_PROJECT, update_rows

CATEGORY = "alert_health"
FAILURE_REASONS = ("timeout", "rate_limited", "client_error", "server_error", "connection", "error")
DETAIL_MAX = 500


def empty(sink: str) -> dict[str, Any]:
    return {
        "sink": sink,
        "attempts": 0,
        "successes": 0,
        "failures": dict.fromkeys(FAILURE_REASONS, 0),
        "skipped": {},
        "last_success": None,
        "last_error": None,
        "last_outcome": None,
    }


def apply(value: Any, sink: str, outcome: SinkOutcome, *, now: datetime.datetime) -> dict[str, Any]:
    """The health row ``value`` after ``outcome`` (pure)."""
    base = empty(sink)
    health = {**base, **value} if isinstance(value, dict) else base
    health["failures"] = {**base["failures"], **(health.get("failures") or {})}
    health["skipped"] = dict(health.get("skipped") or {})
    stamp = now.isoformat(timespec="seconds")
    if outcome.kind == SUCCESS:
        health["attempts"] += 1
        health["successes"] += 1
        health["last_success"] = stamp
    elif outcome.kind == FAILURE:
        reason = outcome.reason if outcome.reason in FAILURE_REASONS else "error"
        health["attempts"] += 1
        health["failures"][reason] += 1
        health["last_error"] = {"at": stamp, "reason": reason, "detail": truncate(outcome.detail, DETAIL_MAX)}
    elif outcome.kind == SKIPPED:
        health["skipped"][outcome.status] = health["skipped"].get(outcome.status, 0) + 1
    else:
        return health
    health["last_outcome"] = outcome.status
    return health


def record(outcomes: dict[str, SinkOutcome], *, extra: dict[str, dict] | None = None) -> None:
    """Add ``outcomes`` to the sinks' health rows in one locked transaction."""
    now = datetime.datetime.now(datetime.UTC)
    keys = [(CATEGORY, sink) for sink in outcomes]

    def change(current):
        return {
            (CATEGORY, sink): {
                **apply(current[(CATEGORY, sink)], sink, outcome, now=now),
                **((extra or {}).get(sink) or {}),
            }
            for sink, outcome in outcomes.items()
        }

    update_rows(keys, change)


def read() -> dict[str, dict]:
    """Every sink's health row, by sink name."""
    from memories.models import ProjectState

    rows = ProjectState.objects.filter(project=SYSTEM_PROJECT, category=CATEGORY).values_list("key", "value")
    return dict(rows)
