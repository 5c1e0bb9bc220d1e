"""Importing projects and memories from JSON Lines, replayed through the memory services.

The record format is described in ../shared/corpus/README.md. Each record is created as a
candidate (with its ``created_at`` and ``external_key`` = its key), reinforced
``reinforcements`` times, then moved to its final status, all with actor ``import``, so
every step has its audit row. A record whose key is already stored is left alone, which
makes a second import of the same file a no-op. A malformed record (a line that is not
UTF-8, not JSON or not a valid record) is reported with its line number and skipped; the
rest go in.
"""

import datetime
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction

from memories import services
from memories.errors import DomainError
from memories.models import Memory, MemoryStatus, MemoryType, Project, SourceChunk, SourceDocument

ACTOR = "import"
S = MemoryStatus


class MalformedRecord(ValueError):
    """A line that cannot be imported; the message says why."""


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class Record:
    line: int
    key: str
    memory_type: str
    project: str
    content: str
    confidence: float
    status: str
    superseded_by: str | None
    reinforcements: int
    source: dict[str, str] | None
    created_at: datetime.datetime | None


@dataclass
class ImportSummary:
    imported: int = 0
    already_present: int = 0
    skipped: int = 0  # malformed lines and records whose replay failed
    unresolved_sources: int = 0
    errors: list[LineError] = field(default_factory=list)

    def skip(self, line: int, message: str) -> None:
        self.skipped += 1
        self.errors.append(LineError(line, message))


@dataclass
class ProjectsSummary:
    created: int = 0
    existing: int = 0
    errors: list[LineError] = field(default_factory=list)


# -- reading ------------------------------------------------------------------------


def _json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON or the MalformedRecord) for each non-blank line.

    Lines are decoded one by one, so a line that is not UTF-8 is one malformed record.
    """
    with path.open("rb") as raw_lines:
        for number, raw in enumerate(raw_lines, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield (
                    number,
                    MalformedRecord(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"),
                )
                continue
            if not line.strip():
                continue
            try:
                yield number, json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as exc:
                yield number, MalformedRecord(f"not JSON: {exc.msg} at column {exc.colno}")


def _text(data: dict, name: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise MalformedRecord(f"{name!r} must be non-empty text")
    return value


def _choice(data: dict, name: str, choices: list[str]) -> str:
    value = data.get(name)
    if value not in choices:
        raise MalformedRecord(f"{name!r} is {value!r}; expected one of {', '.join(choices)}")
    return value


def _created_at(value: Any) -> datetime.datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise MalformedRecord(f"'created_at' is {value!r}, not an ISO 8601 date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _source(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("document"), str)
        or not isinstance(value.get("quote"), str)
    ):
        raise MalformedRecord('\'source\' must be null or {"document": text, "quote": text}')
    return {"document": value["document"], "quote": value["quote"]}


def parse_record(line: int, data: Any, *, projects: set[str]) -> Record:
    """A validated record, or MalformedRecord saying what is wrong with it."""
    if isinstance(data, MalformedRecord):
        raise data
    if not isinstance(data, dict):
        raise MalformedRecord("not a JSON object")
    key = _text(data, "key")
    if len(key) > 200:
        raise MalformedRecord("'key' is longer than 200 characters")
    project = _text(data, "project")
    if project not in projects:
        raise MalformedRecord(f"unknown project {project!r}")
    confidence = data.get("confidence", 0.5)
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not math.isfinite(confidence)
    ):
        raise MalformedRecord("'confidence' must be a number from 0 to 1")
    if not 0 <= confidence <= 1:
        raise MalformedRecord(f"'confidence' {confidence} is outside 0 to 1")
    reinforcements = data.get("reinforcements", 0)
    if isinstance(reinforcements, bool) or not isinstance(reinforcements, int) or reinforcements < 0:
        raise MalformedRecord("'reinforcements' must be a whole number, 0 or more")
    status = _choice(data, "status", S.values)
    superseded_by = _text(data, "superseded_by", required=status == S.SUPERSEDED)
    if superseded_by is not None and status != S.SUPERSEDED:
        raise MalformedRecord(f"'superseded_by' is set but the status is {status!r}")
    if superseded_by == key:
        raise MalformedRecord("a memory cannot supersede itself")
    return Record(
        line=line,
        key=key,
        memory_type=_choice(data, "memory_type", MemoryType.values),
        project=project,
        content=_text(data, "content"),
        confidence=float(confidence),
        status=status,
        superseded_by=superseded_by,
        reinforcements=reinforcements,
        source=_source(data.get("source")),
        created_at=_created_at(data.get("created_at")),
    )


# -- projects -----------------------------------------------------------------------


def import_projects(path: Path | str) -> ProjectsSummary:
    """Create the projects named in a JSON Lines file (``name``, ``description``) that are missing."""
    summary = ProjectsSummary()
    existing = set(Project.objects.values_list("name", flat=True))
    for line, data in _json_lines(Path(path)):
        try:
            if isinstance(data, MalformedRecord):
                raise data
            if not isinstance(data, dict):
                raise MalformedRecord("not a JSON object")
            name = _text(data, "name")
            description = data.get("description") or ""
            if not isinstance(description, str):
                raise MalformedRecord("'description' must be text")
        except MalformedRecord as exc:
            summary.errors.append(LineError(line, str(exc)))
            continue
        if name in existing:
            summary.existing += 1
            continue
        Project.objects.create(name=name, description=description)
        existing.add(name)
        summary.created += 1
    return summary


# -- source chunks ------------------------------------------------------------------


def _collapse(text: str) -> str:
    return " ".join(text.split())


class SourceResolver:
    """Finds the chunk that holds a quote: one query for documents, one per document for chunks."""

    def __init__(self, paths: set[str]):
        self._documents = dict(SourceDocument.objects.filter(path__in=paths).values_list("path", "id"))
        self._chunks: dict[int, list[tuple[str, str]]] = {}

    def chunk_id(self, source: dict[str, str] | None) -> str | None:
        if source is None:
            return None
        document_id = self._documents.get(source["document"])
        if document_id is None:
            return None
        if document_id not in self._chunks:
            rows = (
                SourceChunk.objects.filter(document_id=document_id)
                .order_by("ordinal")
                .values_list("id", "text")
            )
            self._chunks[document_id] = [(chunk_id, _collapse(text)) for chunk_id, text in rows]
        quote = _collapse(source["quote"])
        return next((chunk_id for chunk_id, text in self._chunks[document_id] if quote in text), None)


# -- memories -----------------------------------------------------------------------


def _validate(path: Path, summary: ImportSummary) -> list[Record]:
    """The well-formed records of the file, in order; the others go to ``summary.errors``."""
    projects = set(Project.objects.values_list("name", flat=True))
    records: list[Record] = []
    first_line: dict[str, int] = {}
    for line, data in _json_lines(path):
        try:
            record = parse_record(line, data, projects=projects)
            if record.key in first_line:
                raise MalformedRecord(f"key {record.key!r} repeats line {first_line[record.key]}")
        except MalformedRecord as exc:
            summary.skip(line, str(exc))
            continue
        first_line[record.key] = line
        records.append(record)
    return records


def _stored(keys: list[str]) -> dict[str, tuple[Any, str]]:
    """key -> (memory id, status) of the given keys that are already stored."""
    found = {}
    for start in range(0, len(keys), 500):
        rows = Memory.objects.filter(external_key__in=keys[start : start + 500])
        found.update(
            {key: (pk, status) for key, pk, status in rows.values_list("external_key", "id", "status")}
        )
    return found


def _chain_problem(record: Record, pending: dict[str, Record], stored: dict) -> str | None:
    """Why the successors of ``record`` cannot end at an active memory, or None if they can."""
    seen = {record.key}
    key = record.superseded_by
    while key in pending and pending[key].status == S.SUPERSEDED:
        if key in seen:
            return f"supersession cycle through {key!r}"
        seen.add(key)
        key = pending[key].superseded_by
    if key in stored:
        status = stored[key][1]
        return None if status == S.ACTIVE else f"successor {key!r} is stored as {status}, not active"
    if key not in pending:
        return f"successor {key!r} is unknown (not stored, not a valid line of this file)"
    status = pending[key].status
    return None if status == S.ACTIVE else f"successor {key!r} ends {status}, not active"


def _check_successors(records: list[Record], stored: dict, summary: ImportSummary) -> list[Record]:
    """Drop new superseded records whose successor will not be there, active, when needed.

    Following the successors from a record must reach a memory that is stored and
    active, or imported now and ending active; successors that are superseded too are
    fine (the chain is ordered later).
    """
    pending = {r.key: r for r in records if r.key not in stored}
    kept = []
    for record in records:
        problem = None
        if record.key in pending and record.status == S.SUPERSEDED:
            problem = _chain_problem(record, pending, stored)
        if problem:
            summary.skip(record.line, f"cannot be superseded by {record.superseded_by!r}: {problem}")
            continue
        kept.append(record)
    return kept


def _replay(record: Record, *, source_chunk_id: str | None, note: str) -> Memory:
    """Create, reinforce and move one record to its status (superseded stops at active)."""
    memory = services.create_memory(
        memory_type=record.memory_type,
        content=record.content,
        project=record.project,
        confidence=record.confidence,
        source_chunk_id=source_chunk_id,
        actor=ACTOR,
        note=note,
        created_at=record.created_at,
        external_key=record.key,
    )
    for _ in range(record.reinforcements):
        memory = services.reinforce_memory(memory, actor=ACTOR, note=note)
    if record.status in {S.ACTIVE, S.INVALID, S.SUPERSEDED}:
        memory = services.promote_memory(memory, actor=ACTOR, note=note)
    if record.status == S.INVALID:
        memory = services.invalidate_memory(memory, actor=ACTOR, note=note)
    elif record.status == S.REJECTED:
        memory = services.reject_candidate_memory(memory, actor=ACTOR, note=note)
    return memory


def _supersession_order(records: list[Record]) -> list[Record]:
    """Superseded records so that a successor is superseded only after its predecessors.

    In a chain A -> B -> C, A is superseded by B while B is still active, then B by C.
    """
    by_key = {r.key: r for r in records}
    waiting = {r.key: 0 for r in records}
    for record in records:
        if record.superseded_by in waiting:
            waiting[record.superseded_by] += 1
    ready = [r for r in records if waiting[r.key] == 0]
    ordered = []
    while ready:
        record = ready.pop(0)
        ordered.append(record)
        successor = by_key.get(record.superseded_by)
        if successor is not None:
            waiting[successor.key] -= 1
            if waiting[successor.key] == 0:
                ready.append(successor)
    return ordered


def import_memories(path: Path | str, *, note: str | None = None) -> ImportSummary:
    """Replay each new record of a JSON Lines file through the services; one transaction each.

    Superseded records are created last, successors before predecessors, so a record
    whose successor failed is skipped whole; their supersessions then run in chain order.
    """
    path = Path(path)
    summary = ImportSummary()
    records = _validate(path, summary)
    stored = _stored(sorted({r.key for r in records} | {r.superseded_by for r in records if r.superseded_by}))
    records = _check_successors(records, stored, summary)
    summary.already_present = sum(1 for r in records if r.key in stored)
    new = [r for r in records if r.key not in stored]
    superseded = _supersession_order([r for r in new if r.status == S.SUPERSEDED])
    resolver = SourceResolver({r.source["document"] for r in new if r.source})
    ids = {key: pk for key, (pk, _) in stored.items()}
    for record in [r for r in new if r.status != S.SUPERSEDED] + superseded[::-1]:
        if record.superseded_by and record.superseded_by not in ids:
            summary.skip(record.line, f"not imported: successor {record.superseded_by!r} was not imported")
            continue
        chunk_id = resolver.chunk_id(record.source)
        try:
            with transaction.atomic():
                memory = _replay(record, source_chunk_id=chunk_id, note=note or f"import {record.key}")
        except (DomainError, IntegrityError) as exc:
            summary.skip(record.line, f"not imported: {exc}")
            continue
        ids[record.key] = memory.pk
        summary.imported += 1
        summary.unresolved_sources += int(record.source is not None and chunk_id is None)
    for record in superseded:
        if record.key in ids:
            _supersede(record, ids, note=note, summary=summary)
    return summary


def _supersede(record: Record, ids: dict, *, note: str | None, summary: ImportSummary) -> None:
    try:
        services.supersede_memory(
            ids[record.key], by=ids[record.superseded_by], actor=ACTOR, note=note or f"import {record.key}"
        )
    except (DomainError, Memory.DoesNotExist) as exc:  # only if the store changed under the import
        summary.errors.append(LineError(record.line, f"imported but not superseded: {exc}"))
