"""manage.py integrity_check: persistence, JSON, exit codes, alerts, trends, sampling."""

import json
from pathlib import Path

import pytest

from integrity.checks import all_checks
from integrity.models import IntegrityRun
from memories.models import Memory, MemoryStatus, ProjectState
from memories.selectors import get_project_state
from memories.services import update_memory
from observability.models import AlertEvent
from tests import factories
from tests.integrity.helpers import run_command, run_json

pytestmark = pytest.mark.django_db

CHECK_NAMES = [c.name for c in all_checks()]


def plant_two_findings() -> None:
    factories.memory(source_chunk_id="gone")
    ProjectState.objects.create(project="ghost", category="c", key="k", value=1)


def stable(document: dict) -> dict:
    """The document without what differs from run to run on unchanged data (ids, times)."""
    data = {k: v for k, v in document.items() if k not in {"run_id", "started_at", "finished_at"}}
    data["checks"] = {
        name: {k: v for k, v in check.items() if k not in {"duration_ms", "trend"}}
        | {"trend": {k: v for k, v in (check["trend"] or {}).items() if k != "previous_run_id"}}
        for name, check in document["checks"].items()
    }
    return data


# -- clean and findings ---------------------------------------------------------------


def test_a_clean_store_exits_0_and_emits_no_alert():
    factories.memory()
    code, out = run_command()
    assert code == 0
    assert "0 findings" in out
    assert AlertEvent.objects.count() == 0


def test_findings_exit_1_and_emit_exactly_one_warning_with_counts_and_run_id():
    plant_two_findings()
    code, document = run_json()
    assert code == 1
    alert = AlertEvent.objects.get()
    assert alert.severity == "warning"
    assert alert.context["run_id"] == document["run_id"]
    assert alert.context["counts"] == {"memory_missing_source_chunk": 1, "project_state_missing_project": 1}
    assert f"run {document['run_id']}" in alert.message


def test_fail_level_error_maps_findings_to_exit_0():
    plant_two_findings()
    assert run_command("--fail-level", "error")[0] == 0


def test_the_human_output_names_every_check_and_caps_the_samples():
    for i in range(8):
        factories.memory(source_chunk_id=f"gone-{i}")
    code, out = run_command()
    assert all(name in out for name in CHECK_NAMES)
    assert "... and 3 more" in out


# -- JSON and persistence -------------------------------------------------------------


@pytest.mark.parametrize("with_findings", [False, True])
def test_json_prints_exactly_one_document_with_or_without_findings(with_findings):
    if with_findings:
        plant_two_findings()
    code, out = run_command("--json")
    document = json.loads(out)  # the whole of stdout is one JSON document
    assert document["exit_code"] == code == (1 if with_findings else 0)
    assert list(document["checks"]) == CHECK_NAMES


def test_the_result_is_persisted_in_project_state_and_a_run_row():
    plant_two_findings()
    _, document = run_json()
    stored = get_project_state(project="atocore", category="status", key="integrity_check_result")
    run = IntegrityRun.objects.get()
    assert stored == run.result == {k: v for k, v in document.items() if k != "exit_code"}
    assert stored["schema_version"] == 1
    assert stored["run_id"] == run.pk
    assert stored["started_at"] < stored["finished_at"]
    assert (run.status, run.total_findings, run.errors) == ("findings", 2, 0)
    check = stored["checks"]["memory_missing_source_chunk"]
    assert {"status", "count", "samples", "duration_ms"} <= set(check)
    assert check["duration_ms"] >= 0


def test_sample_caps_the_ids_kept_per_check_but_not_the_count():
    for i in range(5):
        factories.memory(source_chunk_id=f"gone-{i}")
    _, document = run_json("--sample", "2")
    check = document["checks"]["memory_missing_source_chunk"]
    assert (check["count"], len(check["samples"]), len(check["details"])) == (5, 2, 2)
    _, document = run_json("--sample", "0")
    check = document["checks"]["memory_missing_source_chunk"]
    assert (check["count"], check["samples"]) == (5, [])


def test_check_runs_only_the_named_checks():
    plant_two_findings()
    _, document = run_json("--check", "orphan_source_chunks", "--check", "memory_missing_source_chunk")
    assert list(document["checks"]) == ["memory_missing_source_chunk", "orphan_source_chunks"]
    assert document["total_findings"] == 1


def test_an_unknown_check_is_a_usage_error_and_writes_nothing():
    assert run_command("--check", "nope")[0] == 2
    assert IntegrityRun.objects.count() == 0


# -- trends ---------------------------------------------------------------------------


def test_the_first_run_reports_every_finding_as_new():
    plant_two_findings()
    _, document = run_json()
    assert document["trend"] == {"new": 2, "resolved": 0, "persisting": 0}


def test_a_second_run_on_unchanged_data_is_identical_with_nothing_new_or_resolved():
    plant_two_findings()
    _, first = run_json()
    _, second = run_json()
    _, third = run_json()
    assert second["trend"] == {"new": 0, "resolved": 0, "persisting": 2}
    assert stable(second) == stable(third)
    assert stable(first)["checks"].keys() == stable(second)["checks"].keys()
    assert all(
        stable(first)["checks"][n]["samples"] == stable(second)["checks"][n]["samples"] for n in CHECK_NAMES
    )
    assert second["checks"]["memory_missing_source_chunk"]["trend"]["previous_run_id"] == first["run_id"]


def test_trends_count_new_resolved_and_persisting_findings_per_check():
    kept = factories.memory(source_chunk_id="gone-1")
    fixed = factories.memory(source_chunk_id="gone-2")
    run_json()
    update_memory(fixed, actor="test", source_chunk_id=None)
    added = factories.memory(source_chunk_id="gone-3")
    _, document = run_json()
    check = document["checks"]["memory_missing_source_chunk"]
    assert {k: check["trend"][k] for k in ("new", "resolved", "persisting")} == {
        "new": 1,
        "resolved": 1,
        "persisting": 1,
    }
    assert check["samples"] == sorted([str(kept.pk), str(added.pk)])


def test_a_grown_duplicate_group_is_a_new_finding_and_the_old_group_resolved():
    for _ in range(2):
        factories.memory(content="dup", status=MemoryStatus.ACTIVE)
    run_json()
    factories.memory(content="dup", status=MemoryStatus.ACTIVE)
    _, document = run_json()
    trend = document["checks"]["duplicate_active_memories"]["trend"]
    assert (trend["new"], trend["resolved"], trend["persisting"]) == (1, 1, 0)


def test_trends_compare_with_the_last_run_of_the_same_check():
    plant_two_findings()
    first_run = run_json()[1]["run_id"]
    run_json("--check", "orphan_source_chunks")
    _, document = run_json()
    trend = document["checks"]["memory_missing_source_chunk"]["trend"]
    assert trend["previous_run_id"] == first_run
    assert trend["new"] == 0


# -- alerts go after the run, to the log file too -------------------------------------


def test_a_clean_run_after_a_run_with_findings_emits_nothing(settings):
    plant_two_findings()
    run_json()
    ProjectState.objects.filter(project="ghost").delete()
    Memory.objects.filter(source_chunk_id="gone").update(source_chunk_id=None)
    assert run_command()[0] == 0
    assert AlertEvent.objects.count() == 1
    lines = Path(settings.ATOCORE_ALERT_LOG).read_text().splitlines()
    assert len(lines) == 1 and "WARNING" in lines[0]
