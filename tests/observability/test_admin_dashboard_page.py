"""The admin index as the operations dashboard: panels, links, escaping, charts, query cost."""

import datetime
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from memories import services
from observability.alerts import emit_alert
from observability.audit import record
from tests import factories
from tests.admin_support import (  # noqa: F401
    add_integrity_run,
    counts_over,
    fresh_cache,
    full_counts_over,
    integrity_result,
    superuser,
    write_integrity_result,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]


@pytest.fixture
def admin_client_(client):
    client.force_login(superuser())
    return client


def _index(client) -> str:
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def _panel(html: str, panel: str) -> str:
    start = html.index(f'id="panel-{panel}"')
    return html[start : html.index("</section>", start)]


def test_the_dashboard_renders_with_no_data_at_all(admin_client_):
    html = _index(admin_client_)
    assert "The integrity scan has never run." in _panel(html, "integrity")
    assert 'id="integrity-stale"' in html
    assert _panel(html, "alerts").count(">none<") == 3
    assert "No mutations yet." in _panel(html, "mutations")
    assert "no scans yet" in _panel(html, "trends")


def test_the_dashboard_renders_a_result_written_by_an_older_scan(admin_client_):
    write_integrity_result({"memory_missing_source_chunk": 7})
    integrity = _panel(_index(admin_client_), "integrity")
    assert "memory_missing_source_chunk" in integrity
    assert "new: unknown" in integrity


def test_a_recent_scan_has_no_stale_badge(admin_client_):
    write_integrity_result(integrity_result())
    integrity = _panel(_index(admin_client_), "integrity")
    assert 'id="integrity-stale"' not in integrity
    assert ">fresh<" in integrity
    assert "2 new" in integrity and "1 resolved" in integrity


def test_a_scan_older_than_26_hours_has_the_stale_badge(admin_client_):
    write_integrity_result(integrity_result(finished_at=timezone.now() - datetime.timedelta(hours=30)))
    assert 'id="integrity-stale"' in _panel(_index(admin_client_), "integrity")


def test_each_check_shows_its_status_and_count(admin_client_):
    write_integrity_result(integrity_result())
    rows = []
    for row in _panel(_index(admin_client_), "integrity").split('<tr class="status-')[1:]:
        name = re.search(r"<code>(\w+)</code>", row).group(1)
        status = re.search(r'atocore-badge \w+">(\w+)<', row).group(1)
        count = re.search(r'<td class="num">(\d+)</td>', row).group(1)
        rows.append((name, status, count))
    assert ("memory_missing_source_chunk", "findings", "3") in rows
    assert ("orphan_source_chunks", "error", "0") in rows
    assert len(rows) == 4


def test_sample_ids_link_to_the_memory_list_filtered_to_them(admin_client_):
    memory = factories.memory(content="a memory whose chunk is gone")
    factories.memory(content="another memory")
    write_integrity_result(
        integrity_result(checks={"memory_missing_source_chunk": {"count": 1, "samples": [str(memory.pk)]}})
    )
    html = _panel(_index(admin_client_), "integrity")
    link = f"/admin/memories/memory/?id__in={memory.pk}"
    assert f'href="{link}"' in html
    listed = admin_client_.get(link).content.decode()
    assert "a memory whose chunk is gone" in listed and "another memory" not in listed


def test_the_last_alert_per_severity_is_shown_and_none_elsewhere(admin_client_):
    emit_alert("critical", "Integrity scan broken", "check orphan_source_chunks failed")
    alerts = _panel(_index(admin_client_), "alerts")
    assert "Integrity scan broken" in alerts
    assert alerts.count(">none<") == 2


def test_the_webhook_token_never_appears_on_the_page(admin_client_, settings):
    url = "https://discord.com/api/webhooks/42/tok3n-Secret-Value"
    settings.ATOCORE_ALERT_WEBHOOK = url
    services.set_project_state(
        project="atocore", category="alert", key="webhook", value={"last_error": f"404 Not Found for {url}"}
    )
    html = _index(admin_client_)
    assert "tok3n-Secret-Value" not in html
    assert "404 Not Found for https://discord.com/api/webhooks/42/****" in _panel(html, "alerts")


def test_recent_mutations_escape_html_in_content(admin_client_):
    factories.memory(content="<script>alert('x')</script> remember this")
    mutations = _panel(_index(admin_client_), "mutations")
    assert "<script>alert" not in mutations
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; remember this" in mutations


def test_recent_mutations_show_actor_user_and_a_link_to_the_memory(admin_client_):
    memory = factories.memory(content="to promote")
    services.promote_memory(memory, actor="human-triage", user="alice")
    first_row = _panel(_index(admin_client_), "mutations").split("<tbody>")[1].split("</tr>")[0]
    assert ">promoted<" in first_row and ">human-triage<" in first_row and ">alice<" in first_row
    assert f'href="/admin/memories/memory/{memory.pk}/change/"' in first_row


def test_the_queue_panel_compares_with_the_thresholds(admin_client_, settings):
    settings.ATOCORE_CANDIDATE_QUEUE_MAX = 1
    factories.memory()
    factories.memory()
    services.set_project_state(
        project="atocore",
        category="status",
        key="harness_result",
        value={"passed": 17, "total": 20, "recorded_at": timezone.now().isoformat()},
    )
    queue = _panel(_index(admin_client_), "queue")
    assert "<strong>2</strong> candidates</a> waiting for triage (threshold 1)" in queue
    assert ">over<" in queue
    assert "Harness pass rate <strong>85.0%</strong> (17 of 20), minimum 85.0%" in queue


def test_trends_are_inline_svg_without_scripts_or_remote_assets(admin_client_):
    add_integrity_run(integrity_result())
    factories.memory()
    trends = _panel(_index(admin_client_), "trends")
    assert trends.count("<svg") == 2
    assert "<script" not in trends and "http://" not in trends.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in trends
    assert "memory_missing_source_chunk (3)" in trends  # the legend names each check with its last count


def _fill(memories: int, audits_per_memory: int) -> None:
    now = timezone.now()
    for i in range(memories):
        memory = factories.memory(content=f"fact {i}")
        for _ in range(audits_per_memory - 1):
            services.reinforce_memory(memory)
    for day in range(3):
        add_integrity_run(integrity_result(), started_at=now - datetime.timedelta(days=day))
    write_integrity_result(integrity_result())
    emit_alert("warning", "w", "m")


def _queries_for_index(client) -> CaptureQueriesContext:
    client.get("/admin/")  # warm: closed days cached, session loaded
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/admin/").status_code == 200
    return captured


def test_the_dashboard_costs_the_same_queries_for_few_and_many_rows(client):
    client.force_login(superuser())
    _fill(2, 2)
    few = _queries_for_index(client)
    _fill(40, 5)
    many = _queries_for_index(client)
    assert len(few) == len(many)
    assert len(many) <= 9  # session, user, the dashboard's five


def test_the_dashboard_never_counts_the_whole_audit_table(client):
    client.force_login(superuser())
    _fill(5, 3)
    captured = _queries_for_index(client)
    assert full_counts_over(captured) == []
    # The one aggregate over audit rows is today's, bounded by the date.
    assert len(counts_over(captured)) == 1 and "timestamp" in counts_over(captured)[0]


def test_an_unknown_memory_id_in_a_mutation_still_links(admin_client_):
    gone = uuid.uuid4()
    record(gone, before={"content": "x"}, after=None, actor="system")
    assert f"/admin/memories/memory/{gone}/change/" in _panel(_index(admin_client_), "mutations")


def test_a_queue_past_the_count_cap_shows_a_plus(admin_client_, monkeypatch, settings):
    monkeypatch.setattr("observability.dashboard.QUEUE_COUNT_CAP", 2)
    settings.ATOCORE_CANDIDATE_QUEUE_MAX = 0
    for _ in range(3):
        factories.memory()
    assert "<strong>2+</strong> candidates</a>" in _panel(_index(admin_client_), "queue")


def test_a_disabled_webhook_shows_a_badge(admin_client_):
    services.set_project_state(
        project="atocore",
        category="alert_health",
        key="webhook",
        value={"disabled": {"status": 404, "since": "2026-02-01T10:00:00+00:00"}},
    )
    alerts = _panel(_index(admin_client_), "alerts")
    assert ">disabled</span> The hook is gone since 2026-02-01 10:00" in alerts
