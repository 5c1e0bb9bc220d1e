"""snapshot() computed by the database: a row as the same JSON, for set-based auditing.

Python's ``audit.snapshot`` and these expressions must agree exactly (canonical UUID
strings, ISO 8601 UTC datetimes with microseconds, numbers as numbers), so that a row
audited in bulk reads back like one audited by a service; tests assert the two agree.
"""

import json

from django.db.models import CharField, DateTimeField, F, Func, JSONField, UUIDField, Value
from django.db.models.functions import Cast


class _UUIDText(Func):
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        # SQLite stores a UUID as 32 hex digits: put the hyphens back.
        sql, params = compiler.compile(self.source_expressions[0])
        parts = "||'-'||".join(
            f"substr({sql}, {start}, {length})"
            for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        )
        return f"({parts})", params * 5

    def as_postgresql(self, compiler, connection, **extra):
        return compiler.compile(Cast(self.source_expressions[0], CharField()))


class _ISODateTime(Func):
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        # Stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC; microseconds only when non-zero.
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"(replace({sql}, ' ', 'T') || CASE WHEN instr({sql}, '.') = 0 THEN '.000000' ELSE '' END"
            f" || '+00:00')",
            params * 3,
        )

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"""to_char({sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')""", params


class JSONSnapshot(Func):
    """The row's concrete fields as a JSON object, like ``audit.snapshot(instance)``."""

    output_field = JSONField()

    def __init__(self, model, overrides: dict | None = None):
        """``overrides`` maps field names to the JSON values to show instead of the column."""
        overrides = overrides or {}
        pairs = []
        for field in model._meta.concrete_fields:
            value = F(field.attname)
            if field.attname in overrides:
                value = _json_value(overrides[field.attname])
            elif isinstance(field, UUIDField):
                value = _UUIDText(value)
            elif isinstance(field, DateTimeField):
                value = _ISODateTime(value)
            pairs += [Value(field.attname, output_field=CharField()), value]
        super().__init__(*pairs)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="json_object", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="jsonb_build_object", **extra)


def _json_value(value):
    """A JSON scalar as a SQL value that the JSON builders keep typed."""
    if value is None:
        return Value(None, output_field=CharField())
    if isinstance(value, bool | int | float):
        return _JSONLiteral(Value(json.dumps(value), output_field=CharField()))
    return Value(value, output_field=CharField())


class _JSONLiteral(Func):
    """A number or boolean given as JSON text, embedded as that JSON value."""

    output_field = JSONField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="json", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql})::jsonb", params
