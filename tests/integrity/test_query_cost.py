"""The scan's cost in queries is constant in rows, and no query uses NOT IN (subquery)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integrity.checks import all_checks
from integrity.execution import run_check
from integrity.models import IntegrityRun
from integrity.runner import run_integrity_check
from tests.integrity.helpers import plant_every_kind

pytestmark = pytest.mark.django_db

CHECKS = all_checks()
NOT_IN = re.compile(r"\bNOT\s+IN\s*\(", re.IGNORECASE)
# SAVEPOINT, SET LOCAL statement_timeout, CREATE TEMP TABLE AS, INSERT, samples, previous run,
# trend, RELEASE (PostgreSQL; SQLite needs neither the timeout nor the scratch table).
MAX_QUERIES_PER_CHECK = 8


def queries_of(func) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        func()
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_queries_per_check_are_the_same_for_10_and_1000_rows(check):
    plant_every_kind(10)
    run_integrity_check(checks=[check.name])  # a previous run, so the trend query runs too
    small = queries_of(lambda: run_integrity_check(checks=[check.name]))
    plant_every_kind(990)
    large = queries_of(lambda: run_integrity_check(checks=[check.name]))
    assert len(small) == len(large)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_one_check_costs_a_fixed_handful_of_queries(check, django_assert_max_num_queries):
    plant_every_kind(50)
    run_integrity_check(checks=[check.name])
    run = IntegrityRun.objects.create()
    with django_assert_max_num_queries(MAX_QUERIES_PER_CHECK):
        outcome = run_check(check, run_id=run.pk, sample=20)
    # plant_every_kind writes its memories in bulk, around the audit trail: 5 per n.
    assert outcome.count == (250 if check.name == "memory_without_audit" else 50)


def test_the_whole_scan_costs_the_same_queries_for_10_and_1000_rows():
    plant_every_kind(10)
    run_integrity_check()
    small = queries_of(run_integrity_check)
    plant_every_kind(990)
    large = queries_of(run_integrity_check)
    assert len(small) == len(large)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_the_check_sql_has_no_not_in_subquery(check):
    sql = check.sql(connection)
    assert not NOT_IN.search(sql)
    assert "EXISTS" in sql.upper() or "HAVING" in sql.upper()


def test_no_query_of_a_full_scan_uses_not_in():
    plant_every_kind(3)
    run_integrity_check()
    executed = queries_of(lambda: run_integrity_check(fix=True))
    assert executed
    assert not [sql for sql in executed if NOT_IN.search(sql)]


def test_each_check_is_a_single_select_statement():
    for check in CHECKS:
        sql = check.sql(connection).strip()
        assert sql.upper().startswith("SELECT")
        assert ";" not in sql


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner without statistics")
def test_memory_without_audit_probes_the_audit_rows_by_memory_not_by_action():
    # Without ANALYZE, SQLite could drive the anti-join by the action index: every
    # `created` row probed for every memory, 4.6 s on the 5,034-memory corpus.
    check = next(c for c in CHECKS if c.name == "memory_without_audit")
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {check.sql(connection)}")
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "audit_memory_time_idx" in plan
    assert "audit_action_time_idx" not in plan


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner without statistics")
def test_duplicate_groups_look_their_members_up_by_the_dedup_index():
    # Without statistics SQLite preferred an index already in created_at order for the
    # kept member: every active memory scanned for every group (1.5 s at 10,000 rows).
    check = next(c for c in CHECKS if c.name == "duplicate_active_memories")
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {check.sql(connection)}")
        lookups = [
            str(row[-1]) for row in cursor.fetchall() if str(row[-1]).startswith(("SEARCH k", "SCAN k"))
        ]
    assert len(lookups) >= 2  # the kept member, the member list (SQLite may list it twice)
    assert all("memory_dedup_idx" in line for line in lookups)
