"""The lifecycle services: legal moves, illegal moves, bad data, bulk moves, concurrency."""

import datetime
import threading
import time
import uuid

import pytest
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import F
from django.utils import timezone

from memories import services
from memories.content import content_hash
from memories.errors import IllegalTransition, InvalidMemoryData
from memories.models import Memory
from observability import audit
from observability.models import MemoryAudit
from observability.selectors import memory_audit
from tests import factories

pytestmark = pytest.mark.django_db

STATUSES = ["candidate", "active", "rejected", "invalid", "superseded"]
NOW = datetime.datetime(2026, 1, 15, 12, 0, 0, tzinfo=datetime.UTC)


def stored(memory) -> dict:
    return audit.snapshot(Memory.objects.get(pk=memory.pk))


def actions(memory) -> list[str]:
    return list(memory_audit(memory.pk).values_list("action", flat=True))


def bulk_candidates(count: int, *, created_at=None, **fields) -> list[Memory]:
    """Many memories in one INSERT (set-up for the bulk moves)."""
    factories.project("demo")
    created_at = created_at or timezone.now()
    return Memory.objects.bulk_create(
        [
            Memory(
                memory_type="fact",
                content=f"bulk candidate {i}",
                project="demo",
                created_at=created_at,
                updated_at=created_at,
                **fields,
            )
            for i in range(count)
        ]
    )


# -- legal moves -------------------------------------------------------------------------


def test_create_memory_stores_a_candidate_by_default():
    factories.project("demo")

    memory = services.create_memory(
        memory_type="decision", content="Use M6 bolts", project="demo", confidence=0.7, actor="api-http"
    )

    assert stored(memory) == audit.snapshot(memory)
    assert (memory.status, memory.confidence, memory.reference_count) == ("candidate", 0.7, 0)
    assert actions(memory) == ["created"]


@pytest.mark.parametrize("status", STATUSES)
def test_create_memory_stores_the_status_it_is_given(status):
    memory = factories.memory(status=status)

    assert Memory.objects.get(pk=memory.pk).status == status


def test_promote_moves_a_candidate_to_active():
    memory = factories.memory()

    returned = services.promote_memory(memory, actor="human-triage")

    assert Memory.objects.get(pk=memory.pk).status == "active"
    assert audit.snapshot(returned) == stored(memory)
    assert actions(memory) == ["created", "promoted"]


def test_reject_moves_a_candidate_to_rejected():
    memory = factories.memory()

    returned = services.reject_candidate_memory(memory, actor="human-triage")

    assert Memory.objects.get(pk=memory.pk).status == "rejected"
    assert audit.snapshot(returned) == stored(memory)
    assert actions(memory) == ["created", "rejected"]


def test_invalidate_moves_an_active_memory_to_invalid():
    memory = factories.memory(status="active")

    returned = services.invalidate_memory(memory, actor="human-triage")

    assert Memory.objects.get(pk=memory.pk).status == "invalid"
    assert audit.snapshot(returned) == stored(memory)
    assert actions(memory) == ["created", "invalidated"]


def test_supersede_moves_an_active_memory_to_superseded_by_an_active_successor():
    old = factories.memory(status="active")
    new = factories.memory(status="active")
    successor_before = stored(new)

    returned = services.supersede_memory(old, by=new, actor="human-triage", note="newer drawing")

    row = Memory.objects.get(pk=old.pk)
    assert (row.status, row.superseded_by) == ("superseded", new.pk)
    assert audit.snapshot(returned) == stored(old)
    assert stored(new) == successor_before
    assert actions(old) == ["created", "superseded"]
    assert actions(new) == ["created"]


@pytest.mark.parametrize("status", ["candidate", "active"])
def test_reinforce_counts_one_reference(status):
    memory = factories.memory(status=status, confidence=0.6)
    before = timezone.now()

    returned = services.reinforce_memory(memory)

    row = Memory.objects.get(pk=memory.pk)
    assert (row.status, row.reference_count, row.confidence) == (status, 1, 0.65)
    assert row.last_referenced_at >= before
    assert audit.snapshot(returned) == stored(memory)
    assert actions(memory) == ["created", "reinforced"]


def test_reinforce_caps_confidence_at_one():
    memory = factories.memory(confidence=0.98)

    services.reinforce_memory(memory)
    services.reinforce_memory(memory)

    row = Memory.objects.get(pk=memory.pk)
    assert (row.reference_count, row.confidence) == (2, 1.0)


@pytest.mark.parametrize("status", STATUSES)
def test_update_memory_changes_fields_in_any_status(status):
    factories.project("other")
    memory = factories.memory(status=status, content="old")

    services.update_memory(
        memory,
        actor="api-http",
        content="new",
        memory_type="preference",
        project="other",
        confidence=1,
        source_chunk_id="abc123",
    )

    row = Memory.objects.get(pk=memory.pk)
    assert (row.content, row.memory_type, row.project, row.confidence, row.source_chunk_id) == (
        "new",
        "preference",
        "other",
        1.0,
        "abc123",
    )
    assert row.status == status
    assert actions(memory) == ["created", "updated"]


@pytest.mark.parametrize("as_id", [lambda m: m.pk, lambda m: str(m.pk)], ids=["uuid", "str"])
def test_services_accept_a_memory_id(as_id):
    memory = factories.memory()

    services.reinforce_memory(as_id(memory))
    services.promote_memory(as_id(memory), actor="human-triage")
    services.update_memory(as_id(memory), actor="api-http", content="by id")

    assert actions(memory) == ["created", "reinforced", "promoted", "updated"]


# -- illegal moves -----------------------------------------------------------------------


def _supersede(memory, *, actor):
    return services.supersede_memory(memory, by=factories.memory(status="active"), actor=actor)


MOVES = {
    "promote": (services.promote_memory, {"candidate"}),
    "reject": (services.reject_candidate_memory, {"candidate"}),
    "invalidate": (services.invalidate_memory, {"active"}),
    "supersede": (_supersede, {"active"}),
    "reinforce": (services.reinforce_memory, {"candidate", "active"}),
}
ILLEGAL = [
    (action, status) for action, (_, allowed) in MOVES.items() for status in STATUSES if status not in allowed
]


@pytest.mark.parametrize(("action", "status"), ILLEGAL)
def test_an_illegal_move_raises_and_changes_nothing(action, status):
    move, _ = MOVES[action]
    memory = factories.memory(status=status)
    before = stored(memory)
    rows_before = MemoryAudit.objects.count()

    with pytest.raises(IllegalTransition) as raised:
        move(memory, actor="human-triage")

    assert (raised.value.memory_id, raised.value.from_status, raised.value.action) == (
        memory.pk,
        status,
        action,
    )
    assert stored(memory) == before
    assert MemoryAudit.objects.count() == rows_before + (1 if action == "supersede" else 0)  # the successor
    assert actions(memory) == ["created"]


def test_illegal_moves_cover_every_status_each_move_does_not_allow():
    assert len(ILLEGAL) == 4 + 4 + 4 + 4 + 3


@pytest.mark.parametrize(
    "call",
    [
        lambda pk: services.update_memory(pk, actor="a", content="x"),
        lambda pk: services.promote_memory(pk, actor="a"),
        lambda pk: services.reject_candidate_memory(pk, actor="a"),
        lambda pk: services.invalidate_memory(pk, actor="a"),
        lambda pk: services.supersede_memory(pk, by=factories.memory(status="active"), actor="a"),
        lambda pk: services.reinforce_memory(pk),
    ],
    ids=["update", "promote", "reject", "invalidate", "supersede", "reinforce"],
)
def test_an_unknown_id_raises_does_not_exist(call):
    with pytest.raises(Memory.DoesNotExist):
        call(uuid.uuid4())


def test_supersede_by_an_unknown_successor_raises_does_not_exist():
    memory = factories.memory(status="active")

    with pytest.raises(Memory.DoesNotExist):
        services.supersede_memory(memory, by=uuid.uuid4(), actor="human-triage")

    assert Memory.objects.get(pk=memory.pk).status == "active"


def test_a_memory_cannot_supersede_itself():
    memory = factories.memory(status="active")
    before = stored(memory)

    with pytest.raises(IllegalTransition, match="cannot supersede itself"):
        services.supersede_memory(memory, by=memory, actor="human-triage")

    assert stored(memory) == before
    assert actions(memory) == ["created"]


@pytest.mark.parametrize("successor_status", ["candidate", "rejected", "invalid", "superseded"])
def test_supersede_by_a_memory_that_is_not_active_raises_and_changes_nothing(successor_status):
    memory = factories.memory(status="active")
    successor = factories.memory(status=successor_status)
    before, successor_before = stored(memory), stored(successor)

    with pytest.raises(IllegalTransition, match=f"is {successor_status}, not active"):
        services.supersede_memory(memory, by=successor, actor="human-triage")

    assert (stored(memory), stored(successor)) == (before, successor_before)
    assert (actions(memory), actions(successor)) == (["created"], ["created"])


# -- updates that change nothing, bad data -----------------------------------------------------


def test_update_memory_to_the_same_values_writes_nothing():
    memory = factories.memory(content="same", confidence=0.5)
    before = stored(memory)

    returned = services.update_memory(
        memory, actor="api-http", content="same", confidence=0.5, project="demo"
    )

    assert stored(memory) == before == audit.snapshot(returned)
    assert actions(memory) == ["created"]


def test_update_memory_with_no_fields_writes_nothing():
    memory = factories.memory()
    before = stored(memory)

    services.update_memory(memory, actor="api-http")

    assert stored(memory) == before
    assert actions(memory) == ["created"]


BAD_VALUES = [
    ("content", ""),
    ("content", "   \n\t "),
    ("content", None),
    ("content", 42),
    ("content", "x" * 21),
    ("content", "nul \x00 inside"),
    ("memory_type", "opinion"),
    ("confidence", -0.01),
    ("confidence", 1.01),
    ("confidence", float("nan")),
    ("confidence", float("inf")),
    ("confidence", True),
    ("confidence", "0.5"),
    ("confidence", None),
    ("project", "no-such-project"),
    ("project", "de\x00mo"),
    ("project", 7),
    ("source_chunk_id", "c" * 65),
    ("source_chunk_id", 12),
    ("source_chunk_id", "nul\x00"),
]


@pytest.fixture
def short_content_limit(settings):
    settings.ATOCORE_MAX_CONTENT_CHARS = 20


@pytest.mark.usefixtures("short_content_limit")
@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_update_memory_refuses_a_bad_value_and_changes_nothing(field, value):
    memory = factories.memory(content="valid")
    before = stored(memory)

    with pytest.raises(InvalidMemoryData) as raised:
        services.update_memory(memory, actor="api-http", **{field: value})

    assert raised.value.field == field
    assert stored(memory) == before
    assert actions(memory) == ["created"]


@pytest.mark.usefixtures("short_content_limit")
@pytest.mark.parametrize(("field", "value"), BAD_VALUES)
def test_create_memory_refuses_a_bad_value_and_stores_nothing(field, value):
    factories.project("demo")
    fields = {"memory_type": "fact", "content": "valid", "project": "demo", field: value}

    with pytest.raises(InvalidMemoryData) as raised:
        services.create_memory(**fields, actor="api-http")

    assert raised.value.field == field
    assert (Memory.objects.count(), MemoryAudit.objects.count()) == (0, 0)


def test_create_memory_refuses_an_unknown_status():
    factories.project("demo")

    with pytest.raises(InvalidMemoryData) as raised:
        services.create_memory(memory_type="fact", content="x", project="demo", status="archived", actor="a")

    assert raised.value.field == "status"
    assert Memory.objects.count() == 0


@pytest.mark.parametrize("field", ["status", "reference_count", "superseded_by", "content_hash"])
def test_update_memory_refuses_a_field_it_cannot_change(field):
    memory = factories.memory()

    with pytest.raises(InvalidMemoryData) as raised:
        services.update_memory(memory, actor="api-http", **{field: "x"})

    assert raised.value.field == field
    assert actions(memory) == ["created"]


# -- content_hash is kept true by every write path ---------------------------------------------


def _by_service(memory):
    services.update_memory(memory, actor="a", content="  Caf\u0065\u0301   au lait ")


def _by_raw_save(memory):
    memory.content = "  Caf\u0065\u0301   au lait "
    memory.save()


def _by_raw_save_with_update_fields(memory):
    memory.content = "  Caf\u0065\u0301   au lait "
    memory.save(update_fields=["content"])


def _by_queryset_update(memory):
    Memory.objects.filter(pk=memory.pk).update(content="  Caf\u0065\u0301   au lait ")


@pytest.mark.parametrize(
    "write", [_by_service, _by_raw_save, _by_raw_save_with_update_fields, _by_queryset_update]
)
def test_every_write_path_keeps_content_hash_true(write):
    memory = factories.memory(content="something else")

    write(memory)

    row = Memory.objects.get(pk=memory.pk)
    assert row.content == "  Caf\u0065\u0301   au lait "
    assert row.content_hash == content_hash("Caf\u00e9 au lait")


def test_bulk_create_keeps_content_hash_true():
    memories = bulk_candidates(2)

    for memory in Memory.objects.filter(pk__in=[m.pk for m in memories]):
        assert memory.content_hash == content_hash(memory.content)


def test_objects_create_keeps_content_hash_true():
    factories.project("demo")

    memory = Memory.objects.create(
        memory_type="fact", content=" two  spaces ", project="demo", content_hash="x"
    )

    assert Memory.objects.get(pk=memory.pk).content_hash == content_hash("two spaces")


def test_queryset_update_refuses_content_from_an_expression():
    memory = factories.memory()

    with pytest.raises(TypeError, match="literal string"):
        Memory.objects.filter(pk=memory.pk).update(content=F("project"))


# -- expire_stale_candidates --------------------------------------------------------------------


def _candidate(*, created_at, last_referenced_at=None, status="candidate"):
    memory = factories.memory(created_at=created_at, status=status)
    if last_referenced_at is not None:
        Memory.objects.filter(pk=memory.pk).update(last_referenced_at=last_referenced_at)
    return memory


def _status(memory) -> str:
    return Memory.objects.get(pk=memory.pk).status


def test_expiry_rejects_a_candidate_just_older_than_the_cutoff():
    memory = _candidate(created_at=NOW - datetime.timedelta(days=14, microseconds=1))

    expired = services.expire_stale_candidates(now=NOW)

    assert (expired, _status(memory)) == (1, "rejected")
    row = memory_audit(memory.pk).last()
    assert (row.action, row.actor) == ("rejected", "candidate-expiry")
    assert "no activity for 14 days" in row.note
    assert Memory.objects.get(pk=memory.pk).updated_at == NOW


def test_expiry_keeps_a_candidate_exactly_at_the_cutoff():
    memory = _candidate(created_at=NOW - datetime.timedelta(days=14))

    assert services.expire_stale_candidates(now=NOW) == 0
    assert _status(memory) == "candidate"


def test_expiry_keeps_an_old_candidate_reinforced_recently():
    memory = _candidate(
        created_at=NOW - datetime.timedelta(days=30), last_referenced_at=NOW - datetime.timedelta(days=1)
    )

    assert services.expire_stale_candidates(now=NOW) == 0
    assert _status(memory) == "candidate"


def test_expiry_keeps_a_candidate_reinforced_exactly_at_the_cutoff():
    memory = _candidate(
        created_at=NOW - datetime.timedelta(days=30), last_referenced_at=NOW - datetime.timedelta(days=14)
    )

    assert services.expire_stale_candidates(now=NOW) == 0
    assert _status(memory) == "candidate"


def test_expiry_rejects_a_candidate_whose_last_reinforcement_is_stale():
    memory = _candidate(
        created_at=NOW - datetime.timedelta(days=30), last_referenced_at=NOW - datetime.timedelta(days=15)
    )

    assert services.expire_stale_candidates(now=NOW) == 1
    assert _status(memory) == "rejected"


@pytest.mark.parametrize("status", ["active", "rejected", "invalid", "superseded"])
def test_expiry_leaves_old_memories_that_are_not_candidates_alone(status):
    memory = _candidate(created_at=NOW - datetime.timedelta(days=100), status=status)

    assert services.expire_stale_candidates(now=NOW) == 0
    assert actions(memory) == ["created"]


def test_expiry_reads_its_default_age_from_settings(settings):
    settings.ATOCORE_CANDIDATE_MAX_AGE_DAYS = 3
    stale = _candidate(created_at=NOW - datetime.timedelta(days=4))
    fresh = _candidate(created_at=NOW - datetime.timedelta(days=2))

    assert services.expire_stale_candidates(now=NOW) == 1
    assert (_status(stale), _status(fresh)) == ("rejected", "candidate")


def test_expiry_takes_an_explicit_age_over_the_setting():
    memory = _candidate(created_at=NOW - datetime.timedelta(days=2))

    assert services.expire_stale_candidates(max_age_days=1, now=NOW) == 1
    assert _status(memory) == "rejected"


# SQLite (writers serialised, so the filter is stable): SAVEPOINT, [SAVEPOINT, INSERT ... SELECT
# audit, RELEASE], UPDATE, RELEASE. PostgreSQL also locks and pins the ids first: + SELECT ... FOR UPDATE.
BULK_MOVE_QUERIES = {"sqlite": 6, "postgresql": 7}[connection.vendor]


@pytest.mark.parametrize("rows", [10, 300])
def test_expiry_costs_the_same_queries_for_any_number_of_rows(rows, django_assert_num_queries):
    bulk_candidates(rows, created_at=NOW - datetime.timedelta(days=30))
    audit_rows = MemoryAudit.objects.count()

    with django_assert_num_queries(BULK_MOVE_QUERIES):
        expired = services.expire_stale_candidates(now=NOW)

    assert expired == rows
    assert MemoryAudit.objects.filter(action="rejected").count() == rows
    assert MemoryAudit.objects.count() == audit_rows + rows


# -- auto_promote_reinforced ----------------------------------------------------------------------


def _reinforced(times: int, *, status="candidate"):
    memory = factories.memory(status=status)
    for _ in range(times):
        services.reinforce_memory(memory)
    return memory


def test_auto_promotion_promotes_candidates_at_or_above_the_threshold():
    below, at, above = _reinforced(2), _reinforced(3), _reinforced(4)

    promoted = services.auto_promote_reinforced(min_reinforcements=3)

    assert promoted == 2
    assert (_status(below), _status(at), _status(above)) == ("candidate", "active", "active")
    row = memory_audit(at.pk).last()
    assert (row.action, row.actor, row.note) == (
        "promoted",
        "phase10-auto-promote",
        "reinforced at least 3 times",
    )


def test_auto_promotion_reads_its_default_threshold_from_settings(settings):
    settings.ATOCORE_AUTO_PROMOTE_MIN_REINFORCEMENTS = 1
    never, once = _reinforced(0), _reinforced(1)

    assert services.auto_promote_reinforced() == 1
    assert (_status(never), _status(once)) == ("candidate", "active")


def test_auto_promotion_uses_the_default_threshold_of_three():
    two, three = _reinforced(2), _reinforced(3)

    assert services.auto_promote_reinforced() == 1
    assert (_status(two), _status(three)) == ("candidate", "active")


@pytest.mark.parametrize("status", ["active", "rejected", "invalid", "superseded"])
def test_auto_promotion_leaves_memories_that_are_not_candidates_alone(status):
    memory = factories.memory(status=status)
    Memory.objects.filter(pk=memory.pk).update(reference_count=10)

    assert services.auto_promote_reinforced(min_reinforcements=3) == 0
    assert _status(memory) == status


@pytest.mark.parametrize("rows", [10, 300])
def test_auto_promotion_costs_the_same_queries_for_any_number_of_rows(rows, django_assert_num_queries):
    bulk_candidates(rows, reference_count=5)

    with django_assert_num_queries(BULK_MOVE_QUERIES):
        promoted = services.auto_promote_reinforced(min_reinforcements=3)

    assert promoted == rows
    assert MemoryAudit.objects.filter(action="promoted", actor="phase10-auto-promote").count() == rows


# -- concurrency ----------------------------------------------------------------------------------


def _in_thread(target, outcomes, name):
    def run():
        try:
            outcomes[name] = target()
        except IllegalTransition as exc:
            outcomes[name] = f"illegal from {exc.from_status}"
        except Exception as exc:  # reported in the assertion, not lost in the thread
            outcomes[name] = repr(exc)
        finally:
            connection.close()

    return threading.Thread(target=run, name=name)


@pytest.mark.django_db(transaction=True)
def test_two_threads_promoting_the_same_candidate_make_exactly_one_promotion():
    memory = factories.memory()
    start = threading.Barrier(2, timeout=10)
    outcomes: dict[str, str] = {}

    def promote():
        start.wait()
        services.promote_memory(memory.pk, actor="human-triage")
        return "promoted"

    threads = [_in_thread(promote, outcomes, name) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["illegal from active", "promoted"]
    assert _status(memory) == "active"
    assert MemoryAudit.objects.filter(memory_id=memory.pk, action="promoted").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_promotion_waits_for_a_concurrent_one_holding_the_row_and_then_fails():
    memory = factories.memory()
    first_holds_the_row = threading.Event()
    outcomes: dict[str, str] = {}

    def first():
        with db_transaction.atomic():
            services.promote_memory(memory.pk, actor="first")
            first_holds_the_row.set()
            time.sleep(0.5)  # the second caller arrives while this transaction is open
        return "promoted"

    def second():
        assert first_holds_the_row.wait(timeout=10)
        services.promote_memory(memory.pk, actor="second")
        return "promoted"

    threads = [_in_thread(first, outcomes, "first"), _in_thread(second, outcomes, "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes == {"first": "promoted", "second": "illegal from active"}
    assert list(memory_audit(memory.pk).values_list("action", "actor")) == [
        ("created", "test"),
        ("promoted", "first"),
    ]
