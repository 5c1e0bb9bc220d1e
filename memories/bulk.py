"""Audited set-based updates of memories: one audit row per changed memory.

Used by the bulk services (expiry, auto-promotion) and, as a safety net, by every
``Memory.objects.filter(...).update(...)``. The affected ids are locked and read once;
then, chunk by chunk, the audit rows are written by one INSERT ... SELECT (snapshots
built by the database) and the rows updated: a constant number of queries per chunk
and no Python work per row. Values that are expressions (F() and the like) cannot be
snapshotted in advance: they take the slower path that re-reads the rows.
"""

import datetime
import decimal
import uuid
from itertools import islice

from django.db import connections, transaction
from django.db.models import BooleanField, F, Func, Q

from observability import audit

CHUNK_SIZE = 5000
_LITERALS = (str, int, float, bool, decimal.Decimal, datetime.datetime, datetime.date, uuid.UUID, type(None))


def _chunks(items, size):
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _literal_patch(model, values: dict) -> dict | None:
    """The JSON the snapshot will hold for each new value, or None if one is an expression."""
    patch = {}
    for name, value in values.items():
        if not isinstance(value, _LITERALS):
            return None
        field = model._meta.get_field(name)
        patch[field.attname] = audit.to_json_value(field.to_python(value))
    return patch


def _unchanged(values: dict) -> Q:
    q = Q()
    for name, value in values.items():
        q &= Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})
    return q


def audited_update(queryset, *, values: dict, actor=None, note=None, user=None) -> int:
    """``queryset.update(**values)`` that writes one audit row per changed memory."""
    if queryset.query.is_sliced:
        raise TypeError("Cannot update a query once a slice has been taken.")
    patch = _literal_patch(queryset.model, values)
    with transaction.atomic(using=queryset.db):
        updated = 0
        for rows in _locked_batches(queryset, exact=patch is None):
            if patch is None:
                updated += _update_reading_back(rows, values, actor=actor, note=note, user=user)
            else:
                audit.record_set(
                    rows.exclude(_unchanged(values)), patch=patch, actor=actor, note=note, user=user
                )
                updated += rows._raw_update(**values)
    return updated


def _locked_batches(queryset, *, exact: bool):
    """The rows to change, as querysets that match the same rows in every statement.

    Inside our transaction SQLite holds its write lock (transactions begin IMMEDIATE),
    so nothing else can change a row between two statements: the filter itself is
    stable. PostgreSQL lets other transactions commit in between (READ COMMITTED), so
    the rows are locked and pinned by id, in chunks.
    """
    connection = connections[queryset.db]
    if connection.vendor == "sqlite" and not exact:
        yield queryset.order_by()
        return
    ids = list(queryset.select_for_update().order_by("pk").values_list("pk", flat=True))
    manager = queryset.model._default_manager.db_manager(queryset.db)
    for chunk in _chunks(ids, CHUNK_SIZE):
        yield manager.filter(_PkIn(chunk) if connection.vendor == "postgresql" else Q(pk__in=chunk))


class _PkIn(Func):
    """``pk = ANY(%s)``: one array parameter instead of thousands (cheaper to build and plan)."""

    output_field = BooleanField()

    def __init__(self, ids):
        self.ids = list(ids)
        super().__init__(F("pk"))

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"{sql} = ANY(%s)", (*params, self.ids)


def _update_reading_back(rows, values, *, actor, note, user) -> int:
    fields = [f.attname for f in rows.model._meta.concrete_fields]
    before = {row["id"]: audit.snapshot_values(row) for row in rows.values(*fields)}
    updated = rows._raw_update(**values)
    changes = []
    for row in rows.values(*fields):
        after = audit.snapshot_values(row)
        if after != before.get(row["id"]):
            changes.append((row["id"], before.get(row["id"]), after))
    audit.record_many(changes, actor=actor, note=note, user=user)
    return updated
