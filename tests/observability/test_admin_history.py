"""Alert history and integrity runs in the admin: view-only, readable, secrets redacted."""

import pytest

from integrity.models import IntegrityRun
from observability.alerts import emit_alert
from observability.models import AlertEvent
from tests.admin_support import add_integrity_run, integrity_result, superuser

pytestmark = pytest.mark.django_db

ALERTS = "/admin/observability/alertevent/"
RUNS = "/admin/integrity/integrityrun/"


@pytest.fixture
def root(client):
    client.force_login(superuser())
    return client


def test_the_alert_history_lists_alerts_newest_first(root):
    emit_alert("info", "first alert", "m")
    emit_alert("critical", "second alert", "m")
    html = root.get(ALERTS).content.decode()
    assert html.index("second alert") < html.index("first alert")


def test_the_alert_history_filters_by_severity(root):
    emit_alert("info", "an info", "m")
    emit_alert("warning", "a warning", "m")
    html = root.get(ALERTS, {"severity__exact": "warning"}).content.decode()
    assert "a warning" in html and "an info" not in html


def test_alert_events_are_view_only_for_a_superuser(root):
    emit_alert("warning", "kept", "m")
    event = AlertEvent.objects.get()
    assert root.get(f"{ALERTS}add/").status_code == 403
    assert root.get(f"{ALERTS}{event.pk}/delete/").status_code == 403
    detail = root.get(f"{ALERTS}{event.pk}/change/").content.decode()
    assert 'name="_save"' not in detail and "delete_selected" not in root.get(ALERTS).content.decode()


def test_an_alert_page_never_shows_a_webhook_token(root, settings):
    url = "https://discord.com/api/webhooks/7/VeryS3cretToken"
    settings.ATOCORE_ALERT_WEBHOOK = url
    event = AlertEvent.objects.create(
        severity="warning", title="t", sinks={"webhook": f"error: 404 for {url}"}, context={"hook": url}
    )
    html = root.get(f"{ALERTS}{event.pk}/change/").content.decode()
    assert "VeryS3cretToken" not in html and "https://discord.com/api/webhooks/7/****" in html


def test_integrity_runs_are_listed_with_their_findings(root):
    add_integrity_run(integrity_result())
    html = root.get(RUNS).content.decode()
    assert '<td class="field-total_findings">4</td>' in html


def test_an_integrity_run_page_shows_each_check(root):
    run = add_integrity_run(integrity_result())
    html = root.get(f"{RUNS}{run.pk}/change/").content.decode()
    assert "<tr><td><code>memory_missing_source_chunk</code></td><td>findings</td><td>3</td></tr>" in html


def test_integrity_runs_are_view_only_for_a_superuser(root):
    run = add_integrity_run(integrity_result())
    assert root.get(f"{RUNS}add/").status_code == 403
    assert root.get(f"{RUNS}{run.pk}/delete/").status_code == 403
    root.post(RUNS, {"action": "delete_selected", "_selected_action": [run.pk], "post": "yes"})
    assert IntegrityRun.objects.filter(pk=run.pk).exists()


def test_an_integrity_run_from_an_older_scan_still_renders(root):
    run = IntegrityRun.objects.create(result={"memory_missing_source_chunk": 2})
    assert root.get(f"{RUNS}{run.pk}/change/").status_code == 200
