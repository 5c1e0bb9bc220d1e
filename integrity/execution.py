"""Running one check: its query, its samples, its trend against the previous run.

A persisted run writes the check's findings with one ``INSERT ... SELECT`` (the check's
query runs once, in the database), then reads the samples and compares fingerprints
with the previous run, all in SQL: the queries per check do not grow with the rows.
A read-only run (a dry run) gets the count and the samples from one windowed SELECT.
Each check runs in its own transaction, under a statement timeout on PostgreSQL.
"""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from integrity.checks import Check, Sql
from integrity.models import IntegrityFinding, IntegrityRun

STATUS_OK, STATUS_FINDINGS, STATUS_ERROR = "ok", "findings", "error"
ERROR_TEXT_MAX = 500


@dataclass
class CheckOutcome:
    name: str
    status: str
    count: int | None = None
    samples: list[Any] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)
    extra_total: int | None = None
    trend: dict | None = None
    duration_ms: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict:
        data = {
            "status": self.status,
            "count": self.count,
            "samples": self.samples,
            "details": self.details,
            "duration_ms": self.duration_ms,
            "trend": self.trend,
        }
        if self.extra_total is not None:
            data["extra_total"] = self.extra_total
        if self.error is not None:
            data["error"] = self.error
        return data


def run_check(check: Check, *, run_id: int | None, sample: int) -> CheckOutcome:
    """Run one check; a failure becomes an ``error`` outcome carrying the exception text."""
    started = time.perf_counter()
    try:
        with transaction.atomic():
            _set_statement_timeout()
            outcome = _persisted(check, run_id, sample) if run_id is not None else _read_only(check, sample)
    except Exception as exc:  # one broken check must not stop the others
        text = f"{type(exc).__name__}: {exc}".strip()[:ERROR_TEXT_MAX]
        outcome = CheckOutcome(name=check.name, status=STATUS_ERROR, error=text)
    outcome.duration_ms = round((time.perf_counter() - started) * 1000, 3)
    return outcome


def _set_statement_timeout() -> None:
    timeout_ms = int(settings.ATOCORE_INTEGRITY_CHECK_TIMEOUT_SECONDS * 1000)
    if connection.vendor == "postgresql" and timeout_ms > 0:
        with connection.cursor() as cursor:
            # SET takes no bind parameters; the value is an int we computed.
            cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")


def _finding_table() -> str:
    return connection.ops.quote_name(IntegrityFinding._meta.db_table)


def _order(check: Check, column: str) -> str:
    if check.id_kind == "int":
        return f"CAST({column} AS BIGINT)"
    return Sql(connection).ordered(column)


def _persisted(check: Check, run_id: int, sample: int) -> CheckOutcome:
    table = _finding_table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (run_id, check_name, subject, fingerprint, detail, extra) "
            f"SELECT %s, %s, f.subject, f.fingerprint, f.detail, f.extra FROM ({check.sql(connection)}) f",
            [run_id, check.name],
        )
        count = cursor.rowcount
        rows, extra_total = [], 0
        if count:
            cursor.execute(
                f"SELECT subject, detail, extra, SUM(extra) OVER () FROM {table} "
                f"WHERE run_id = %s AND check_name = %s ORDER BY {_order(check, 'subject')} LIMIT %s",
                [run_id, check.name, max(sample, 1)],
            )
            rows = cursor.fetchall()
            extra_total = int(rows[0][3] or 0)
    outcome = _outcome(check, count, [row[:3] for row in rows[:sample]], extra_total)
    outcome.trend = _trend(check, run_id, count)
    return outcome


def _read_only(check: Check, sample: int) -> CheckOutcome:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT f.subject, f.detail, f.extra, COUNT(*) OVER (), SUM(f.extra) OVER () "
            f"FROM ({check.sql(connection)}) f ORDER BY {_order(check, 'f.subject')} LIMIT %s",
            [max(sample, 1)],
        )
        rows = cursor.fetchall()
    count = int(rows[0][3]) if rows else 0
    extra_total = int(rows[0][4] or 0) if rows else 0
    return _outcome(check, count, [row[:3] for row in rows[:sample]], extra_total)


def _outcome(check: Check, count: int, rows: list, extra_total: int) -> CheckOutcome:
    samples = [present_id(check.id_kind, subject) for subject, _, _ in rows]
    details = [
        _detail(check, sample_id, detail, extra)
        for sample_id, (_, detail, extra) in zip(samples, rows, strict=True)
    ]
    return CheckOutcome(
        name=check.name,
        status=STATUS_FINDINGS if count else STATUS_OK,
        count=count,
        samples=samples,
        details=details,
        extra_total=extra_total if check.detail_kind == "uuid_list" else None,
    )


def _detail(check: Check, sample_id: Any, detail: str | None, extra: int) -> dict:
    if check.detail_kind == "uuid_list":
        members = [present_id("uuid", m) for m in (detail or "").split(",") if m]
        return {"keep": sample_id, "members": members, "extra": extra}
    value = present_id(check.detail_kind, detail) if detail is not None else None
    return {"id": sample_id, check.detail_name: value}


def present_id(kind: str, value: Any) -> Any:
    """An id as the report shows it: canonical UUID text, an int, or the text itself."""
    if value is None:
        return None
    if kind == "uuid":
        return str(uuid.UUID(str(value)))
    if kind == "int":
        return int(value)
    return str(value)


def previous_run_id(check_name: str, *, before: int) -> int | None:
    """The latest finished run before ``before`` in which this check ran without error."""
    return (
        IntegrityRun.objects.filter(
            pk__lt=before,
            finished_at__isnull=False,
            **{f"result__checks__{check_name}__status__in": [STATUS_OK, STATUS_FINDINGS]},
        )
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )


def _trend(check: Check, run_id: int, count: int) -> dict:
    previous = previous_run_id(check.name, before=run_id)
    if previous is None:
        return {"previous_run_id": None, "new": count, "resolved": 0, "persisting": 0}
    table = _finding_table()
    absent = (
        f"SELECT COUNT(*) FROM {table} a WHERE a.run_id = %s AND a.check_name = %s AND NOT EXISTS "
        f"(SELECT 1 FROM {table} b WHERE b.run_id = %s AND b.check_name = %s AND b.fingerprint = a.fingerprint)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ({absent}), ({absent})",
            [run_id, check.name, previous, check.name, previous, check.name, run_id, check.name],
        )
        new, resolved = cursor.fetchone()
    return {"previous_run_id": previous, "new": new, "resolved": resolved, "persisting": count - new}
