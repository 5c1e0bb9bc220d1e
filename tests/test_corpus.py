"""The main job end to end on the real corpus (../shared/corpus, or ATOCORE_CORPUS_DIR).

ingest peps-2022 -> import projects and memories -> nightly -> ingest peps-2026 ->
integrity_check. Every expected number is derived from memories.jsonl (see the comments)
and checked against the store, so that a lost or doubled audit row, a wrong transition or
a missed drift fails the test. The drift is derived twice: from the corpus, and in the
test by a plain Python comparison of chunk ids that shares no code with the checks.
"""

import json
from collections import Counter
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from integrity.checks import all_checks
from memories.models import Memory, SourceChunk
from observability.models import AlertEvent, MemoryAudit

pytestmark = [pytest.mark.corpus, pytest.mark.django_db]

# From memories.jsonl: final statuses of the 5,034 records.
IMPORTED_STATUSES = {"candidate": 4498, "active": 342, "rejected": 120, "invalid": 58, "superseded": 16}
# Replay: 1 create each, 1 row per reinforcement (1,311 in all), then promote (active),
# reject (rejected), promote + invalidate (invalid), promote + supersede (superseded).
IMPORT_AUDIT_ROWS = 5034 + 1311 + 342 + 120 + 2 * 58 + 2 * 16
# Nightly, run "now" (years after every created_at): the 4,466 candidates never reinforced
# are stale and rejected; the other 32 were reinforced during the import (activity now),
# and the 6 of them reinforced 3 or more times are auto-promoted.
EXPIRED = 4466
AUTO_PROMOTED = 6
AFTER_NIGHTLY = {
    "candidate": 4498 - EXPIRED - AUTO_PROMOTED,
    "active": 342 + AUTO_PROMOTED,
    "rejected": 120 + EXPIRED,
    "invalid": 58,
    "superseded": 16,
}
# 6 records have no source; every quote of the other 5,028 is found in a 2022 chunk.
WITH_SOURCE = 5028
# Every 2026 document was edited, but chunks are content-addressed per section and
# paragraph: only the memories whose own chunk's text changed lose it, 731 of them, by
# status after the nightly: rejected 710, active 13, candidate 5, invalid 2, superseded 1.
MISSING_CHUNK = 731
MISSING_BY_STATUS = {"rejected": 710, "active": 13, "candidate": 5, "invalid": 2, "superseded": 1}
CHECK = "memory_missing_source_chunk"


@pytest.fixture(scope="module")
def corpus():
    root = settings.ATOCORE_CORPUS_DIR
    if not (root / "memories.jsonl").is_file():
        pytest.skip(f"the corpus is not at {root} (set ATOCORE_CORPUS_DIR)")
    return root


def _quiet(*args: str) -> None:
    call_command(*args, stdout=StringIO(), stderr=StringIO())


def _scan(*args: str) -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command("integrity_check", "--json", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def _statuses() -> dict[str, int]:
    return dict(Counter(Memory.objects.values_list("status", flat=True)))


def test_the_main_job_on_the_real_corpus(corpus):
    records = [json.loads(line) for line in (corpus / "memories.jsonl").open(encoding="utf-8")]
    assert dict(Counter(r["status"] for r in records)) == IMPORTED_STATUSES
    assert sum(r["reinforcements"] for r in records) == 1311

    _quiet("ingest", str(corpus / "peps-2022"))
    _quiet("import_memories", str(corpus / "memories.jsonl"), "--projects", str(corpus / "projects.jsonl"))
    assert _statuses() == IMPORTED_STATUSES
    assert MemoryAudit.objects.count() == IMPORT_AUDIT_ROWS
    assert MemoryAudit.objects.filter(action="created", actor="import").count() == 5034
    assert Memory.objects.exclude(source_chunk_id=None).count() == WITH_SOURCE

    code, clean = _scan()
    assert (code, clean["total_findings"]) == (0, 0)  # every check clean on the imported store

    _quiet("nightly")
    assert _statuses() == AFTER_NIGHTLY
    assert MemoryAudit.objects.filter(actor="candidate-expiry", action="rejected").count() == EXPIRED
    assert (
        MemoryAudit.objects.filter(actor="phase10-auto-promote", action="promoted").count() == AUTO_PROMOTED
    )
    # None lost, none doubled: replayed steps plus the nightly transitions, nothing else.
    assert MemoryAudit.objects.count() == IMPORT_AUDIT_ROWS + EXPIRED + AUTO_PROMOTED
    sources = dict(Memory.objects.exclude(source_chunk_id=None).values_list("id", "source_chunk_id"))
    statuses = dict(Memory.objects.values_list("id", "status"))
    warnings_before = AlertEvent.objects.filter(severity="warning").count()

    _quiet("ingest", str(corpus / "peps-2026"))
    code, after = _scan("--sample", "20")

    chunks = set(SourceChunk.objects.values_list("id", flat=True))
    lost = sorted(pk for pk, chunk in sources.items() if chunk not in chunks)
    assert len(lost) == MISSING_CHUNK
    assert dict(Counter(statuses[pk] for pk in lost)) == MISSING_BY_STATUS
    check = after["checks"][CHECK]
    assert code == 1
    assert check["count"] == MISSING_CHUNK
    assert check["samples"] == [str(pk) for pk in lost[:20]]
    assert (check["trend"]["new"], check["trend"]["resolved"]) == (MISSING_CHUNK, 0)
    assert {name: c["count"] for name, c in after["checks"].items()} == {
        c.name: MISSING_CHUNK if c.name == CHECK else 0 for c in all_checks()
    }
    # A scan with findings raises exactly one warning.
    assert AlertEvent.objects.filter(severity="warning").count() == warnings_before + 1
