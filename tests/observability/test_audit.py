"""The audit trail: the original tests, then one section per rule of DESIGN.md.

Every test runs on SQLite and on PostgreSQL (DATABASE_URL).
"""

import datetime
import decimal
import threading
import uuid
import zoneinfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from structlog.testing import capture_logs

from memories import services
from memories.content import content_hash
from memories.errors import IllegalTransition
from memories.models import Memory, Project
from observability import audit
from observability.context import current
from observability.models import AppendOnlyError, MemoryAudit
from observability.selectors import memory_audit, recent_audit
from tests import factories

pytestmark = pytest.mark.django_db


def history(memory_id) -> list[MemoryAudit]:
    return list(memory_audit(memory_id))


def stored_snapshot(memory_id) -> dict:
    return audit.snapshot(Memory.objects.get(pk=memory_id))


def bulk_memories(count: int, *, project_name: str, **fields) -> list[Memory]:
    """Many memories in one INSERT (set-up only; not every branch audits bulk_create yet)."""
    factories.project(project_name)
    now = timezone.now()
    return Memory.objects.bulk_create(
        [
            Memory(
                memory_type="fact",
                content=f"{project_name} bulk memory {i}",
                project=project_name,
                created_at=now,
                updated_at=now,
                **fields,
            )
            for i in range(count)
        ]
    )


class Boom(Exception):
    pass


# -- the original AtoCore tests, names kept ---------------------------------------------


def test_audit_create_logs_entry():
    memory = factories.memory(
        content="The spindle runs at 12000 rpm", actor="api-http", note="first sighting"
    )

    [row] = history(memory.pk)

    assert row.action == "created"
    assert row.actor == "api-http"
    assert row.note == "first sighting"
    assert row.before is None
    assert row.after["content"] == "The spindle runs at 12000 rpm"
    assert row.after["status"] == "candidate"
    assert row.after["id"] == str(memory.pk)


def test_audit_promote_logs_entry():
    memory = factories.memory()

    services.promote_memory(memory, actor="human-triage", note="checked against the drawing")

    row = history(memory.pk)[-1]
    assert row.action == "promoted"
    assert row.actor == "human-triage"
    assert row.note == "checked against the drawing"
    assert row.before["status"] == "candidate"
    assert row.after["status"] == "active"


def test_audit_reject_logs_entry():
    memory = factories.memory()

    services.reject_candidate_memory(memory, actor="human-triage", note="duplicate")

    row = history(memory.pk)[-1]
    assert (row.action, row.actor, row.note) == ("rejected", "human-triage", "duplicate")
    assert (row.before["status"], row.after["status"]) == ("candidate", "rejected")


def test_audit_update_captures_before_after():
    memory = factories.memory(content="Bearing preload is 20 N")

    services.update_memory(memory, actor="api-http", content="Bearing preload is 25 N", confidence=0.8)

    row = history(memory.pk)[-1]
    assert row.action == "updated"
    assert (row.before["content"], row.after["content"]) == (
        "Bearing preload is 20 N",
        "Bearing preload is 25 N",
    )
    assert (row.before["confidence"], row.after["confidence"]) == (0.5, 0.8)
    assert row.before["content_hash"] == content_hash("Bearing preload is 20 N")
    assert row.after["content_hash"] == content_hash("Bearing preload is 25 N")


def test_audit_reinforce_logs_entry():
    memory = factories.memory()

    services.reinforce_memory(memory)

    row = history(memory.pk)[-1]
    assert (row.action, row.actor) == ("reinforced", "reinforcement")
    assert (row.before["reference_count"], row.after["reference_count"]) == (0, 1)
    assert (row.before["confidence"], row.after["confidence"]) == (0.5, 0.55)
    assert row.before["last_referenced_at"] is None
    assert row.after["last_referenced_at"] is not None


def test_recent_audit_returns_cross_memory_entries():
    first = factories.memory()
    second = factories.memory()
    services.promote_memory(first, actor="human-triage")
    services.reject_candidate_memory(second, actor="human-triage")

    rows = list(recent_audit(limit=10))

    assert [(r.memory_id, r.action) for r in rows] == [
        (second.pk, "rejected"),
        (first.pk, "promoted"),
        (second.pk, "created"),
        (first.pk, "created"),
    ]


# -- snapshots ---------------------------------------------------------------------------


def test_snapshot_writes_uuids_as_canonical_strings():
    old = factories.memory(status="active")
    new = factories.memory(status="active")
    services.supersede_memory(old, by=new, actor="human-triage")

    after = history(old.pk)[-1].after

    assert after["id"] == str(old.pk)
    assert after["superseded_by"] == str(new.pk)
    assert after["superseded_by"] == str(uuid.UUID(after["superseded_by"]))


def test_snapshot_writes_datetimes_as_iso_utc_with_microseconds():
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    created = datetime.datetime(2024, 3, 1, 9, 30, 0, tzinfo=paris)

    memory = factories.memory(created_at=created)

    assert history(memory.pk)[0].after["created_at"] == "2024-03-01T08:30:00.000000+00:00"
    assert stored_snapshot(memory.pk)["created_at"] == "2024-03-01T08:30:00.000000+00:00"


def test_snapshot_treats_a_naive_datetime_as_utc():
    naive = datetime.datetime(2024, 3, 1, 9, 30, 0, 42)  # noqa: DTZ001 (the case under test)

    assert audit.to_json_value(naive) == "2024-03-01T09:30:00.000042+00:00"


def test_snapshot_writes_decimals_as_exact_strings():
    assert audit.to_json_value(decimal.Decimal("0.10")) == "0.10"
    assert audit.to_json_value(decimal.Decimal("12345678901234567890.000000001")) == (
        "12345678901234567890.000000001"
    )


def test_snapshot_keeps_unicode_as_written():
    text = "Cafe\u0301 \u2014 \u65e5\u672c\u8a9e \u2713 \U0001f527"  # decomposed é, dash, CJK, emoji

    memory = factories.memory(content=text)

    after = history(memory.pk)[0].after
    assert after["content"] == text
    assert after["content_hash"] == content_hash("Caf\u00e9 \u2014 \u65e5\u672c\u8a9e \u2713 \U0001f527")


def test_reinforcement_snapshot_holds_the_resulting_integer():
    memory = factories.memory()
    services.reinforce_memory(memory)
    services.reinforce_memory(memory)

    row = history(memory.pk)[-1]

    assert row.after["reference_count"] == 2
    assert type(row.after["reference_count"]) is int


def test_snapshot_refuses_an_unresolved_expression():
    with pytest.raises(TypeError, match="unresolved expression"):
        audit.to_json_value(F("reference_count") + 1)


def test_action_for_names_each_transition():
    base = {"status": "candidate", "reference_count": 0}

    assert audit.action_for(None, base) == "created"
    assert audit.action_for(base, None) == "deleted"
    assert audit.action_for(base, {**base, "status": "active"}) == "promoted"
    assert audit.action_for(base, {**base, "status": "rejected"}) == "rejected"
    assert audit.action_for(base, {**base, "status": "invalid"}) == "invalidated"
    assert audit.action_for(base, {**base, "status": "superseded"}) == "superseded"
    assert audit.action_for(base, {**base, "reference_count": 1}) == "reinforced"
    assert audit.action_for(base, {**base, "content": "x"}) == "updated"
    assert audit.action_for({**base, "status": "rejected"}, base) == "updated"


# -- audit_context -----------------------------------------------------------------------


def test_audit_context_nesting_restores_the_outer_value():
    with audit.audit_context(actor="integrity-fix", note="outer", user="alice"):
        with audit.audit_context(actor="import", note="inner"):
            assert (current().actor, current().note, current().user) == ("import", "inner", "alice")
        assert (current().actor, current().note, current().user) == ("integrity-fix", "outer", "alice")
    assert (current().actor, current().note, current().user) == ("system", "", "")


def test_audit_context_is_restored_when_the_block_raises():
    with pytest.raises(Boom), audit.audit_context(actor="import"):
        raise Boom

    assert current().actor == "system"


def test_audit_context_values_never_cross_threads():
    both_inside = threading.Barrier(2, timeout=10)
    seen: dict[str, tuple[str, str]] = {}

    def work(name: str) -> None:
        with audit.audit_context(actor=f"actor-{name}", user=f"user-{name}"):
            both_inside.wait()  # each thread has set its value before either reads
            seen[name] = (current().actor, current().user)
            both_inside.wait()

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    with audit.audit_context(actor="main-thread"):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert current().actor == "main-thread"

    assert seen == {"a": ("actor-a", "user-a"), "b": ("actor-b", "user-b")}


def test_a_new_thread_does_not_inherit_the_ambient_actor():
    seen = []
    with audit.audit_context(actor="integrity-fix", user="alice"):
        thread = threading.Thread(target=lambda: seen.append((current().actor, current().user)))
        thread.start()
        thread.join()

    assert seen == [("system", "")]


# -- rule 1: same transaction ------------------------------------------------------------


def test_a_mutation_that_rolls_back_leaves_no_audit_row():
    factories.project()

    with pytest.raises(Boom), transaction.atomic():
        memory = services.create_memory(
            memory_type="fact", content="rolled back", project="demo", actor="test"
        )
        services.promote_memory(memory, actor="test")
        raise Boom

    assert not Memory.objects.filter(pk=memory.pk).exists()
    assert history(memory.pk) == []


def test_a_caught_failure_in_an_inner_savepoint_leaves_no_row_for_the_work_it_rolled_back():
    factories.project()

    with transaction.atomic():
        kept = services.create_memory(memory_type="fact", content="kept", project="demo", actor="test")
        try:
            with transaction.atomic():
                dropped = services.create_memory(
                    memory_type="fact", content="dropped", project="demo", actor="test"
                )
                services.promote_memory(kept, actor="test")
                raise Boom
        except Boom:
            pass
        services.reinforce_memory(kept)

    assert not Memory.objects.filter(pk=dropped.pk).exists()
    assert history(dropped.pk) == []
    assert [row.action for row in history(kept.pk)] == ["created", "reinforced"]
    assert Memory.objects.get(pk=kept.pk).status == "candidate"


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_raw_save_leaves_no_audit_row():
    memory = factories.memory(content="before")

    with pytest.raises(Boom), transaction.atomic():
        memory.content = "after"
        memory.save()
        raise Boom

    assert Memory.objects.get(pk=memory.pk).content == "before"
    assert [row.action for row in history(memory.pk)] == ["created"]


# -- rule 2: fail-open -------------------------------------------------------------------

AUDIT_TABLE = MemoryAudit._meta.db_table


@pytest.fixture
def audit_insert_fails(transactional_db):
    """A database trigger that makes every INSERT into the audit table fail."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'audit insert refused by a test trigger'; END $$"
            )
            cursor.execute(
                f"CREATE TRIGGER test_refuse_audit BEFORE INSERT ON {AUDIT_TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER test_refuse_audit BEFORE INSERT ON {AUDIT_TABLE} "
                "BEGIN SELECT RAISE(ABORT, 'audit insert refused by a test trigger'); END"
            )
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS test_refuse_audit ON {AUDIT_TABLE}")
            cursor.execute("DROP FUNCTION IF EXISTS test_refuse_audit()")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS test_refuse_audit")


def failure_events(logs: list[dict]) -> list[dict]:
    return [entry for entry in logs if entry["event"] == "audit_write_failed"]


@pytest.mark.django_db(transaction=True)
def test_a_failing_audit_insert_does_not_break_the_mutation_or_later_writes(audit_insert_fails):
    factories.project()
    failures_before = audit.failure_count()

    with capture_logs() as logs, transaction.atomic():
        memory = services.create_memory(memory_type="fact", content="kept", project="demo", actor="api-http")
        Project.objects.create(name="written-after-the-failure")

    assert not connection.in_atomic_block  # committed, not a savepoint of the test
    assert Memory.objects.get(pk=memory.pk).content == "kept"
    assert Project.objects.filter(name="written-after-the-failure").exists()
    assert MemoryAudit.objects.count() == 0
    [event] = failure_events(logs)
    assert event["log_level"] == "error"
    assert event["memory_ids"] == [str(memory.pk)]
    assert "audit insert refused by a test trigger" in event["error"]
    assert audit.failure_count() == failures_before + 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_audit_insert_does_not_break_a_later_service_call_in_the_same_block(audit_insert_fails):
    factories.project()
    failures_before = audit.failure_count()

    with capture_logs() as logs, transaction.atomic():
        memory = services.create_memory(memory_type="fact", content="kept", project="demo", actor="api-http")
        services.promote_memory(memory, actor="human-triage")

    assert Memory.objects.get(pk=memory.pk).status == "active"
    assert len(failure_events(logs)) == 2  # one per mutation, each logged once
    assert audit.failure_count() == failures_before + 2


@pytest.mark.django_db(transaction=True)
def test_a_failing_audit_insert_does_not_break_a_raw_save(audit_insert_fails):
    memory = factories.memory(content="before")  # its own audit row fails too
    failures_before = audit.failure_count()

    with capture_logs() as logs, transaction.atomic():
        memory.content = "after"
        memory.save()

    assert Memory.objects.get(pk=memory.pk).content == "after"
    assert len(failure_events(logs)) == 1
    assert audit.failure_count() == failures_before + 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_bulk_audit_insert_does_not_break_the_update(audit_insert_fails):
    memories = [factories.memory(project_name="bulk") for _ in range(3)]
    failures_before = audit.failure_count()

    with capture_logs() as logs, transaction.atomic():
        updated = Memory.objects.filter(project="bulk").update(confidence=0.9)
        Project.objects.create(name="written-after-the-failure")

    assert updated == 3
    assert set(
        Memory.objects.filter(pk__in=[m.pk for m in memories]).values_list("confidence", flat=True)
    ) == {0.9}
    assert Project.objects.filter(name="written-after-the-failure").exists()
    assert len(failure_events(logs)) == 1  # one failure for the whole batch, logged once
    assert audit.failure_count() == failures_before + 1


# -- rule 3: nothing bypasses it -----------------------------------------------------------


def test_a_raw_save_is_recorded_once_with_the_ambient_actor_and_user():
    memory = factories.memory(content="before")

    with audit.audit_context(actor="integrity-fix", user="alice", note="fixed by hand"):
        memory.content = "after"
        memory.save()

    rows = history(memory.pk)
    assert [row.action for row in rows] == ["created", "updated"]
    assert (rows[1].actor, rows[1].user, rows[1].note) == ("integrity-fix", "alice", "fixed by hand")
    assert (rows[1].before["content"], rows[1].after["content"]) == ("before", "after")
    assert rows[1].after == stored_snapshot(memory.pk)


def test_a_raw_save_without_an_ambient_actor_is_recorded_as_system():
    memory = factories.memory()

    memory.confidence = 0.9
    memory.save()

    row = history(memory.pk)[-1]
    assert (row.action, row.actor, row.user) == ("updated", "system", "")


def test_a_raw_create_is_recorded_once_as_created():
    factories.project()

    memory = Memory.objects.create(memory_type="fact", content="made in a shell", project="demo")

    [row] = history(memory.pk)
    assert (row.action, row.actor, row.before) == ("created", "system", None)
    assert row.after == stored_snapshot(memory.pk)


def test_a_service_call_is_recorded_exactly_once():
    memory = factories.memory()

    services.promote_memory(memory, actor="human-triage")
    services.update_memory(memory, actor="api-http", content="changed")
    services.reinforce_memory(memory)

    assert [(row.action, row.actor) for row in history(memory.pk)] == [
        ("created", "test"),
        ("promoted", "human-triage"),
        ("updated", "api-http"),
        ("reinforced", "reinforcement"),
    ]


def test_queryset_update_records_one_row_per_affected_memory():
    memories = bulk_memories(4, project_name="bulk")
    untouched = factories.memory(project_name="other")
    rows_before = MemoryAudit.objects.count()

    with audit.audit_context(actor="integrity-fix"):
        updated = Memory.objects.filter(project="bulk").update(status="active")

    assert updated == 4
    new_rows = list(MemoryAudit.objects.order_by("id")[rows_before:])
    assert sorted(row.memory_id for row in new_rows) == sorted(m.pk for m in memories)
    assert {(row.action, row.actor) for row in new_rows} == {("promoted", "integrity-fix")}
    for row in new_rows:
        assert row.after == stored_snapshot(row.memory_id)
    assert [row.action for row in history(untouched.pk)] == ["created"]


def test_queryset_update_that_changes_nothing_records_nothing():
    bulk_memories(3, project_name="bulk", status="active")
    rows_before = MemoryAudit.objects.count()

    updated = Memory.objects.filter(project="bulk").update(status="active")

    assert updated == 3
    assert MemoryAudit.objects.count() == rows_before


@pytest.mark.parametrize(
    "empty",
    [lambda: Memory.objects.filter(pk__in=[]), lambda: Memory.objects.none()],
    ids=["pk_in_empty", "none"],
)
def test_queryset_update_of_an_empty_selection_updates_nothing(empty):
    factories.memory()
    rows_before = MemoryAudit.objects.count()

    assert empty().update(content="new", status="active") == 0
    assert MemoryAudit.objects.count() == rows_before


# SQLite (writers serialised, so the filter is stable): SAVEPOINT, [SAVEPOINT, INSERT ... SELECT
# audit, RELEASE], UPDATE, RELEASE. PostgreSQL also locks and pins the ids first: + SELECT ... FOR UPDATE.
QUERYSET_UPDATE_QUERIES = {"sqlite": 6, "postgresql": 7}[connection.vendor]


@pytest.mark.parametrize("rows", [5, 200])
def test_queryset_update_queries_do_not_grow_with_rows(rows, django_assert_num_queries):
    bulk_memories(rows, project_name="bulk")
    rows_before = MemoryAudit.objects.count()

    with django_assert_num_queries(QUERYSET_UPDATE_QUERIES):
        Memory.objects.filter(project="bulk").update(confidence=0.75)

    assert MemoryAudit.objects.count() == rows_before + rows


def test_queryset_update_of_content_keeps_the_hash_and_is_audited():
    memory = factories.memory(content="old text")

    Memory.objects.filter(pk=memory.pk).update(content="  new   text ")

    row = history(memory.pk)[-1]
    assert row.after["content_hash"] == content_hash("new text")
    assert row.after == stored_snapshot(memory.pk)


def test_a_deletion_keeps_the_full_before_snapshot():
    memory = factories.memory(content="to be deleted")
    services.promote_memory(memory, actor="human-triage")
    stored = stored_snapshot(memory.pk)

    Memory.objects.get(pk=memory.pk).delete()

    rows = history(memory.pk)
    assert [row.action for row in rows] == ["created", "promoted", "deleted"]
    assert rows[-1].before == stored
    assert set(rows[-1].before) == {f.attname for f in Memory._meta.concrete_fields}
    assert rows[-1].after is None


def test_a_deletion_records_the_stored_row_not_unsaved_edits():
    memory = factories.memory(content="stored text")
    stored = stored_snapshot(memory.pk)

    memory_id = memory.pk
    memory.content = "an edit that was never saved"
    memory.delete()

    assert history(memory_id)[-1].before == stored


def test_a_queryset_delete_records_one_deleted_row_per_memory():
    memories = [factories.memory(project_name="doomed") for _ in range(3)]

    Memory.objects.filter(project="doomed").delete()

    for memory in memories:
        assert [row.action for row in history(memory.pk)] == ["created", "deleted"]


# -- rule 4: append-only -------------------------------------------------------------------


@pytest.fixture
def audit_row() -> MemoryAudit:
    memory = factories.memory(note="original note")
    return history(memory.pk)[0]


def assert_unchanged(row: MemoryAudit) -> None:
    stored = MemoryAudit.objects.get(pk=row.pk)
    assert (stored.note, stored.action, stored.after["id"]) == (
        "original note",
        "created",
        str(row.memory_id),
    )


def test_saving_an_audit_row_again_raises(audit_row):
    audit_row.note = "rewritten"

    with pytest.raises(AppendOnlyError):
        audit_row.save()

    assert_unchanged(audit_row)


def test_saving_a_new_instance_over_an_existing_audit_row_raises(audit_row):
    impostor = MemoryAudit(
        pk=audit_row.pk, memory_id=audit_row.memory_id, action="created", actor="x", note="forged"
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        impostor.save()

    assert_unchanged(audit_row)


def test_deleting_an_audit_row_raises(audit_row):
    with pytest.raises(AppendOnlyError):
        audit_row.delete()

    assert_unchanged(audit_row)


def test_updating_audit_rows_through_a_queryset_raises(audit_row):
    with pytest.raises(AppendOnlyError):
        MemoryAudit.objects.filter(pk=audit_row.pk).update(note="rewritten")

    assert_unchanged(audit_row)


def test_deleting_audit_rows_through_a_queryset_raises(audit_row):
    with pytest.raises(AppendOnlyError):
        MemoryAudit.objects.all().delete()

    assert_unchanged(audit_row)


def test_bulk_updating_audit_rows_raises(audit_row):
    audit_row.note = "rewritten"

    with pytest.raises(AppendOnlyError):
        MemoryAudit.objects.bulk_update([audit_row], ["note"])

    assert_unchanged(audit_row)


def test_update_or_create_of_an_audit_row_raises(audit_row):
    with pytest.raises(AppendOnlyError):
        MemoryAudit.objects.update_or_create(pk=audit_row.pk, defaults={"note": "rewritten"})

    assert_unchanged(audit_row)


def test_bulk_create_cannot_overwrite_audit_rows_on_conflict(audit_row):
    forged = MemoryAudit(
        pk=audit_row.pk, memory_id=audit_row.memory_id, action="created", actor="x", note="forged"
    )

    with pytest.raises(AppendOnlyError):
        MemoryAudit.objects.bulk_create(
            [forged], update_conflicts=True, unique_fields=["id"], update_fields=["note"]
        )

    assert_unchanged(audit_row)


# -- cost of a service call ----------------------------------------------------------------


def test_an_audited_transition_costs_a_fixed_number_of_queries(django_assert_num_queries):
    memory = factories.memory()

    # SAVEPOINT, SELECT ... FOR UPDATE, UPDATE, [SAVEPOINT, INSERT audit, RELEASE], RELEASE; on
    # PostgreSQL the bracketed three travel as one statement (one round trip).
    with django_assert_num_queries({"sqlite": 7, "postgresql": 5}[connection.vendor]):
        services.promote_memory(memory, actor="human-triage")


def test_the_audit_insert_is_one_query_per_mutation():
    memory = factories.memory()

    with CaptureQueriesContext(connection) as queries:
        services.reinforce_memory(memory)

    audit_inserts = [
        q["sql"] for q in queries.captured_queries if "INSERT" in q["sql"] and AUDIT_TABLE in q["sql"]
    ]
    assert len(audit_inserts) == 1


# -- rule 5: complete ----------------------------------------------------------------------

contents = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=24
).filter(lambda text: text.strip())
statuses = st.sampled_from(["candidate", "active", "rejected", "invalid", "superseded"])
confidences = st.floats(min_value=0, max_value=1, allow_nan=False)
updates = st.fixed_dictionaries(
    {},
    optional={
        "content": contents,
        "memory_type": st.sampled_from(["fact", "decision", "preference", "knowledge"]),
        "project": st.sampled_from(["demo", "other"]),
        "confidence": confidences,
        "source_chunk_id": st.one_of(st.none(), st.text(alphabet="0123456789abcdef", min_size=1, max_size=8)),
    },
)
raw_changes = st.fixed_dictionaries(
    {},
    optional={
        "content": contents,
        "status": statuses,
        "confidence": confidences,
        "reference_count": st.integers(min_value=0, max_value=5),
    },
)


class AuditTrailMachine(RuleBasedStateMachine):
    """Random service calls and raw writes; every memory's audit rows must replay to its row."""

    memories = Bundle("memories")

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()  # one savepoint per example, rolled back in teardown
        factories.project("demo")
        factories.project("other")
        self.ids: list[uuid.UUID] = []

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def attempt(self, call, *args, **kwargs):
        try:
            call(*args, **kwargs)
        except (IllegalTransition, Memory.DoesNotExist):
            pass

    @rule(
        target=memories,
        content=contents,
        status=statuses,
        confidence=confidences,
        age_days=st.one_of(st.none(), st.integers(min_value=0, max_value=40)),
    )
    def create(self, content, status, confidence, age_days):
        created_at = None if age_days is None else timezone.now() - datetime.timedelta(days=age_days)
        memory = services.create_memory(
            memory_type="fact",
            content=content,
            project="demo",
            confidence=confidence,
            status=status,
            actor="test",
            created_at=created_at,
        )
        self.ids.append(memory.pk)
        return memory.pk

    @rule(memory_id=memories, fields=updates)
    def update(self, memory_id, fields):
        self.attempt(services.update_memory, memory_id, actor="api-http", **fields)

    @rule(memory_id=memories)
    def promote(self, memory_id):
        self.attempt(services.promote_memory, memory_id, actor="human-triage")

    @rule(memory_id=memories)
    def reject(self, memory_id):
        self.attempt(services.reject_candidate_memory, memory_id, actor="human-triage")

    @rule(memory_id=memories)
    def invalidate(self, memory_id):
        self.attempt(services.invalidate_memory, memory_id, actor="human-triage")

    @rule(memory_id=memories, successor_id=memories)
    def supersede(self, memory_id, successor_id):
        self.attempt(services.supersede_memory, memory_id, by=successor_id, actor="human-triage")

    @rule(memory_id=memories)
    def reinforce(self, memory_id):
        self.attempt(services.reinforce_memory, memory_id)

    @rule(
        max_age_days=st.integers(min_value=0, max_value=20), days_ahead=st.integers(min_value=0, max_value=30)
    )
    def expire(self, max_age_days, days_ahead):
        now = timezone.now() + datetime.timedelta(days=days_ahead)
        services.expire_stale_candidates(max_age_days=max_age_days, now=now)

    @rule(threshold=st.integers(min_value=0, max_value=3))
    def auto_promote(self, threshold):
        services.auto_promote_reinforced(min_reinforcements=threshold)

    @rule(memory_id=memories, changes=raw_changes, actor=st.sampled_from([None, "integrity-fix"]))
    def raw_save(self, memory_id, changes, actor):
        memory = Memory.objects.filter(pk=memory_id).first()
        if memory is None:
            return
        for name, value in changes.items():
            setattr(memory, name, value)
        if actor is None:
            memory.save()
        else:
            with audit.audit_context(actor=actor):
                memory.save()

    @rule(memory_ids=st.lists(memories, max_size=3), changes=raw_changes, bump=st.booleans())
    def raw_update(self, memory_ids, changes, bump):
        values = dict(changes)
        if bump:
            values["reference_count"] = F("reference_count") + 1
        if values:
            Memory.objects.filter(pk__in=memory_ids).update(**values)

    @rule(memory_id=consumes(memories))
    def delete(self, memory_id):
        Memory.objects.filter(pk=memory_id).delete()

    @invariant()
    def audit_rows_replay_to_the_current_row(self):
        current_rows = {m.pk: audit.snapshot(m) for m in Memory.objects.filter(pk__in=self.ids)}
        for memory_id in self.ids:
            rows = history(memory_id)
            assert rows, f"no audit rows for {memory_id}"
            assert rows[0].before is None
            for previous, row in zip(rows, rows[1:], strict=False):
                assert row.before == previous.after, f"broken chain at {row.action} of {memory_id}"
                assert row.action == audit.action_for(row.before, row.after)
            assert rows[-1].after == current_rows.get(memory_id)


def test_folding_the_audit_rows_reproduces_every_memory():
    run_state_machine_as_test(
        AuditTrailMachine,
        settings=hypothesis_settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_a_bulk_update_names_its_action_as_action_for_does():
    """Found by the state machine: status kept + count raised is a reinforcement."""
    same_status = factories.memory()
    moved = factories.memory()

    Memory.objects.filter(pk=same_status.pk).update(reference_count=1, status="candidate")
    Memory.objects.filter(pk=moved.pk).update(reference_count=5, status="active")

    assert memory_audit(same_status.pk).last().action == "reinforced"
    assert memory_audit(moved.pk).last().action == "promoted"
