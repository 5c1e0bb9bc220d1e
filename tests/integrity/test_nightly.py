"""manage.py nightly: the four steps in order, past a failed one, findings not a failure."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from integrity.checks import Check, registered
from integrity.models import IntegrityRun
from memories import services
from memories.models import Memory
from tests import factories

pytestmark = pytest.mark.django_db

STEPS = ["expire_stale_candidates", "auto_promote", "integrity_check", "pipeline_alerts"]


def nightly(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("nightly", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def test_nightly_runs_the_four_steps_in_order_one_line_each():
    code, out = nightly()
    lines = out.strip().splitlines()
    assert code == 0
    assert [line.split()[1] for line in lines] == STEPS
    assert all(line.startswith("ok") for line in lines)


def test_nightly_expires_stale_candidates_and_promotes_reinforced_ones():
    stale = factories.memory(created_at=timezone.now() - datetime.timedelta(days=30))
    reinforced = factories.memory()
    for _ in range(3):
        services.reinforce_memory(reinforced)
    code, out = nightly()
    assert "expired 1 stale candidates" in out
    assert "promoted 1 candidates" in out
    assert Memory.objects.get(pk=stale.pk).status == "rejected"
    assert Memory.objects.get(pk=reinforced.pk).status == "active"
    assert IntegrityRun.objects.count() == 1


def test_integrity_findings_alone_do_not_fail_the_night():
    factories.memory(source_chunk_id="gone")
    code, out = nightly()
    assert code == 0
    assert "1 findings" in out


def test_a_failed_step_is_reported_and_the_next_steps_still_run():
    broken = Check(
        name="nightly_broken_check",
        title="broken",
        subject="memory",
        id_kind="text",
        detail_name="d",
        detail_kind="text",
        build=lambda _sql: "SELECT broken FROM nowhere_at_all",
    )
    with registered(broken):
        code, out = nightly("--json")
    steps = {s["step"]: s for s in json.loads(out)["steps"]}
    assert code == 1
    assert (steps["integrity_check"]["ok"], steps["integrity_check"]["exit_code"]) == (False, 2)
    assert steps["pipeline_alerts"]["ok"] is True


def test_a_step_that_crashes_does_not_stop_the_others(settings):
    settings.ATOCORE_CANDIDATE_MAX_AGE_DAYS = "not a number"
    code, out = nightly()
    lines = out.strip().splitlines()
    assert code == 1
    assert lines[0].split()[:2] == ["FAILED", "expire_stale_candidates"]
    assert [line.split()[0] for line in lines[1:]] == ["ok", "ok", "ok"]


def test_nightly_json_is_one_document():
    code, out = nightly("--json")
    document = json.loads(out)
    assert document["ok"] is True
    assert [s["step"] for s in document["steps"]] == STEPS
