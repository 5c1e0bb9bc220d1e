"""Incremental ingestion of a folder of documents into SourceDocument and SourceChunk rows.

A document is identified by its path relative to the ingested root. Unchanged documents
(same content hash) are not touched; a changed document keeps the chunks whose id (path +
text) it still has and only adds and removes the others; documents gone from the folder
are removed with their chunks. Memories are never touched: a memory whose source chunk
went away keeps its dangling reference, and the integrity scan reports it. A file that is
not UTF-8 text is skipped (its stored document, if any, is left as it was), and a path
stored for another project stops the whole run before anything is written.
"""

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from memories import ingestion
from memories.models import Project, SourceChunk, SourceDocument

logger = structlog.get_logger(__name__)


class NoDocuments(ValueError):
    """The path holds no document to ingest."""


class UnknownProject(ValueError):
    """No project of that name exists."""

    def __init__(self, project: str):
        super().__init__(f"no project named {project!r}")
        self.project = project


class ProjectConflict(ValueError):
    """A document path to ingest is already stored for another project (``held_by``, "" for none)."""

    def __init__(self, path: str, held_by: str, *, others: int = 0):
        super().__init__(f"{path} is already ingested for project {held_by!r}")
        self.path, self.held_by, self.others = path, held_by, others


Progress = Callable[[int, int, str], None]
"""Called after each document with (documents done, documents in all, path)."""


@dataclass
class IngestSummary:
    documents_added: int = 0
    documents_changed: int = 0
    documents_unchanged: int = 0
    documents_removed: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    documents_skipped: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why), files not ingested

    def skip(self, file: Path, reason: str) -> None:
        self.documents_skipped += 1
        self.skipped.append((str(file), reason))


def require_project(name: str) -> None:
    """Raise UnknownProject unless a project called ``name`` exists."""
    if not Project.objects.filter(name=name).exists():
        raise UnknownProject(name)


def find_documents(root: Path) -> list[Path]:
    """The documents under ``root`` (or ``root`` itself), sorted; hidden folders and files skipped."""
    if root.is_file():
        return [root]
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file()
        and ingestion.is_document(path)
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def ingest_path(
    root: Path | str, *, project: str | None = None, progress: Progress | None = None
) -> IngestSummary:
    """Bring the store in line with the documents under ``root``; one transaction per document.

    ``root`` is a folder (paths are relative to it) or one file (its path is its name,
    and nothing else is removed). Documents gone from a folder are removed only among
    those of the same ``project`` (no project: those ingested without one), so folders
    ingested for different projects do not remove each other's documents. A file that is
    not UTF-8 text is counted in ``documents_skipped`` and listed in ``skipped``. Raises
    FileNotFoundError for a missing ``root``, NoDocuments for one without documents, and
    ProjectConflict, before writing anything, if a path is stored for another project.
    ``project`` is not checked against the projects (see require_project).
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(errno.ENOENT, "no such file or folder", str(root))
    files = find_documents(root)
    if not files:
        # An empty or mistaken folder would otherwise remove every document of the project.
        raise NoDocuments(f"no documents ({', '.join(sorted(ingestion.SUFFIXES))}) under {root}")
    base = root.parent if root.is_file() else root
    project = project or ""
    summary = IngestSummary()
    known = {doc.path: doc for doc in SourceDocument.objects.only("id", "path", "content_hash", "project")}
    paths = [(file, file.relative_to(base).as_posix()) for file in files]
    conflicts = [
        (path, known[path].project) for _, path in paths if path in known and known[path].project != project
    ]
    if conflicts:
        raise ProjectConflict(*conflicts[0], others=len(conflicts) - 1)
    for done, (file, path) in enumerate(paths, start=1):
        _ingest_file(file, path=path, existing=known.pop(path, None), project=project, summary=summary)
        if progress is not None:
            progress(done, len(files), path)
    if root.is_dir():
        _remove_documents([doc.id for doc in known.values() if doc.project == project], summary)
    logger.info("ingest_finished", root=str(root), project=project, summary=vars(summary))
    return summary


def _ingest_file(file: Path, *, path: str, existing, project: str, summary: IngestSummary) -> None:
    try:
        text, digest = ingestion.read_text(file)
    except ingestion.NotText as exc:
        summary.skip(file, str(exc))
        return
    if existing is not None and existing.content_hash == digest:
        summary.documents_unchanged += 1
        return
    document = ingestion.parse(path, text)
    chunks = ingestion.chunk_document(path, document, max_chars=settings.ATOCORE_CHUNK_MAX_CHARS)
    _store_document(
        existing,
        path=path,
        title=document.title,
        digest=digest,
        project=project,
        chunks=chunks,
        summary=summary,
    )


def _store_document(existing, *, path, title, digest, project, chunks, summary: IngestSummary) -> None:
    now = timezone.now()
    with transaction.atomic():
        if existing is None:
            document = SourceDocument.objects.create(
                path=path,
                title=title[:500],
                content_hash=digest,
                project=project,
                ingested_at=now,
                updated_at=now,
            )
            old_ordinals: dict[str, int] = {}
            summary.documents_added += 1
        else:
            document = existing
            SourceDocument.objects.filter(pk=document.pk).update(
                title=title[:500], content_hash=digest, project=project, updated_at=now
            )
            old_ordinals = dict(
                SourceChunk.objects.filter(document_id=document.pk).order_by().values_list("id", "ordinal")
            )
            summary.documents_changed += 1
        new = {chunk.id: chunk for chunk in chunks}
        removed = [chunk_id for chunk_id in old_ordinals if chunk_id not in new]
        if removed:
            SourceChunk.objects.filter(pk__in=removed).delete()
        added = [
            SourceChunk(id=c.id, document_id=document.pk, ordinal=c.ordinal, text=c.text)
            for c in chunks
            if c.id not in old_ordinals
        ]
        # A chunk id can exist without its document (drift the integrity scan reports):
        # the document is back, so the chunk is adopted rather than failing the insert.
        SourceChunk.objects.bulk_create(
            added,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["document_id", "ordinal", "text"],
        )
        moved = [
            SourceChunk(id=c.id, ordinal=c.ordinal)
            for c in chunks
            if c.id in old_ordinals and old_ordinals[c.id] != c.ordinal
        ]
        SourceChunk.objects.bulk_update(moved, ["ordinal"], batch_size=500)
    summary.chunks_added += len(added)
    summary.chunks_removed += len(removed)


def _remove_documents(document_ids: list[int], summary: IngestSummary) -> None:
    if not document_ids:
        return
    with transaction.atomic():
        chunks_removed, _ = SourceChunk.objects.filter(document_id__in=document_ids).delete()
        SourceDocument.objects.filter(pk__in=document_ids).delete()
    summary.documents_removed += len(document_ids)
    summary.chunks_removed += chunks_removed
