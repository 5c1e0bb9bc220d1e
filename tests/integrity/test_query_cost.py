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
