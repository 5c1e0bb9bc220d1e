"""Running one check: its query, its samples, its trend against the previous run.

A persisted run writes the check's findings with one ``INSERT ... SELECT`` (the check's
query runs once, in the database), then reads the samples and compares fingerprints
with the previous run, all in SQL: the queries per check do not grow with the rows.
A read-only run (a dry run) gets the count and the samples from one windowed SELECT.
Each check runs in its own transaction, under a statement timeout on PostgreSQL.
"""

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from integrity.checks import Check, Sql
from integrity.models import IntegrityCheckResult, IntegrityFinding

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
    """PostgreSQL, for this check's transaction only: the timeout, and no JIT.

    The planner overestimates how many groups survive a HAVING (it cannot know drift is
    rare), which pushes plans over jit_above_cost; compiling them costs more than the
    scans and hash joins they would speed up.
    """
    timeout_ms = int(settings.ATOCORE_INTEGRITY_CHECK_TIMEOUT_SECONDS * 1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # SET takes no bind parameters; the value is an int computed here.
            cursor.execute(f"SET LOCAL statement_timeout = {max(timeout_ms, 0)}; SET LOCAL jit = off")


def _finding_table() -> str:
    return connection.ops.quote_name(IntegrityFinding._meta.db_table)


def _order(check: Check, column: str) -> str:
    if check.id_kind == "int":
        return f"CAST({column} AS BIGINT)"
    return Sql(connection).ordered(column)


def _persisted(check: Check, run_id: int, sample: int) -> CheckOutcome:
    table = _finding_table()
    with connection.cursor() as cursor:
        count = _insert_findings(cursor, check, run_id)
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


def _insert_findings(cursor, check: Check, run_id: int) -> int:
    """Write the check's findings for this run in SQL; returns how many there are.

    PostgreSQL never runs an INSERT ... SELECT in parallel, but it does run CREATE TABLE
    AS in parallel: the check's query goes into a temporary table first (dropped at
    commit; named per run and check, so a test's enclosing transaction never clashes).
    """
    columns = "run_id, check_name, subject, fingerprint, detail, extra"
    table = _finding_table()
    if connection.vendor != "postgresql":
        cursor.execute(
            f"INSERT INTO {table} ({columns}) "
            f"SELECT %s, %s, f.subject, f.fingerprint, f.detail, f.extra FROM ({check.sql(connection)}) f",
            [run_id, check.name],
        )
        return cursor.rowcount
    scratch = f"integrity_found_{run_id}_{hashlib.md5(check.name.encode()).hexdigest()[:12]}"
    cursor.execute(f"CREATE TEMPORARY TABLE {scratch} ON COMMIT DROP AS {check.sql(connection)}")
    cursor.execute(
        f"INSERT INTO {table} ({columns}) SELECT %s, %s, subject, fingerprint, detail, extra FROM {scratch}",
        [run_id, check.name],
    )
    return cursor.rowcount


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
        IntegrityCheckResult.objects.filter(
            check_name=check_name, run_id__lt=before, status__in=[STATUS_OK, STATUS_FINDINGS]
        )
        .order_by("-run_id")
        .values_list("run_id", flat=True)
        .first()
    )


def _trend(check: Check, run_id: int, count: int) -> dict:
    previous = previous_run_id(check.name, before=run_id)
    if previous is None:
        return {"previous_run_id": None, "new": count, "resolved": 0, "persisting": 0}
    # One pass over both runs' findings, grouped by fingerprint: no per-row lookups, so
    # the plan does not hinge on the findings table's statistics being fresh.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(CASE WHEN t.in_current = 1 AND t.in_previous = 0 THEN 1 ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN t.in_current = 0 AND t.in_previous = 1 THEN 1 ELSE 0 END), 0) "
            f"FROM (SELECT MAX(CASE WHEN run_id = %s THEN 1 ELSE 0 END) AS in_current, "
            f"MAX(CASE WHEN run_id = %s THEN 1 ELSE 0 END) AS in_previous "
            f"FROM {_finding_table()} WHERE check_name = %s AND run_id IN (%s, %s) GROUP BY fingerprint) t",
            [run_id, previous, check.name, run_id, previous],
        )
        new, resolved = (int(v) for v in cursor.fetchone())
    return {"previous_run_id": previous, "new": new, "resolved": resolved, "persisting": count - new}
