"""What an audit row changed, for people: changed fields, a field-by-field view, a preview.

Plain text only; templates escape it (content such as ``<script>`` shows as text).
"""

from collections.abc import Mapping
from typing import Any

# Derived from other fields or touched by every write: noise in a preview.
NOISY_FIELDS = frozenset({"updated_at", "content_hash"})
PREVIEW_CHARS = 140


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def short(value: Any, limit: int = 200) -> Any:
    """A JSON value for display: strings on one line and truncated; numbers as they are."""
    if isinstance(value, str):
        return truncate(" ".join(value.split()), limit)
    if value is None or isinstance(value, bool | int | float):
        return value
    return truncate(str(value), limit)


def field_rows(before: Mapping | None, after: Mapping | None) -> list[dict[str, Any]]:
    """Every field of either snapshot, in snapshot order, each marked changed or not."""
    before, after = before or {}, after or {}
    names = list(after) + [name for name in before if name not in after]
    return [
        {
            "field": name,
            "before": before.get(name),
            "after": after.get(name),
            "changed": before.get(name) != after.get(name),
        }
        for name in names
    ]


def changed_fields(before: Mapping | None, after: Mapping | None) -> list[dict[str, Any]]:
    """The fields that differ between two snapshots, noise left out."""
    return [row for row in field_rows(before, after) if row["changed"] and row["field"] not in NOISY_FIELDS]


def preview(before: Mapping | None, after: Mapping | None, limit: int = PREVIEW_CHARS) -> str:
    """One line: which memory (its content) and what changed, truncated.

    A creation or deletion shows the content alone (the action says which); a change of
    the content shows old and new; any other change leads with the content, then the
    fields that changed ("status: candidate → active").
    """
    snap = after or before or {}
    content = " ".join(str(snap.get("content", "")).split())
    if before is None or after is None:
        return truncate(content, limit)
    changes = changed_fields(before, after)
    parts = "; ".join(f"{c['field']}: {short(c['before'], 40)} → {short(c['after'], 40)}" for c in changes)
    if any(c["field"] == "content" for c in changes):
        return truncate(parts, limit)
    return truncate(f"{truncate(content, 60)} — {parts or 'no field changed'}", limit)
