import io
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memories import ingestion
from memories.ingest_service import IngestSummary, NoDocuments, ProjectConflict, ingest_path
from memories.models import Memory, SourceChunk, SourceDocument
from tests import factories

pytestmark = pytest.mark.django_db

PEP_LIKE = """\
PEP: 9999
Title: A Walrus for Everyone
Author: Someone <someone@example.org>,
        Someone Else <else@example.org>
Status: Draft


Abstract
========

The walrus operator names a value.
It does so inside an expression.

Details follow below.


Rationale
=========

Subsection
----------

Naming values is useful.
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def chunk_texts(path: str) -> list[str]:
    document = SourceDocument.objects.get(path=path)
    return list(
        SourceChunk.objects.filter(document_id=document.pk).order_by("ordinal").values_list("text", flat=True)
    )


def chunk_ids(path: str) -> list[str]:
    document = SourceDocument.objects.get(path=path)
    return list(
        SourceChunk.objects.filter(document_id=document.pk).order_by("ordinal").values_list("id", flat=True)
    )


# -- parsing ------------------------------------------------------------------------


def test_markdown_headings_start_sections_whose_first_paragraph_is_the_heading():
    document = ingestion.parse("notes.md", "Intro line.\n\n# First\n\nOne.\n\nTwo.\n\n## Second ##\nThree.\n")

    assert document.title == "First"
    assert [(s.heading, s.paragraphs) for s in document.sections] == [
        ("", ["Intro line."]),
        ("First", ["# First", "One.", "Two."]),
        ("Second", ["## Second ##", "Three."]),
    ]


def test_a_hash_line_inside_a_fenced_code_block_is_not_a_markdown_heading():
    document = ingestion.parse("notes.md", "# Real\n\n```sh\n# a shell comment\n```\n")

    assert [s.heading for s in document.sections] == ["Real"]
    assert document.sections[0].paragraphs == ["# Real", "```sh\n# a shell comment\n```"]


def test_rst_header_block_gives_the_title_and_is_a_preamble_section():
    document = ingestion.parse("pep-9999.rst", PEP_LIKE)

    assert document.title == "A Walrus for Everyone"
    assert document.sections[0].heading == ""
    assert document.sections[0].paragraphs == [
        "PEP: 9999\nTitle: A Walrus for Everyone\nAuthor: Someone <someone@example.org>,\n"
        "        Someone Else <else@example.org>\nStatus: Draft"
    ]


def test_rst_underlined_titles_start_sections_and_keep_their_underline():
    document = ingestion.parse("pep-9999.rst", PEP_LIKE)

    assert [(s.heading, s.paragraphs) for s in document.sections[1:]] == [
        (
            "Abstract",
            [
                "Abstract\n========",
                "The walrus operator names a value.\nIt does so inside an expression.",
                "Details follow below.",
            ],
        ),
        ("Rationale", ["Rationale\n========="]),
        ("Subsection", ["Subsection\n----------", "Naming values is useful."]),
    ]


def test_rst_overlined_title_keeps_both_lines_and_is_the_title_without_a_header_block():
    document = ingestion.parse("guide.rst", "=======\n Guide\n=======\n\nWelcome.\n")

    assert document.title == "Guide"
    assert document.sections[0].paragraphs == ["=======\n Guide\n=======", "Welcome."]


def test_rst_without_header_or_title_takes_the_file_name_as_title():
    assert ingestion.parse("docs/plain.rst", "Just text.\n").title == "plain.rst"


def test_plain_text_is_one_section_of_paragraphs_titled_by_the_file_name():
    document = ingestion.parse("notes/todo.txt", "First line\nsame paragraph.\n\n\n# not a heading\n")

    assert document.title == "todo.txt"
    assert [(s.heading, s.paragraphs) for s in document.sections] == [
        ("", ["First line\nsame paragraph.", "# not a heading"])
    ]


def test_a_file_is_read_without_its_byte_order_mark_and_with_nul_replaced(tmp_path):
    path = tmp_path / "a.rst"
    path.write_bytes(b"\xef\xbb\xbfTitle: Marked\n\nNUL \x00 and caf\xc3\xa9 here.\n")

    text, digest = ingestion.read_text(path)

    assert text == "Title: Marked\n\nNUL \ufffd and caf\u00e9 here.\n"
    assert ingestion.parse("a.rst", text).title == "Marked"
    assert len(digest) == 64


def test_a_file_that_is_not_utf8_is_not_text_and_says_where(tmp_path):
    path = tmp_path / "latin1.md"
    path.write_bytes(b"\xef\xbb\xbfcaf\xe9\n")

    with pytest.raises(ingestion.NotText) as error:
        ingestion.read_text(path)

    assert str(error.value) == "not UTF-8 text (byte 0xe9 at offset 6)"


# -- chunking -----------------------------------------------------------------------


def test_paragraphs_of_a_section_are_packed_together_up_to_the_cap():
    paragraphs = ["a" * 40, "b" * 40, "c" * 40]

    assert ingestion.pack_section(paragraphs, 90) == ["a" * 40 + "\n\n" + "b" * 40, "c" * 40]


def test_every_section_starts_a_new_chunk():
    document = ingestion.parse("pep-9999.rst", PEP_LIKE)

    chunks = ingestion.chunk_document("pep-9999.rst", document, max_chars=2000)

    assert [c.text.split("\n")[0] for c in chunks] == ["PEP: 9999", "Abstract", "Rationale", "Subsection"]
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]


def test_an_oversize_paragraph_is_split_at_sentence_ends_keeping_its_text():
    paragraph = "First sentence is here. Second one follows!  Third ends\nthe (paragraph.)"

    pieces = ingestion.split_paragraph(paragraph, 30)

    assert pieces == ["First sentence is here.", "Second one follows!", "Third ends\nthe (paragraph.)"]


def test_an_oversize_sentence_is_split_hard_at_white_space():
    sentence = " ".join(["word"] * 30)  # 149 characters, no sentence end

    pieces = ingestion.split_paragraph(sentence, 50)

    assert all(len(p) <= 50 for p in pieces)
    assert " ".join(pieces) == sentence
    assert len(pieces) == 3


def test_a_sentence_without_white_space_is_split_at_the_cap():
    assert ingestion.split_paragraph("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_no_chunk_is_longer_than_the_cap():
    text = "\n\n".join(["Short one.", "Long. " * 80, "y" * 700])
    document = ingestion.parse("a.txt", text)

    chunks = ingestion.chunk_document("a.txt", document, max_chars=300)

    assert max(len(c.text) for c in chunks) <= 300


def test_chunk_id_is_the_sha256_of_path_and_text():
    assert ingestion.chunk_id("a.md", "text") == ingestion.chunk_id("a.md", "text")
    assert ingestion.chunk_id("a.md", "text") != ingestion.chunk_id("b.md", "text")
    assert len(ingestion.chunk_id("a.md", "text")) == 64


def test_repeated_identical_chunks_in_one_document_get_distinct_ids():
    document = ingestion.parse("a.md", "# A\n\nSame text.\n\n# A\n\nSame text.\n")

    chunks = ingestion.chunk_document("a.md", document, max_chars=2000)

    assert [c.text for c in chunks] == ["# A\n\nSame text.", "# A\n\nSame text."]
    assert chunks[0].id == ingestion.chunk_id("a.md", "# A\n\nSame text.")
    assert chunks[1].id == ingestion.chunk_id("a.md", "# A\n\nSame text.", 1)
    assert chunks[0].id != chunks[1].id


# -- the service --------------------------------------------------------------------


@pytest.fixture
def small_chunks(settings):
    settings.ATOCORE_CHUNK_MAX_CHARS = 60


def test_ingesting_a_folder_stores_documents_with_paths_relative_to_it(tmp_path):
    write(tmp_path, "pep-9999.rst", PEP_LIKE)
    write(tmp_path, "sub/notes.md", "# Notes\n\nHello.\n")
    write(tmp_path, "sub/todo.txt", "Buy milk.\n")

    summary = ingest_path(tmp_path)

    assert summary == IngestSummary(documents_added=3, chunks_added=6)
    assert list(SourceDocument.objects.values_list("path", "title")) == [
        ("pep-9999.rst", "A Walrus for Everyone"),
        ("sub/notes.md", "Notes"),
        ("sub/todo.txt", "todo.txt"),
    ]


def test_hidden_files_and_other_suffixes_are_not_ingested(tmp_path):
    write(tmp_path, "a.md", "A.\n")
    write(tmp_path, ".git/notes.md", "Hidden.\n")
    write(tmp_path, "image.png", "not text")

    ingest_path(tmp_path)

    assert list(SourceDocument.objects.values_list("path", flat=True)) == ["a.md"]


def test_chunk_ids_are_stable_across_reingest_of_an_unchanged_file(tmp_path):
    write(tmp_path, "pep-9999.rst", PEP_LIKE)
    ingest_path(tmp_path)
    before = chunk_ids("pep-9999.rst")

    summary = ingest_path(tmp_path)

    assert summary == IngestSummary(documents_unchanged=1)
    assert chunk_ids("pep-9999.rst") == before


def test_an_edited_paragraph_changes_only_its_chunk(tmp_path, small_chunks):
    write(tmp_path, "a.md", "# A\n\nFirst paragraph.\n\nSecond paragraph.\n\n# B\n\nThird paragraph.\n")
    ingest_path(tmp_path)
    before = chunk_ids("a.md")

    write(
        tmp_path, "a.md", "# A\n\nFirst paragraph.\n\nSecond paragraph.\n\n# B\n\nThird paragraph, edited.\n"
    )
    summary = ingest_path(tmp_path)

    after = chunk_ids("a.md")
    assert summary == IngestSummary(documents_changed=1, chunks_added=1, chunks_removed=1)
    assert after[0] == before[0]
    assert after[1] != before[1]
    assert chunk_texts("a.md")[1] == "# B\n\nThird paragraph, edited."


def test_a_chunk_inserted_before_others_moves_their_ordinals_and_keeps_their_ids(tmp_path):
    write(tmp_path, "a.md", "# A\n\nOne.\n\n# B\n\nTwo.\n")
    ingest_path(tmp_path)
    before = chunk_ids("a.md")

    write(tmp_path, "a.md", "# Z\n\nNew.\n\n# A\n\nOne.\n\n# B\n\nTwo.\n")
    summary = ingest_path(tmp_path)

    assert summary == IngestSummary(documents_changed=1, chunks_added=1)
    assert chunk_ids("a.md")[1:] == before
    assert chunk_texts("a.md") == ["# Z\n\nNew.", "# A\n\nOne.", "# B\n\nTwo."]


def test_a_changed_document_gets_its_new_title_and_content_hash(tmp_path):
    write(tmp_path, "a.md", "# Old\n\nText.\n")
    ingest_path(tmp_path)
    old_hash = SourceDocument.objects.get().content_hash

    write(tmp_path, "a.md", "# New\n\nText.\n")
    ingest_path(tmp_path)

    document = SourceDocument.objects.get()
    assert document.title == "New"
    assert document.content_hash != old_hash


def test_a_removed_document_removes_its_chunks_but_keeps_memories_pointing_at_them(tmp_path):
    write(tmp_path, "keep.md", "# Keep\n\nStays.\n")
    write(tmp_path, "gone.md", "# Gone\n\nFirst.\n\n# Also\n\nSecond.\n")
    ingest_path(tmp_path)
    gone_chunk = chunk_ids("gone.md")[0]
    memory = factories.memory(content="remembered", source_chunk_id=gone_chunk)

    (tmp_path / "gone.md").unlink()
    summary = ingest_path(tmp_path)

    assert summary == IngestSummary(documents_unchanged=1, documents_removed=1, chunks_removed=2)
    assert list(SourceDocument.objects.values_list("path", flat=True)) == ["keep.md"]
    assert not SourceChunk.objects.filter(pk=gone_chunk).exists()
    assert Memory.objects.get(pk=memory.pk).source_chunk_id == gone_chunk


def test_documents_of_another_project_are_not_removed(tmp_path):
    write(tmp_path / "docs", "guide.md", "# Guide\n")
    write(tmp_path / "peps", "pep-0001.rst", PEP_LIKE)
    ingest_path(tmp_path / "docs", project="atocore")

    summary = ingest_path(tmp_path / "peps")

    assert summary.documents_removed == 0
    assert SourceDocument.objects.filter(path="guide.md", project="atocore").exists()


def test_ingesting_one_file_removes_nothing_else(tmp_path):
    write(tmp_path, "a.md", "# A\n")
    write(tmp_path, "b.md", "# B\n")
    ingest_path(tmp_path)

    summary = ingest_path(tmp_path / "a.md")

    assert summary == IngestSummary(documents_unchanged=1)
    assert SourceDocument.objects.count() == 2


def test_a_document_that_comes_back_adopts_its_orphaned_chunks(tmp_path):
    write(tmp_path, "a.md", "# A\n\nText.\n")
    ingest_path(tmp_path)
    SourceDocument.objects.all().delete()  # drift: the chunk is left without its document

    summary = ingest_path(tmp_path)

    document = SourceDocument.objects.get()
    assert summary.documents_added == 1
    assert list(SourceChunk.objects.values_list("document_id", flat=True)) == [document.pk]


def test_a_missing_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        ingest_path(tmp_path / "nope")


def test_a_folder_without_documents_raises_instead_of_removing_everything(tmp_path):
    write(tmp_path / "full", "a.md", "# A\n")
    ingest_path(tmp_path / "full")
    (tmp_path / "empty").mkdir()

    with pytest.raises(NoDocuments):
        ingest_path(tmp_path / "empty")
    assert SourceDocument.objects.count() == 1


def test_progress_is_reported_after_each_document(tmp_path):
    write(tmp_path, "a.md", "# A\n")
    write(tmp_path, "b.txt", "B\n")
    reports = []

    ingest_path(tmp_path, progress=lambda done, total, path: reports.append((done, total, path)))

    assert reports == [(1, 2, "a.md"), (2, 2, "b.txt")]


def _state() -> list[tuple]:
    return list(
        SourceDocument.objects.order_by("path").values_list("path", "project", "content_hash", "updated_at")
    ) + list(SourceChunk.objects.order_by("id").values_list("id", "document_id", "ordinal"))


def test_a_path_stored_for_another_project_stops_the_ingest_before_anything_is_written(tmp_path):
    write(tmp_path / "docs", "overview.md", "# Overview\n\nThe demo.\n")
    ingest_path(tmp_path / "docs", project="atocore-docs")
    write(tmp_path / "x", "new.md", "# New\n")
    write(tmp_path / "x", "overview.md", "# unrelated\n")
    before = _state()

    with pytest.raises(ProjectConflict) as error:
        ingest_path(tmp_path / "x", project="atocore")

    assert (error.value.path, error.value.held_by, error.value.others) == ("overview.md", "atocore-docs", 0)
    assert _state() == before


def test_one_file_stored_without_a_project_is_not_taken_over_by_a_project(tmp_path):
    write(tmp_path, "overview.md", "# Overview\n")
    ingest_path(tmp_path)
    write(tmp_path, "overview.md", "# Changed\n")
    before = _state()

    with pytest.raises(ProjectConflict) as error:
        ingest_path(tmp_path / "overview.md", project="atocore")

    assert (error.value.path, error.value.held_by) == ("overview.md", "")
    assert _state() == before


def test_files_that_are_not_utf8_are_skipped_and_the_others_ingested(tmp_path):
    write(tmp_path, "good.md", "# Good\n")
    (tmp_path / "latin1.md").write_bytes(b"caf\xe9\n")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    summary = ingest_path(tmp_path)

    assert (summary.documents_added, summary.documents_skipped) == (1, 2)
    assert summary.skipped == [
        (str(tmp_path / "image.txt"), "not UTF-8 text (byte 0x89 at offset 0)"),
        (str(tmp_path / "latin1.md"), "not UTF-8 text (byte 0xe9 at offset 3)"),
    ]
    assert list(SourceDocument.objects.values_list("path", flat=True)) == ["good.md"]


def test_a_stored_document_whose_file_is_no_longer_utf8_is_left_as_it_was(tmp_path):
    write(tmp_path, "cafe.md", "# Caf\u00e9\n\nMenu.\n")
    write(tmp_path, "other.md", "# Other\n")
    ingest_path(tmp_path)
    before = _state()
    (tmp_path / "cafe.md").write_bytes(b"# Caf\xe9\n\nMenu.\n")

    summary = ingest_path(tmp_path)

    assert (summary.documents_unchanged, summary.documents_skipped, summary.documents_removed) == (1, 1, 0)
    assert _state() == before


# -- query counts -------------------------------------------------------------------


def _many_documents(folder: Path, count: int, paragraphs: int) -> None:
    for n in range(count):
        body = "\n\n".join(
            f"Paragraph {p} of document {n}, long enough to fill a chunk." for p in range(paragraphs)
        )
        write(folder, f"{folder.name}-{n:03}.md", f"# Document {n}\n\n{body}\n")


def test_reingesting_unchanged_documents_takes_one_query_whatever_their_number_and_size(
    tmp_path, small_chunks, django_assert_num_queries
):
    _many_documents(tmp_path / "few", 2, paragraphs=2)
    _many_documents(tmp_path / "many", 20, paragraphs=30)
    ingest_path(tmp_path / "few", project="few")
    ingest_path(tmp_path / "many", project="many")

    with django_assert_num_queries(1):
        ingest_path(tmp_path / "few", project="few")
    with django_assert_num_queries(1):
        summary = ingest_path(tmp_path / "many", project="many")
    assert summary.documents_unchanged == 20


def _queries_to_change(folder: Path, paragraphs: int) -> int:
    """Edit one chunk, insert another before all the rest (so every kept chunk moves)."""
    body = "\n\n".join(f"Paragraph {p}, long enough to fill a chunk on its own." for p in range(paragraphs))
    write(folder, f"{folder.name}.md", f"# Title\n\n{body}\n\nThe end.\n")
    ingest_path(folder, project=folder.name)
    write(folder, f"{folder.name}.md", f"# Intro\n\nNew.\n\n# Title\n\n{body}\n\nThe end, edited.\n")
    with CaptureQueriesContext(connection) as queries:
        summary = ingest_path(folder, project=folder.name)
    assert (summary.chunks_added, summary.chunks_removed) == (2, 1)
    return len(queries)


def test_reingesting_a_changed_document_costs_the_same_queries_for_4_or_150_chunks(tmp_path, small_chunks):
    assert _queries_to_change(tmp_path / "small", 3) == _queries_to_change(tmp_path / "large", 150)


# -- the command --------------------------------------------------------------------


def test_ingest_command_prints_one_summary_line(tmp_path):
    write(tmp_path, "pep-9999.rst", PEP_LIKE)
    out, err = io.StringIO(), io.StringIO()

    call_command("ingest", str(tmp_path), stdout=out, stderr=err)

    assert out.getvalue() == (
        "documents added 1, changed 0, unchanged 0, removed 0; chunks added 4, removed 0\n"
    )
    assert err.getvalue() == ""  # no progress bar when stderr is not a terminal


def test_ingest_command_stores_the_project(tmp_path):
    factories.project("atocore")
    write(tmp_path, "a.md", "# A\n")

    call_command("ingest", str(tmp_path), "--project", "atocore", stdout=io.StringIO())

    assert SourceDocument.objects.get().project == "atocore"


def test_ingest_command_with_a_bad_path_raises_a_one_line_command_error(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("ingest", str(tmp_path / "nope"), stdout=io.StringIO())

    assert str(error.value) == f"cannot ingest {tmp_path / 'nope'}: no such file or folder"
    assert error.value.returncode == 1


def test_ingest_command_with_a_folder_of_no_documents_raises_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no documents"):
        call_command("ingest", str(tmp_path), stdout=io.StringIO())


def test_ingest_command_refuses_a_path_of_another_project_in_one_line(tmp_path):
    factories.project("atocore")
    factories.project("atocore-docs")
    write(tmp_path / "docs", "overview.md", "# Overview\n")
    call_command("ingest", str(tmp_path / "docs"), "--project", "atocore-docs", stdout=io.StringIO())
    write(tmp_path / "x", "overview.md", "# unrelated\n")

    with pytest.raises(CommandError) as error:
        call_command(
            "ingest", str(tmp_path / "x" / "overview.md"), "--project", "atocore", stdout=io.StringIO()
        )

    assert str(error.value) == (
        f"cannot ingest {tmp_path / 'x' / 'overview.md'}: overview.md is already ingested for project "
        "'atocore-docs'; ingest it with --project atocore-docs; nothing was ingested"
    )
    assert error.value.returncode == 1
    assert chunk_texts("overview.md") == ["# Overview"]


def test_ingest_command_with_an_unknown_project_raises_and_writes_nothing(tmp_path):
    write(tmp_path, "a.md", "# A\n")

    with pytest.raises(CommandError) as error:
        call_command("ingest", str(tmp_path), "--project", "nosuchproject", stdout=io.StringIO())

    assert str(error.value) == (
        f"cannot ingest {tmp_path}: no project named 'nosuchproject' "
        "(create it first, e.g. with import_memories --projects)"
    )
    assert not SourceDocument.objects.exists()


def test_ingest_command_reports_skipped_files_then_exits_1(tmp_path):
    write(tmp_path, "good.md", "# Good\n")
    (tmp_path / "latin1.md").write_bytes(b"caf\xe9\n")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as error:
        call_command("ingest", str(tmp_path), stdout=out, stderr=err)

    assert out.getvalue() == (
        "documents added 1, changed 0, unchanged 0, removed 0, skipped 1; chunks added 1, removed 0\n"
    )
    assert err.getvalue() == f"{tmp_path / 'latin1.md'}: skipped: not UTF-8 text (byte 0xe9 at offset 3)\n"
    assert (str(error.value), error.value.returncode) == ("1 file(s) skipped (not UTF-8 text)", 1)


# -- the real corpus ----------------------------------------------------------------


@pytest.fixture
def corpus() -> Path:
    folder = Path(django_settings.ATOCORE_CORPUS_DIR)
    if not (folder / "peps-2022").is_dir():
        pytest.skip(f"the real corpus is not at {folder} (set ATOCORE_CORPUS_DIR)")
    return folder


@pytest.mark.corpus
def test_corpus_peps_are_ingested_then_reingested_incrementally(corpus, settings):
    settings.ATOCORE_CHUNK_MAX_CHARS = 1500

    first = ingest_path(corpus / "peps-2022")
    again = ingest_path(corpus / "peps-2022")
    newer = ingest_path(corpus / "peps-2026")

    # 600 documents in 2022; all 600 edited by 2026 and 136 new (corpus README).
    assert (first.documents_added, first.chunks_added) == (600, 14605)
    assert again == IngestSummary(documents_unchanged=600)
    assert (newer.documents_added, newer.documents_changed, newer.documents_unchanged) == (136, 600, 0)
    # Edits replace only the chunks they touch: 14,605 - 2,316 chunks keep their ids.
    assert (newer.chunks_added, newer.chunks_removed) == (7173, 2316)
    assert SourceChunk.objects.count() == 14605 - 2316 + 7173
