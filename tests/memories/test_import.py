import datetime
import io
import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memories.importing import LineError, import_memories, import_projects
from memories.ingest_service import ingest_path
from memories.models import Memory, Project, SourceChunk, SourceDocument
from observability.models import MemoryAudit
from tests import factories

pytestmark = pytest.mark.django_db

DOCUMENT = """\
Title: Notes

First section
=============

The quick brown fox
jumps over the lazy dog.  It was fast.

Second section
==============

Another   sentence lives here.
"""


def record(key: str, **fields) -> dict:
    return {
        "key": key,
        "memory_type": "knowledge",
        "project": "demo",
        "content": f"content of {key}",
        "confidence": 0.5,
        "status": "candidate",
        "superseded_by": None,
        "reinforcements": 0,
        "source": None,
        "created_at": "2001-02-03T00:00:00Z",
    } | fields


def write_jsonl(path: Path, *lines) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


@pytest.fixture
def demo(tmp_path):
    """The project ``demo`` and one ingested document, ``notes.rst``."""
    factories.project("demo")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.rst").write_text(DOCUMENT)
    ingest_path(tmp_path / "docs")
    return tmp_path


def memory(key: str) -> Memory:
    return Memory.objects.get(external_key=key)


def actions(key: str) -> list[str]:
    rows = MemoryAudit.objects.filter(memory_id=memory(key).pk).order_by("timestamp", "id")
    return [row.action for row in rows]


# -- replaying records --------------------------------------------------------------


def test_each_final_status_is_reached_through_the_services(demo):
    path = write_jsonl(
        demo / "m.jsonl",
        record("a/candidate"),
        record("a/active", status="active"),
        record("a/rejected", status="rejected"),
        record("a/invalid", status="invalid"),
        record("a/superseded", status="superseded", superseded_by="a/active"),
    )

    summary = import_memories(path)

    assert summary.imported == 5
    assert {m.external_key: m.status for m in Memory.objects.all()} == {
        "a/candidate": "candidate",
        "a/active": "active",
        "a/rejected": "rejected",
        "a/invalid": "invalid",
        "a/superseded": "superseded",
    }
    assert memory("a/superseded").superseded_by == memory("a/active").pk


def test_audit_rows_per_record_are_one_create_plus_reinforcements_plus_transitions(demo):
    path = write_jsonl(
        demo / "m.jsonl",
        record("b/candidate", reinforcements=2),
        record("b/active", status="active", reinforcements=1),
        record("b/rejected", status="rejected"),
        record("b/invalid", status="invalid", reinforcements=3),
        record("b/superseded", status="superseded", superseded_by="b/active"),
    )

    import_memories(path)

    assert actions("b/candidate") == ["created", "reinforced", "reinforced"]
    assert actions("b/active") == ["created", "reinforced", "promoted"]
    assert actions("b/rejected") == ["created", "rejected"]
    assert actions("b/invalid") == [
        "created",
        "reinforced",
        "reinforced",
        "reinforced",
        "promoted",
        "invalidated",
    ]
    assert actions("b/superseded") == ["created", "promoted", "superseded"]
    assert set(MemoryAudit.objects.values_list("actor", flat=True)) == {"import"}
    assert MemoryAudit.objects.count() == 3 + 3 + 2 + 6 + 3


def test_created_at_key_and_fields_of_the_record_are_kept(demo):
    path = write_jsonl(
        demo / "m.jsonl", record("c/one", memory_type="decision", content="Use PEP 8.", confidence=0.75)
    )

    import_memories(path)

    stored = memory("c/one")
    assert (stored.memory_type, stored.content, stored.project, stored.confidence) == (
        "decision",
        "Use PEP 8.",
        "demo",
        0.75,
    )
    assert stored.created_at == datetime.datetime(2001, 2, 3, tzinfo=datetime.UTC)


def test_reinforcements_count_up_the_reference_count(demo):
    import_memories(write_jsonl(demo / "m.jsonl", record("d/one", reinforcements=4)))

    assert memory("d/one").reference_count == 4


def test_a_second_import_of_the_same_file_changes_nothing_and_writes_no_audit_rows(demo):
    path = write_jsonl(
        demo / "m.jsonl",
        record("e/one", status="active", reinforcements=2),
        record("e/two", status="superseded", superseded_by="e/one"),
    )
    import_memories(path)
    before = list(Memory.objects.order_by("pk").values())
    audit_rows = MemoryAudit.objects.count()

    summary = import_memories(path)

    assert (summary.imported, summary.already_present, summary.skipped) == (0, 2, 0)
    assert list(Memory.objects.order_by("pk").values()) == before
    assert MemoryAudit.objects.count() == audit_rows


def test_a_record_whose_key_is_stored_is_skipped_and_the_new_ones_go_in(demo):
    import_memories(write_jsonl(demo / "first.jsonl", record("f/old")))

    summary = import_memories(write_jsonl(demo / "second.jsonl", record("f/old"), record("f/new")))

    assert (summary.imported, summary.already_present) == (1, 1)
    assert Memory.objects.count() == 2


# -- malformed lines ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ('{"key": "broken"', "line 2: not JSON: Expecting ',' delimiter at column 17"),
        ('["a list"]', "line 2: not a JSON object"),
        (json.dumps({k: v for k, v in record("g/x").items() if k != "content"}), "line 2: 'content' must be"),
        (json.dumps(record("g/x", project="nowhere")), "line 2: unknown project 'nowhere'"),
        (json.dumps(record("g/x", status="maybe")), "line 2: 'status' is 'maybe'; expected one of"),
        (json.dumps(record("g/x", confidence=1.5)), "line 2: 'confidence' 1.5 is outside 0 to 1"),
        (json.dumps(record("g/x", reinforcements=-1)), "line 2: 'reinforcements' must be a whole number"),
        (json.dumps(record("g/x", created_at="yesterday")), "line 2: 'created_at' is 'yesterday'"),
        (json.dumps(record("g/x", source={"document": 1})), "line 2: 'source' must be null or"),
        (
            json.dumps(record("g/x", status="superseded", superseded_by="g/nobody")),
            "line 2: cannot be superseded by 'g/nobody': successor 'g/nobody' is unknown",
        ),
        (json.dumps(record("g/first")), "line 2: key 'g/first' repeats line 1"),
    ],
)
def test_a_malformed_line_is_reported_with_its_line_number_and_the_rest_go_in(demo, bad_line, message):
    path = write_jsonl(demo / "m.jsonl", record("g/first"), bad_line, record("g/last"))

    summary = import_memories(path)

    assert (summary.imported, summary.skipped) == (2, 1)
    assert [str(error) for error in summary.errors][0].startswith(message)
    assert sorted(Memory.objects.values_list("external_key", flat=True)) == ["g/first", "g/last"]


def test_blank_lines_are_ignored_but_still_counted_for_line_numbers(demo):
    path = write_jsonl(demo / "m.jsonl", record("h/one"), "", "not json")

    summary = import_memories(path)

    assert summary.errors == [LineError(3, "not JSON: Expecting value at column 1")]


def test_a_record_the_services_refuse_leaves_nothing_written(demo, settings):
    settings.ATOCORE_MAX_CONTENT_CHARS = 10
    path = write_jsonl(demo / "m.jsonl", record("i/long", content="far too long for the limit"))

    summary = import_memories(path)

    assert summary.skipped == 1
    assert str(summary.errors[0]).startswith("line 1: not imported: content: is 26 characters")
    assert Memory.objects.count() == 0
    assert MemoryAudit.objects.count() == 0


# -- sources ------------------------------------------------------------------------


def test_a_quote_resolves_to_the_chunk_that_holds_it_after_collapsing_white_space(demo):
    quote = "The quick brown fox jumps over the lazy dog."
    path = write_jsonl(demo / "m.jsonl", record("j/one", source={"document": "notes.rst", "quote": quote}))

    summary = import_memories(path)

    chunk = SourceChunk.objects.get(pk=memory("j/one").source_chunk_id)
    assert chunk.text.startswith("First section\n=============\n\nThe quick brown fox\njumps")
    assert summary.unresolved_sources == 0


def test_a_quote_with_extra_white_space_still_resolves(demo):
    source = {"document": "notes.rst", "quote": "Another sentence   lives\nhere."}

    import_memories(write_jsonl(demo / "m.jsonl", record("j/two", source=source)))

    assert SourceChunk.objects.get(pk=memory("j/two").source_chunk_id).text.startswith("Second section")


@pytest.mark.parametrize(
    "source",
    [
        {"document": "notes.rst", "quote": "A sentence that is nowhere."},
        {"document": "missing.rst", "quote": "It was fast."},
    ],
)
def test_an_unresolved_source_is_counted_and_the_memory_has_no_source_chunk(demo, source):
    summary = import_memories(write_jsonl(demo / "m.jsonl", record("k/one", source=source)))

    assert (summary.imported, summary.unresolved_sources) == (1, 1)
    assert memory("k/one").source_chunk_id is None


def test_a_record_without_a_source_is_not_counted_as_unresolved(demo):
    summary = import_memories(write_jsonl(demo / "m.jsonl", record("k/none", source=None)))

    assert summary.unresolved_sources == 0


def test_chunks_are_read_once_per_document_not_once_per_record(demo):
    lines = [record(f"l/{n}", source={"document": "notes.rst", "quote": "It was fast."}) for n in range(20)]
    path = write_jsonl(demo / "m.jsonl", *lines)

    with CaptureQueriesContext(connection) as queries:
        import_memories(path)

    chunk_reads = [q["sql"] for q in queries if 'FROM "memories_sourcechunk"' in q["sql"]]
    document_reads = [q["sql"] for q in queries if 'FROM "memories_sourcedocument"' in q["sql"]]
    assert (len(chunk_reads), len(document_reads)) == (1, 1)
    assert Memory.objects.filter(source_chunk_id__isnull=False).count() == 20


# -- supersession -------------------------------------------------------------------


def test_a_supersession_chain_supersedes_each_memory_while_its_successor_is_still_active(demo):
    # The chain A -> B -> C, listed so that file order would supersede B before A.
    path = write_jsonl(
        demo / "m.jsonl",
        record("m/b", status="superseded", superseded_by="m/c"),
        record("m/a", status="superseded", superseded_by="m/b"),
        record("m/c", status="active"),
    )

    summary = import_memories(path)

    assert summary.errors == []
    assert [memory(k).status for k in ("m/a", "m/b", "m/c")] == ["superseded", "superseded", "active"]
    assert memory("m/a").superseded_by == memory("m/b").pk
    assert memory("m/b").superseded_by == memory("m/c").pk
    supersessions = MemoryAudit.objects.filter(action="superseded").order_by("timestamp", "id")
    assert [row.memory_id for row in supersessions] == [memory("m/a").pk, memory("m/b").pk]


def test_a_successor_stored_by_an_earlier_import_is_used(demo):
    import_memories(write_jsonl(demo / "first.jsonl", record("n/new", status="active")))

    summary = import_memories(
        write_jsonl(demo / "second.jsonl", record("n/old", status="superseded", superseded_by="n/new"))
    )

    assert summary.imported == 1
    assert memory("n/old").superseded_by == memory("n/new").pk


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [record("o/a", status="superseded", superseded_by="o/b"), record("o/b", status="rejected")],
            "successor 'o/b' ends rejected, not active",
        ),
        (
            [
                record("o/a", status="superseded", superseded_by="o/b"),
                record("o/b", status="superseded", superseded_by="o/a"),
            ],
            "supersession cycle through 'o/a'",
        ),
        (
            [record("o/a", status="superseded", superseded_by="o/b"), record("o/b", project="nowhere")],
            "successor 'o/b' is unknown (not stored, not a valid line of this file)",
        ),
    ],
    ids=["successor-ends-rejected", "cycle", "successor-malformed"],
)
def test_a_superseded_record_whose_successor_cannot_be_active_is_malformed(demo, lines, message):
    summary = import_memories(write_jsonl(demo / "m.jsonl", *lines))

    assert LineError(1, f"cannot be superseded by 'o/b': {message}") in summary.errors
    assert not Memory.objects.filter(external_key="o/a").exists()
    assert MemoryAudit.objects.filter(action="superseded").count() == 0


def test_a_record_whose_successor_the_services_refuse_is_skipped_whole(demo, settings):
    settings.ATOCORE_MAX_CONTENT_CHARS = 20
    path = write_jsonl(
        demo / "m.jsonl",
        record("t/old", status="superseded", superseded_by="t/new", content="short"),
        record("t/new", status="active", content="far too long for the limit"),
    )

    summary = import_memories(path)

    assert [e.line for e in summary.errors] == [2, 1]
    assert str(summary.errors[1]) == "line 1: not imported: successor 't/new' was not imported"
    assert (Memory.objects.count(), MemoryAudit.objects.count()) == (0, 0)


def test_a_successor_stored_as_superseded_cannot_supersede_again(demo):
    import_memories(
        write_jsonl(
            demo / "first.jsonl",
            record("s/new", status="active"),
            record("s/mid", status="superseded", superseded_by="s/new"),
        )
    )

    summary = import_memories(
        write_jsonl(demo / "second.jsonl", record("s/old", status="superseded", superseded_by="s/mid"))
    )

    assert summary.errors == [
        LineError(1, "cannot be superseded by 's/mid': successor 's/mid' is stored as superseded, not active")
    ]


def test_a_line_that_is_not_utf8_is_malformed_and_the_others_go_in(demo):
    path = demo / "m.jsonl"
    path.write_bytes(
        json.dumps(record("u/one")).encode()
        + b"\n"
        + b'{"key": "caf\xe9"}\n'
        + json.dumps(record("u/two", content="caf\u00e9"), ensure_ascii=False).encode()
        + b"\n"
    )

    summary = import_memories(path)

    assert (summary.imported, summary.skipped) == (2, 1)
    assert summary.errors == [LineError(2, "not UTF-8 text (byte 0xe9 at offset 12)")]
    assert memory("u/two").content == "caf\u00e9"


# -- projects -----------------------------------------------------------------------


def test_projects_file_creates_the_missing_projects_once(tmp_path):
    path = write_jsonl(
        tmp_path / "p.jsonl",
        {"name": "typing", "description": "Static typing"},
        {"name": "release"},
        "{oops",
    )

    first = import_projects(path)
    second = import_projects(path)

    assert (first.created, first.existing, [e.line for e in first.errors]) == (2, 0, [3])
    assert (second.created, second.existing) == (0, 2)
    assert Project.objects.get(name="typing").description == "Static typing"


# -- the command --------------------------------------------------------------------


def test_import_command_prints_the_summary_and_each_bad_line_on_stderr(demo):
    write_jsonl(demo / "p.jsonl", {"name": "extra", "description": ""})
    path = write_jsonl(
        demo / "m.jsonl",
        record("q/one", project="extra"),
        "nope",
        record("q/two", source={"document": "notes.rst", "quote": "Not in there."}),
    )
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError):  # exits 1 for the malformed line, after the summary
        call_command(
            "import_memories", str(path), "--projects", str(demo / "p.jsonl"), stdout=out, stderr=err
        )

    assert out.getvalue() == (
        "projects created 1, already present 0\n"
        "memories imported 2, already present 0, skipped (malformed) 1, unresolved sources 1\n"
    )
    assert err.getvalue() == f"{path}: line 2: not JSON: Expecting value at column 1\n"


def test_import_command_a_second_time_reports_everything_already_present(demo):
    path = write_jsonl(demo / "m.jsonl", record("r/one"), record("r/two"))
    call_command("import_memories", str(path), stdout=io.StringIO())
    out = io.StringIO()

    call_command("import_memories", str(path), stdout=out)

    assert out.getvalue() == (
        "memories imported 0, already present 2, skipped (malformed) 0, unresolved sources 0\n"
    )


def test_import_command_with_a_missing_file_raises_a_command_error(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("import_memories", str(tmp_path / "nope.jsonl"), stdout=io.StringIO())

    assert str(error.value) == f"cannot import {tmp_path / 'nope.jsonl'}: no such file"


def test_import_command_exits_1_after_the_summary_when_lines_were_malformed(demo):
    write_jsonl(demo / "p.jsonl", {"name": "extra"}, "{oops")
    path = write_jsonl(demo / "m.jsonl", "nope", "[]")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as error:
        call_command(
            "import_memories", str(path), "--projects", str(demo / "p.jsonl"), stdout=out, stderr=err
        )

    assert (str(error.value), error.value.returncode) == ("3 malformed line(s) skipped", 1)
    assert out.getvalue() == (
        "projects created 1, already present 0\n"
        "memories imported 0, already present 0, skipped (malformed) 2, unresolved sources 0\n"
    )


def test_import_command_on_a_file_that_is_not_utf8_reports_the_line_instead_of_a_traceback(demo):
    path = demo / "m.jsonl"
    path.write_bytes(json.dumps(record("v/one")).encode() + b"\n\xff\xfe\n")
    err = io.StringIO()

    with pytest.raises(CommandError, match="1 malformed line"):
        call_command("import_memories", str(path), stdout=io.StringIO(), stderr=err)

    assert err.getvalue() == f"{path}: line 2: not UTF-8 text (byte 0xff at offset 0)\n"
    assert memory("v/one").status == "candidate"


@pytest.mark.parametrize("option", [[], ["--projects"]])
def test_import_command_on_a_folder_says_it_is_a_folder(tmp_path, option):
    with pytest.raises(CommandError) as error:
        call_command("import_memories", *option, str(tmp_path), stdout=io.StringIO())

    assert str(error.value) == f"cannot import {tmp_path}: is a directory, not a file"


def test_import_command_with_only_projects_creates_them(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", {"name": "typing"})
    out = io.StringIO()

    call_command("import_memories", "--projects", str(path), stdout=out)

    assert out.getvalue() == "projects created 1, already present 0\n"
    assert Project.objects.filter(name="typing").exists()


# -- the real corpus ----------------------------------------------------------------


@pytest.fixture
def corpus() -> Path:
    folder = Path(django_settings.ATOCORE_CORPUS_DIR)
    if not (folder / "memories.jsonl").is_file():
        pytest.skip(f"the real corpus is not at {folder} (set ATOCORE_CORPUS_DIR)")
    return folder


@pytest.mark.corpus
def test_corpus_memories_import_resolve_their_sources_and_drift_after_the_newer_peps(corpus, settings):
    settings.ATOCORE_CHUNK_MAX_CHARS = 1500
    ingest_path(corpus / "peps-2022")
    import_projects(corpus / "projects.jsonl")

    summary = import_memories(corpus / "memories.jsonl")

    # 5,034 records, 6 without a source: every quote is found in a 2022 chunk.
    assert (summary.imported, summary.skipped, summary.unresolved_sources) == (5034, 0, 0)
    assert Memory.objects.filter(source_chunk_id__isnull=False).count() == 5028
    # One create each, 1,311 reinforcements, then 342 active + 58 invalid + 16 superseded
    # promotions, 120 rejections, 58 invalidations, 16 supersessions.
    assert MemoryAudit.objects.count() == 5034 + 1311 + (342 + 58 + 16) + 120 + 58 + 16

    ingest_path(corpus / "peps-2026")

    dangling = Memory.objects.exclude(source_chunk_id__isnull=True).exclude(
        source_chunk_id__in=SourceChunk.objects.values("id")
    )
    # Edits in the 2026 revision removed the chunks under 731 memories (drift to report).
    assert dangling.count() == 731
    assert SourceDocument.objects.count() == 736
