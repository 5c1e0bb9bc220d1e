"""Audited set-based updates of memories: one audit row per affected memory.

Used by the bulk services (expiry, auto-promotion) and, as a safety net, by every
``Memory.objects.filter(...).update(...)``. The affected rows are locked and read once,
then updated, re-read and audited in chunks: a constant number of queries per chunk,
whatever the chunk's size, and bounded memory.
"""

from itertools import islice

from django.db import transaction

from observability import audit

CHUNK_SIZE = 2000


def _chunks(items, size):
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def audited_update(queryset, *, values: dict, actor=None, note=None, user=None) -> int:
    """``queryset.update(**values)`` that writes one audit row per changed memory."""
    if queryset.query.is_sliced:
        raise TypeError("Cannot update a query once a slice has been taken.")
    model = queryset.model
    fields = [f.attname for f in model._meta.concrete_fields]
    updated = 0
    with transaction.atomic(using=queryset.db):
        before_rows = list(queryset.select_for_update().order_by("pk").values(*fields))
        for chunk in _chunks(before_rows, CHUNK_SIZE):
            ids = [row["id"] for row in chunk]
            base = model._default_manager.using(queryset.db).filter(pk__in=ids)
            updated += base._raw_update(**values)
            after = {row["id"]: audit.snapshot_values(row) for row in base.values(*fields)}
            changes = []
            for row in chunk:
                before = audit.snapshot_values(row)
                if after.get(row["id"]) != before:
                    changes.append((row["id"], before, after.get(row["id"])))
            audit.record_many(changes, actor=actor, note=note, user=user)
    return updated
