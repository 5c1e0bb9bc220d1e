"""observability.dashboard.dashboard_data(): tolerant reads of the scan, alerts and harness state."""

import datetime
import json
import uuid

import pytest
from django.utils import timezone

from integrity.models import IntegrityRun
from memories import services
from memories.models import ProjectState
from observability.alerts import emit_alert
from observability.dashboard import dashboard_data
from observability.models import MemoryAudit
from tests import factories
from tests.admin_support import add_integrity_run, fresh_cache, integrity_result, write_integrity_result  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

WEBHOOK = "https://discord.com/api/webhooks/123456789/s3cr3t-T0KEN-value"


def _state(category: str, key: str, value) -> None:
    services.set_project_state(project="atocore", category=category, key=key, value=value)


# -- nothing at all -------------------------------------------------------------------------


def test_an_empty_store_gives_never_ran_and_no_alerts():
    data = dashboard_data()
    assert data["integrity"]["ran"] is False
    assert data["integrity"]["stale"] is True
    assert data["integrity"]["checks"] == []
    assert data["alerts"] == {"info": None, "warning": None, "critical": None}
    assert data["recent_mutations"] == []
    assert data["queue"]["candidates"] == 0
    assert data["queue"]["harness"]["ran"] is False


def test_the_result_is_plain_json():
    factories.memory(content="some <b>content</b>")
    write_integrity_result(integrity_result())
    emit_alert("warning", "t", "m", {"when": timezone.now()})
    data = dashboard_data()
    assert json.loads(json.dumps(data)) == data


def test_the_dashboard_never_runs_a_scan_and_writes_no_state():
    before_state = ProjectState.objects.count()
    dashboard_data()
    assert IntegrityRun.objects.count() == 0
    assert ProjectState.objects.count() == before_state


# -- integrity ------------------------------------------------------------------------------


def test_the_integrity_result_gives_each_check_with_status_count_and_samples():
    write_integrity_result(integrity_result())
    checks = {c["name"]: c for c in dashboard_data()["integrity"]["checks"]}
    missing = checks["memory_missing_source_chunk"]
    assert (missing["status"], missing["count"], missing["new"], missing["resolved"]) == ("findings", 3, 1, 0)
    assert missing["samples"] == [str(uuid.UUID(int=i)) for i in (1, 2, 3)]
    assert missing["sample_target"] == "memory"
    assert checks["orphan_source_chunks"]["status"] == "error"
    assert checks["orphan_source_chunks"]["error"] == "statement timeout"
    assert checks["project_state_missing_project"]["sample_target"] == "projectstate"


def test_new_and_resolved_since_the_previous_run_are_read_from_the_result():
    write_integrity_result(integrity_result(new=5, resolved=[{"fingerprint": "a"}, {"fingerprint": "b"}]))
    integrity = dashboard_data()["integrity"]
    assert (integrity["new"], integrity["resolved"]) == (5, 2)


def test_a_result_of_an_hour_ago_is_fresh():
    write_integrity_result(integrity_result())
    integrity = dashboard_data()["integrity"]
    assert (integrity["ran"], integrity["stale"], integrity["run_id"]) == (True, False, "run-42")
    assert integrity["total_findings"] == 4


def test_a_result_older_than_26_hours_is_stale():
    old = timezone.now() - datetime.timedelta(hours=26, minutes=1)
    write_integrity_result(integrity_result(finished_at=old))
    assert dashboard_data()["integrity"]["stale"] is True


def test_a_result_of_25_hours_ago_is_not_stale():
    write_integrity_result(integrity_result(finished_at=timezone.now() - datetime.timedelta(hours=25)))
    assert dashboard_data()["integrity"]["stale"] is False


def test_an_older_scan_with_bare_counts_and_no_times_is_read():
    write_integrity_result({"memory_missing_source_chunk": 7, "orphan_source_chunks": 0})
    integrity = dashboard_data()["integrity"]
    counts = {c["name"]: (c["status"], c["count"]) for c in integrity["checks"]}
    assert counts == {"memory_missing_source_chunk": ("findings", 7), "orphan_source_chunks": ("ok", 0)}
    assert integrity["finished_at"] is not None  # the state row's own time
    assert (integrity["new"], integrity["resolved"]) == (None, None)


def test_an_older_scan_with_a_list_of_checks_is_read():
    write_integrity_result(
        {"ran_at": timezone.now().isoformat(), "checks": [{"name": "orphan_source_chunks", "count": 2}]}
    )
    checks = dashboard_data()["integrity"]["checks"]
    assert [(c["name"], c["count"], c["status"]) for c in checks] == [("orphan_source_chunks", 2, "findings")]


def test_an_unreadable_result_is_reported_not_raised():
    write_integrity_result("this is not a result")
    integrity = dashboard_data()["integrity"]
    assert (integrity["ran"], integrity["readable"], integrity["checks"]) == (True, False, [])


def test_without_state_the_latest_integrity_run_is_used():
    add_integrity_run(integrity_result(run_id="from-history"))
    integrity = dashboard_data()["integrity"]
    assert (integrity["source"], integrity["run_id"]) == ("history", "from-history")


def test_samples_given_as_groups_are_flattened_and_capped_at_twenty():
    groups = [{"ids": [str(uuid.UUID(int=i)), str(uuid.UUID(int=i + 100))]} for i in range(15)]
    write_integrity_result(
        integrity_result(checks={"duplicate_active_memories": {"count": 15, "samples": groups}})
    )
    check = dashboard_data()["integrity"]["checks"][0]
    assert len(check["samples"]) == 20
    assert check["samples"][:2] == [str(uuid.UUID(int=0)), str(uuid.UUID(int=100))]


# -- alerts and the webhook -----------------------------------------------------------------


def test_the_last_alert_per_severity_comes_from_state():
    emit_alert("warning", "Integrity findings", "3 memories lost their chunk", {"count": 3})
    alerts = dashboard_data()["alerts"]
    assert alerts["info"] is None and alerts["critical"] is None
    assert alerts["warning"]["title"] == "Integrity findings"
    assert alerts["warning"]["message"] == "3 memories lost their chunk"
    assert alerts["warning"]["time"] is not None


def test_an_alert_count_in_state_is_shown():
    _state(
        "alert", "last_critical", {"title": "t", "message": "m", "time": "2026-01-01T00:00:00Z", "count": 4}
    )
    critical = dashboard_data()["alerts"]["critical"]
    assert (critical["count"], critical["time"]) == (4, "2026-01-01T00:00:00+00:00")


def test_the_webhook_last_delivery_error_is_shown_without_its_token(settings):
    settings.ATOCORE_ALERT_WEBHOOK = WEBHOOK
    _state(
        "alert",
        "sink_health",
        {
            "webhook": {
                "attempts": 9,
                "failures": {"server_error": 2},
                "last_error": {
                    "time": "2026-02-01T10:00:00Z",
                    "reason": "server_error",
                    "message": f"500 from {WEBHOOK}",
                },
                "last_success": "2026-01-31T10:00:00Z",
            }
        },
    )
    webhook = dashboard_data()["webhook"]
    assert webhook["configured"] is True
    assert webhook["last_error"] == "server_error: 500 from https://discord.com/api/webhooks/123456789/****"
    assert (webhook["last_error_at"], webhook["attempts"]) == ("2026-02-01T10:00:00+00:00", 9)
    assert "s3cr3t" not in json.dumps(dashboard_data())


def test_a_webhook_token_in_an_alert_message_is_redacted(settings):
    settings.ATOCORE_ALERT_WEBHOOK = WEBHOOK
    _state("alert", "last_warning", {"title": "post failed", "message": f"could not post to {WEBHOOK}"})
    assert "s3cr3t" not in json.dumps(dashboard_data()["alerts"])


# -- mutations, queue, trends ---------------------------------------------------------------


def test_recent_mutations_are_the_last_ten_newest_first_with_a_preview():
    memories = [factories.memory(content=f"fact {i}") for i in range(12)]
    services.promote_memory(memories[0], actor="human-triage", user="alice")
    rows = dashboard_data()["recent_mutations"]
    assert len(rows) == 10
    assert (rows[0]["action"], rows[0]["actor"], rows[0]["user"]) == ("promoted", "human-triage", "alice")
    assert rows[0]["preview"] == "fact 0 \u2014 status: candidate \u2192 active"
    assert rows[1]["preview"] == "fact 11"


def test_a_long_change_is_truncated_in_the_preview():
    memory = factories.memory(content="short")
    services.update_memory(memory, actor="test", content="word " * 200)
    preview = dashboard_data()["recent_mutations"][0]["preview"]
    assert len(preview) <= 140 and preview.endswith("\u2026")


def test_the_queue_compares_candidates_with_the_threshold(settings):
    settings.ATOCORE_CANDIDATE_QUEUE_MAX = 2
    for _ in range(3):
        factories.memory()
    queue = dashboard_data()["queue"]
    assert (queue["candidates"], queue["candidates_max"], queue["candidates_over"]) == (3, 2, True)


def test_the_harness_pass_rate_is_compared_with_its_minimum():
    _state("status", "harness_result", {"passed": 16, "total": 20, "recorded_at": timezone.now().isoformat()})
    harness = dashboard_data()["queue"]["harness"]
    assert (harness["pass_rate"], harness["min_pass_rate"], harness["below"], harness["stale"]) == (
        0.8,
        0.85,
        True,
        False,
    )


def test_a_harness_result_older_than_48_hours_is_stale():
    old = (timezone.now() - datetime.timedelta(hours=49)).isoformat()
    _state("status", "harness_result", {"pass_rate": 0.9, "recorded_at": old})
    harness = dashboard_data()["queue"]["harness"]
    assert (harness["below"], harness["stale"]) == (False, True)


def test_findings_per_check_cover_the_last_runs_oldest_first():
    now = timezone.now()
    for hours, count in ((48, 5), (24, 3), (0, 1)):
        result = integrity_result(checks={"orphan_source_chunks": {"count": count}})
        add_integrity_run(result, started_at=now - datetime.timedelta(hours=hours))
    trend = dashboard_data()["trends"]["findings_per_check"]
    assert trend["series"] == {"orphan_source_chunks": [5, 3, 1]}
    assert len(trend["runs"]) == 3


def test_findings_trend_keeps_only_the_last_thirty_runs():
    now = timezone.now()
    for i in range(35):
        add_integrity_run(
            integrity_result(checks={"c": {"count": i}}), started_at=now - datetime.timedelta(hours=35 - i)
        )
    series = dashboard_data()["trends"]["findings_per_check"]["series"]["c"]
    assert series == list(range(5, 35))


def _backdated_audit(days_ago: int, action: str, n: int, now) -> None:
    stamp = now - datetime.timedelta(days=days_ago)
    MemoryAudit.objects.bulk_create(
        MemoryAudit(memory_id=uuid.uuid4(), action=action, actor="test", timestamp=stamp) for _ in range(n)
    )


def test_mutations_per_day_are_counted_by_action_over_thirty_days():
    now = timezone.now()
    _backdated_audit(3, "promoted", 4, now)
    _backdated_audit(3, "rejected", 1, now)
    _backdated_audit(40, "promoted", 9, now)  # outside the window
    trend = dashboard_data(now=now)["trends"]["mutations_per_day"]
    assert len(trend["days"]) == 30 and trend["days"][-1] == now.date().isoformat()
    day = trend["days"].index((now - datetime.timedelta(days=3)).date().isoformat())
    assert (trend["series"]["promoted"][day], trend["series"]["rejected"][day]) == (4, 1)
    assert sum(trend["series"]["promoted"]) == 4


def test_closed_days_are_served_from_the_cache_on_the_next_call(django_assert_num_queries):
    now = timezone.now()
    _backdated_audit(2, "created", 3, now)
    first = dashboard_data(now=now)
    with django_assert_num_queries(5):  # state, runs, recent, queue, today's mutations
        second = dashboard_data(now=now)
    assert second["trends"] == first["trends"]


def test_todays_mutations_are_always_counted_live():
    now = timezone.now()
    dashboard_data(now=now)
    factories.memory()
    series = dashboard_data(now=now)["trends"]["mutations_per_day"]["series"]
    assert series["created"][-1] == 1


def test_a_long_queue_is_counted_up_to_the_cap_only(settings, monkeypatch):
    monkeypatch.setattr("observability.dashboard.QUEUE_COUNT_CAP", 3)
    settings.ATOCORE_CANDIDATE_QUEUE_MAX = 0
    for _ in range(5):
        factories.memory()
    queue = dashboard_data()["queue"]
    assert (queue["candidates"], queue["candidates_capped"], queue["candidates_over"]) == (3, True, True)


def test_a_queue_under_the_cap_is_counted_exactly(settings):
    settings.ATOCORE_CANDIDATE_QUEUE_MAX = 200
    for _ in range(4):
        factories.memory()
    queue = dashboard_data()["queue"]
    assert (queue["candidates"], queue["candidates_capped"]) == (4, False)


def test_the_webhook_health_row_of_the_alerts_framework_is_read(settings):
    """The shape observability.sink_health writes: atocore/alert_health/webhook."""
    settings.ATOCORE_ALERT_WEBHOOK = WEBHOOK
    later = (timezone.now() + datetime.timedelta(minutes=10)).isoformat(timespec="seconds")
    _state(
        "alert_health",
        "webhook",
        {
            "sink": "webhook",
            "attempts": 4,
            "successes": 3,
            "failures": {"timeout": 0, "rate_limited": 1},
            "last_success": "2026-01-31T10:00:00+00:00",
            "last_error": {"at": "2026-02-01T10:00:00+00:00", "reason": "rate_limited", "detail": "HTTP 429"},
            "rate_limited_until": later,
            "backoff_until": None,
            "disabled": None,
        },
    )
    webhook = dashboard_data()["webhook"]
    assert webhook["last_error"] == "rate_limited: HTTP 429"
    assert (webhook["last_error_at"], webhook["last_success_at"]) == (
        "2026-02-01T10:00:00+00:00",
        "2026-01-31T10:00:00+00:00",
    )
    assert (webhook["attempts"], webhook["failures"]["rate_limited"], webhook["paused_until"]) == (
        4,
        1,
        later,
    )
    assert webhook["disabled"] is False


def test_a_disabled_webhook_is_reported(settings):
    _state("alert_health", "webhook", {"disabled": {"status": 404, "since": "2026-02-01T10:00:00+00:00"}})
    webhook = dashboard_data()["webhook"]
    assert (webhook["disabled"], webhook["disabled_since"]) == (True, "2026-02-01T10:00:00+00:00")


def test_the_result_of_the_integrity_scan_with_trends_per_check_is_read():
    """The shape integrity/runner.py writes: a top-level trend and one per check."""
    now = timezone.now()
    write_integrity_result(
        {
            "schema_version": 1,
            "run_id": 7,
            "started_at": now.isoformat(),
            "finished_at": now.isoformat(),
            "status": "findings",
            "total_findings": 2,
            "errors": 0,
            "trend": {"new": 2, "resolved": 3, "persisting": 0},
            "checks": {
                "memory_without_audit": {
                    "status": "findings",
                    "count": 2,
                    "samples": [str(uuid.UUID(int=5)), str(uuid.UUID(int=6))],
                    "details": {},
                    "duration_ms": 1.234,
                    "trend": {"new": 2, "resolved": 0, "persisting": 0},
                },
                "orphan_source_chunks": {"status": "error", "count": None, "error": "QueryCanceled: timeout"},
            },
        }
    )
    integrity = dashboard_data()["integrity"]
    assert (integrity["run_id"], integrity["new"], integrity["resolved"], integrity["stale"]) == (
        7,
        2,
        3,
        False,
    )
    checks = {c["name"]: c for c in integrity["checks"]}
    assert (checks["memory_without_audit"]["new"], checks["memory_without_audit"]["duration_ms"]) == (2, 1)
    assert (checks["orphan_source_chunks"]["status"], checks["orphan_source_chunks"]["count"]) == ("error", 0)


def test_a_run_still_going_is_left_out_of_history_and_trends():
    add_integrity_run(
        integrity_result(run_id="done"), started_at=timezone.now() - datetime.timedelta(hours=2)
    )
    IntegrityRun.objects.create(started_at=timezone.now())  # started, no result yet
    data = dashboard_data()
    assert data["integrity"]["run_id"] == "done"
    assert len(data["trends"]["findings_per_check"]["runs"]) == 1


def test_a_content_change_is_previewed_as_old_and_new():
    memory = factories.memory(content="old words")
    services.update_memory(memory, actor="test", content="new words", confidence=0.7)
    preview = dashboard_data()["recent_mutations"][0]["preview"]
    assert preview == "content: old words \u2192 new words; confidence: 0.5 \u2192 0.7"
