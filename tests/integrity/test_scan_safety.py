"""A broken or slow check, and two runs at once: the scan stays safe to run from cron."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from integrity.checks import Check, all_checks, registered
from integrity.locking import LOCK_NAME, RunLock
from integrity.models import IntegrityLease, IntegrityRun
from observability.models import AlertEvent
from tests import factories
from tests.integrity.helpers import row_counts, run_command, run_json

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL only (advisory lock, statement timeout)"
)
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only (lease row)")


def sql_check(name: str, sql: str) -> Check:
    return Check(
        name=name,
        title=name,
        subject="memory",
        id_kind="text",
        detail_name="detail",
        detail_kind="text",
        build=lambda _sql: sql,
    )


FAILING = sql_check("a_failing_check", "SELECT subject FROM no_such_table_for_integrity")
AFTER = sql_check(
    "a_check_after_the_failure", "SELECT 'x' AS subject, 'x' AS fingerprint, NULL AS detail, 0 AS extra"
)


# -- a failing check ------------------------------------------------------------------


def test_a_failing_check_exits_2_and_the_other_checks_still_run():
    factories.memory(source_chunk_id="gone")
    with registered(FAILING), registered(AFTER):
        code, document = run_json()
    failed = document["checks"]["a_failing_check"]
    assert code == 2
    assert failed["status"] == "error"
    assert "no_such_table_for_integrity" in failed["error"]
    assert document["checks"]["memory_missing_source_chunk"]["count"] == 1
    assert document["checks"]["a_check_after_the_failure"]["count"] == 1
    assert IntegrityRun.objects.get().status == "error"


def test_a_failing_check_emits_one_critical_alert_beside_the_findings_warning():
    factories.memory(source_chunk_id="gone")
    with registered(FAILING):
        run_json()
    assert sorted(AlertEvent.objects.values_list("severity", flat=True)) == ["critical", "warning"]
    critical = AlertEvent.objects.get(severity="critical")
    assert "no_such_table_for_integrity" in critical.context["errors"]["a_failing_check"]


def test_a_failing_check_on_a_clean_store_emits_only_the_critical_alert():
    with registered(FAILING):
        assert run_command("--fail-level", "error")[0] == 2
    assert list(AlertEvent.objects.values_list("severity", flat=True)) == ["critical"]


def test_a_check_that_raises_in_python_is_reported_with_its_exception_text():
    def explode(_sql):
        raise RuntimeError("the check could not be built")

    broken = Check(
        name="a_raising_check",
        title="raises",
        subject="memory",
        id_kind="text",
        detail_name="d",
        detail_kind="text",
        build=explode,
    )
    with registered(broken):
        _, document = run_json()
    assert document["checks"]["a_raising_check"]["error"] == "RuntimeError: the check could not be built"


# -- statement timeout ----------------------------------------------------------------


@on_postgresql
def test_a_slow_check_is_cancelled_by_the_statement_timeout_and_the_rest_run(settings):
    settings.ATOCORE_INTEGRITY_CHECK_TIMEOUT_SECONDS = 0.05
    slow = sql_check(
        "a_slow_check",
        "SELECT 'x' AS subject, 'x' AS fingerprint, NULL AS detail, 0 AS extra FROM (SELECT pg_sleep(2)) s",
    )
    with registered(slow), registered(AFTER):
        code, document = run_json()
    assert code == 2
    assert "statement timeout" in document["checks"]["a_slow_check"]["error"]
    assert document["checks"]["a_slow_check"]["duration_ms"] < 1500
    assert document["checks"]["a_check_after_the_failure"]["count"] == 1


@on_postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_statement_timeout_is_local_to_each_check():
    # Real transactions (no test-wide one): SET LOCAL must end with each check's.
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
        run_json()
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before


# -- one run at a time ----------------------------------------------------------------


def test_a_held_lock_exits_3_and_writes_nothing():
    factories.memory(source_chunk_id="gone")
    with RunLock() as other:
        assert other.acquire()
        before = row_counts()
        code, document = run_json()
        assert row_counts() == before
    assert code == 3
    assert document == {"schema_version": 1, "status": "locked", "exit_code": 3}


def test_the_lock_is_released_after_a_run():
    run_json()
    with RunLock() as next_run:
        assert next_run.acquire()


def test_a_held_lock_also_stops_a_dry_run():
    with RunLock() as other:
        assert other.acquire()
        assert run_command("--fix", "--dry-run")[0] == 3


@on_postgresql
def test_a_crashed_holder_releases_the_advisory_lock_with_its_connection():
    crashed = RunLock()
    assert crashed.acquire()
    crashed._lock_connection.close()  # the process died: its session is gone
    crashed._lock_connection = None
    assert run_command()[0] == 0


@on_sqlite
def test_an_expired_lease_of_a_crashed_run_is_taken_over():
    IntegrityLease.objects.create(
        name=LOCK_NAME, holder="crashed", expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert run_command()[0] == 0
    assert IntegrityLease.objects.count() == 0  # taken over, then released


@on_sqlite
def test_a_live_lease_of_another_run_holds_the_lock():
    IntegrityLease.objects.create(
        name=LOCK_NAME, holder="running", expires_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    assert run_command()[0] == 3
    assert IntegrityLease.objects.get().holder == "running"


def test_all_builtin_checks_are_registered_after_test_registrations():
    with registered(FAILING):
        pass
    assert "a_failing_check" not in [c.name for c in all_checks()]
