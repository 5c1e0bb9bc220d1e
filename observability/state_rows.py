"""Read-modify-write of system project state rows under a row lock.

Counters in project state (alert counts, sink health, the webhook gate) are updated
by concurrent processes; each update locks its rows first (SELECT ... FOR UPDATE on
PostgreSQL; SQLite's IMMEDIATE transactions serialise writers already).
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.db import IntegrityError, transaction

SYSTEM_PROJECT = "atocore"

Key = tuple[str, str]  # (category, key)


def update_rows(keys: Iterable[Key], change: Callable[[dict[Key, Any]], dict[Key, Any]]) -> dict[Key, Any]:
    """Lock the rows ``keys`` of the system project, call ``change`` with their current values
    (None where a row is missing) and write back what it returns. One transaction (a
    savepoint inside a caller's), so a failure leaves the caller's transaction usable."""
    keys = list(dict.fromkeys(keys))
    try:
        return _update_once(keys, change)
    except IntegrityError:  # another process inserted a missing row first: it exists now
        return _update_once(keys, change)


def _update_once(keys: list[Key], change: Callable[[dict[Key, Any]], dict[Key, Any]]) -> dict[Key, Any]:
    from django.db.models import Q

    from memories.models import ProjectState

    wanted = Q()
    for category, key in keys:
        wanted |= Q(category=category, key=key)
    with transaction.atomic():
        rows = {
            (row.category, row.key): row
            for row in ProjectState.objects.select_for_update().filter(wanted, project=SYSTEM_PROJECT)
        }
        new_values = change({k: (rows[k].value if k in rows else None) for k in keys})
        for k, value in new_values.items():
            row = rows.get(k)
            if row is None:
                ProjectState.objects.create(project=SYSTEM_PROJECT, category=k[0], key=k[1], value=value)
            elif value != row.value:
                row.value = value
                row.save(update_fields=["value", "updated_at"])
    return new_values
