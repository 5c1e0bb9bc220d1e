"""The main job end to end on the real corpus (../shared/corpus, or ATOCORE_CORPUS_DIR).

ingest peps-2022 -> import projects and memories -> nightly -> ingest peps-2026 ->
integrity_check. Every expected number below is derived from memories.jsonl (see the
comments) and checked against the store, so that a lost or doubled audit row, a wrong
transition or a missed drift fails the test.
"""

import json
from collections import Counter
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from memories.models import Memory
from observability.models import MemoryAudit

pytestmark = [pytest.mark.corpus, pytest.mark.django_db]

# From memories.jsonl: final statuses of the 5,034 records.
IMPORTED_STATUSES = {"candidate": 4498, "active": 342, "rejected": 120, "invalid": 58, "superseded": 16}
# Replay: 1 create each, 1 row per reinforcement (1,311 in all), then promote (active),
# reject (rejected), promote + invalidate (invalid), promote + supersede (superseded).
IMPORT_AUDIT_ROWS = 5034 + 1311 + 342 + 120 + 2 * 58 + 2 * 16
# Nightly, run "now" (years after every created_at): the 4,466 candidates never reinforced
# are stale and rejected; the other 32 were reinforced during the import (activity now), and
# the 6 of them reinforced 3 or more times are auto-promoted.
EXPIRED = 4466
AUTO_PROMOTED = 6
AFTER_NIGHTLY = {
    "candidate": 4498 - EXPIRED - AUTO_PROMOTED,
    "active": 342 + AUTO_PROMOTED,
    "rejected": 120 + EXPIRED,
    "invalid": 58,
    "superseded": 16,
}


@pytest.fixture(scope="module")
def corpus():
    root = settings.ATOCORE_CORPUS_DIR
    if not (root / "memories.jsonl").is_file():
        pytest.skip(f"the corpus is not at {root} (set ATOCORE_CORPUS_DIR)")
    return root


def _statuses():
    return dict(Counter(Memory.objects.values_list("status", flat=True)))


def _integrity(*args):
    out = StringIO()
    try:
        call_command("integrity_check", "--json", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:  # exit 1 means findings, which this story expects
        assert exc.returncode == 1, exc
    return json.loads(out.getvalue())


def test_the_main_job_on_the_real_corpus(corpus):
    records = [json.loads(line) for line in (corpus / "memories.jsonl").open(encoding="utf-8")]
    assert dict(Counter(r["status"] for r in records)) == IMPORTED_STATUSES
    assert sum(r["reinforcements"] for r in records) == 1311

    call_command("ingest", str(corpus / "peps-2022"), stdout=StringIO(), stderr=StringIO())
    call_command(
        "import_memories",
        str(corpus / "memories.jsonl"),
        "--projects",
        str(corpus / "projects.jsonl"),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert _statuses() == IMPORTED_STATUSES
    assert MemoryAudit.objects.count() == IMPORT_AUDIT_ROWS
    assert MemoryAudit.objects.filter(action="created", actor="import").count() == 5034

    before = _integrity()
    assert before["checks"]["memory_missing_source_chunk"]["count"] == 0

    call_command("nightly", stdout=StringIO(), stderr=StringIO())
    assert _statuses() == AFTER_NIGHTLY
    assert MemoryAudit.objects.filter(actor="candidate-expiry", action="rejected").count() == EXPIRED
    assert (
        MemoryAudit.objects.filter(actor="phase10-auto-promote", action="promoted").count() == AUTO_PROMOTED
    )
    assert MemoryAudit.objects.count() == IMPORT_AUDIT_ROWS + EXPIRED + AUTO_PROMOTED

    call_command("ingest", str(corpus / "peps-2026"), stdout=StringIO(), stderr=StringIO())
    after = _integrity()
    assert after["checks"]["memory_missing_source_chunk"]["count"] > 0
