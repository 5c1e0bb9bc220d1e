"""The integrity scan on the real corpus: exact counts of the drift peps-2026 causes.

ingest peps-2022 -> import projects and memories -> nightly -> ingest peps-2026 ->
integrity_check. Every number is derived twice: from the corpus (below, with how) and,
in the test, from the store itself by a plain Python comparison that shares no code
with the checks.
"""

import json
from collections import Counter
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError

from integrity.checks import all_checks
from memories.models import Memory, SourceChunk

pytestmark = [pytest.mark.corpus, pytest.mark.django_db]

CHECK = "memory_missing_source_chunk"

# 5,034 records, 6 of them with no source at all (`"source": null`): 5,028 memories name
# a source chunk (every quote of the others is found in a 2022 chunk).
WITH_SOURCE = 5028
# Every 2026 document was edited, but chunks are content-addressed per section and
# paragraph: only the memories whose own chunk's text changed lose it. 731 of them,
# by status after the nightly: rejected 710, active 13, candidate 5, invalid 2, superseded 1.
MISSING_CHUNK = 731
MISSING_BY_STATUS = {"rejected": 710, "active": 13, "candidate": 5, "invalid": 2, "superseded": 1}


@pytest.fixture(scope="module")
def corpus():
    root = settings.ATOCORE_CORPUS_DIR
    if not (root / "memories.jsonl").is_file():
        pytest.skip(f"the corpus is not at {root} (set ATOCORE_CORPUS_DIR)")
    missing = {"ingest", "import_memories"} - set(get_commands())
    if missing:
        pytest.skip(f"needs manage.py {' and '.join(sorted(missing))}")
    return root


def scan(*args: str) -> tuple[int, dict]:
    out = StringIO()
    try:
        call_command("integrity_check", "--json", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, json.loads(out.getvalue())
    return 0, json.loads(out.getvalue())


def quiet(*args: str) -> None:
    call_command(*args, stdout=StringIO(), stderr=StringIO())


def test_the_scan_reports_exactly_the_memories_whose_quoted_chunk_changed(corpus):
    quiet("ingest", str(corpus / "peps-2022"))
    quiet("import_memories", str(corpus / "memories.jsonl"), "--projects", str(corpus / "projects.jsonl"))

    code, imported = scan()
    assert (code, imported["total_findings"]) == (0, 0)  # every check clean on the imported store
    quiet("nightly")
    sources = dict(Memory.objects.exclude(source_chunk_id=None).values_list("id", "source_chunk_id"))
    statuses = dict(Memory.objects.values_list("id", "status"))
    assert len(sources) == WITH_SOURCE

    quiet("ingest", str(corpus / "peps-2026"))
    code, after = scan("--sample", "20")

    # The oracle: memories whose chunk id is no longer among the chunks.
    chunks = set(SourceChunk.objects.values_list("id", flat=True))
    lost = sorted(pk for pk, chunk in sources.items() if chunk not in chunks)
    assert len(lost) == MISSING_CHUNK
    assert dict(Counter(statuses[pk] for pk in lost)) == MISSING_BY_STATUS

    check = after["checks"][CHECK]
    assert code == 1
    assert check["count"] == MISSING_CHUNK
    assert check["samples"] == [str(pk) for pk in lost[:20]]
    assert check["details"][0] == {"id": str(lost[0]), "source_chunk_id": sources[lost[0]]}
    assert (check["trend"]["new"], check["trend"]["resolved"]) == (MISSING_CHUNK, 0)
    assert {name: c["count"] for name, c in after["checks"].items()} == {
        c.name: MISSING_CHUNK if c.name == CHECK else 0 for c in all_checks()
    }
    assert after["total_findings"] == MISSING_CHUNK
