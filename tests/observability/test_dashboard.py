"""observability.dashboard.dashboard_data(): small, tolerant, a fixed number of queries."""

import pytest

from memories import services
from observability import dashboard
from tests import factories

pytestmark = pytest.mark.django_db


def set_state(category: str, key: str, value) -> None:
    services.set_project_state(project="atocore", category=category, key=key, value=value)


def test_an_empty_store_gives_nulls_not_errors():
    data = dashboard.dashboard_data()
    assert data["integrity"] is None
    assert data["alerts"] == {"info": None, "warning": None, "critical": None}
    assert data["recent_mutations"] == []
    assert data["candidate_queue"]["size"] == 0
    assert (data["harness"]["pass_rate"], data["harness"]["result"]) == (None, None)


@pytest.mark.parametrize(
    ("value", "total", "checks"),
    [
        ({"total_findings": 4, "checks": {"a": {"count": 1}, "b": {"count": 3}}}, 4, {"a": 1, "b": 3}),
        ({"checks": [{"name": "a", "count": 2}, {"name": "b", "count": 5}]}, 7, {"a": 2, "b": 5}),
        ({"checks": {"a": 2}}, 2, {"a": 2}),
        ("a string", None, None),
        ([1, 2], None, None),
        ({"checks": {"a": {"count": "many"}}}, None, {"a": None}),
    ],
)
def test_the_integrity_summary_reads_whatever_shape_the_scan_stored(value, total, checks):
    set_state("status", "integrity_check_result", value)
    summary = dashboard.dashboard_data()["integrity"]
    assert (summary["total_findings"], summary["checks"], summary["result"]) == (total, checks, value)
    assert summary["ran_at"]


def test_a_harness_value_of_another_shape_gives_no_pass_rate():
    set_state("status", "harness_result", "passed")
    assert dashboard.dashboard_data()["harness"]["pass_rate"] is None


def test_the_last_ten_mutations_are_newest_first_with_a_preview():
    long_text = "word " * 40
    for i in range(11):
        factories.memory(content=f"memory {i}")
    services.promote_memory(factories.memory(content=long_text), actor="human-triage", user="bob")
    mutations = dashboard.dashboard_data()["recent_mutations"]
    assert len(mutations) == 10
    assert (mutations[0]["action"], mutations[0]["actor"], mutations[0]["user"]) == (
        "promoted",
        "human-triage",
        "bob",
    )
    assert len(mutations[0]["preview"]) == dashboard.PREVIEW_CHARS
    assert mutations[0]["preview"].endswith("…")
    assert mutations[2]["preview"] == "memory 10"


def test_a_deleted_memory_is_previewed_from_its_last_snapshot():
    memory = factories.memory(content="gone but shown")
    memory.delete()
    row = dashboard.dashboard_data()["recent_mutations"][0]
    assert (row["action"], row["preview"]) == ("deleted", "gone but shown")


@pytest.mark.parametrize("rows", [1, 40])
def test_dashboard_data_runs_three_queries_whatever_the_store_holds(django_assert_num_queries, rows):
    for _ in range(rows):
        factories.memory()
    set_state("status", "integrity_check_result", {"total_findings": 0})
    with django_assert_num_queries(3):
        dashboard.dashboard_data()
