"""manage.py expire_stale_candidates and auto_promote: thin, audited, counted."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from memories import services
from memories.models import Memory
from observability.models import MemoryAudit
from tests import factories

pytestmark = pytest.mark.django_db


def run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


def days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def test_expire_rejects_stale_candidates_only_and_prints_the_count():
    stale = [factories.memory(created_at=days_ago(20)) for _ in range(2)]
    fresh = factories.memory(created_at=days_ago(3))
    out = run("expire_stale_candidates")
    assert out.strip() == "expired 2 stale candidates (no activity for 14 days)"
    assert [Memory.objects.get(pk=m.pk).status for m in stale] == ["rejected", "rejected"]
    assert Memory.objects.get(pk=fresh.pk).status == "candidate"


def test_expire_writes_one_audit_row_per_memory_by_candidate_expiry():
    stale = factories.memory(created_at=days_ago(20))
    run("expire_stale_candidates")
    row = MemoryAudit.objects.get(memory_id=stale.pk, action="rejected")
    assert row.actor == "candidate-expiry"


def test_expire_takes_the_max_age_from_the_option():
    factories.memory(created_at=days_ago(5))
    assert json.loads(run("expire_stale_candidates", "--max-age-days", "4", "--json")) == {
        "expired": 1,
        "max_age_days": 4,
    }


def test_a_recent_reinforcement_keeps_an_old_candidate_alive():
    old = factories.memory(created_at=days_ago(30))
    services.reinforce_memory(old)
    assert json.loads(run("expire_stale_candidates", "--json"))["expired"] == 0


def test_auto_promote_promotes_reinforced_candidates_and_prints_the_count():
    due = factories.memory()
    for _ in range(3):
        services.reinforce_memory(due)
    factories.memory()
    out = run("auto_promote")
    assert out.strip() == "promoted 1 candidates (reinforced at least 3 times)"
    assert Memory.objects.get(pk=due.pk).status == "active"
    assert MemoryAudit.objects.get(memory_id=due.pk, action="promoted").actor == "phase10-auto-promote"


def test_auto_promote_json_reports_the_count_and_threshold():
    once = factories.memory()
    services.reinforce_memory(once)
    assert json.loads(run("auto_promote", "--min-reinforcements", "1", "--json")) == {
        "promoted": 1,
        "min_reinforcements": 1,
    }


def test_running_the_nightly_moves_twice_changes_nothing_the_second_time():
    factories.memory(created_at=days_ago(20))
    run("expire_stale_candidates")
    rows = MemoryAudit.objects.count()
    assert json.loads(run("expire_stale_candidates", "--json"))["expired"] == 0
    assert json.loads(run("auto_promote", "--json"))["promoted"] == 0
    assert MemoryAudit.objects.count() == rows
