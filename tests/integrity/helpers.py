"""Shared helpers for the integrity tests: run the command, count rows, plant drift fast."""

import json
import uuid
from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from memories.content import content_hash
from memories.models import Memory, MemoryStatus, Project, ProjectState, SourceChunk, SourceDocument


def run_command(*args: str) -> tuple[int, str]:
    """``manage.py integrity_check *args``: (exit code, stdout)."""
    out = StringIO()
    try:
        call_command("integrity_check", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def run_json(*args: str) -> tuple[int, dict]:
    code, out = run_command("--json", *args)
    return code, json.loads(out)


def row_counts() -> dict[str, int]:
    """Rows in every table of the project, by model label."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def document(name: str = "docs/a.md", project: str = "demo") -> SourceDocument:
    return SourceDocument.objects.create(path=name, content_hash="0" * 64, project=project)


def chunk(chunk_id: str, *, document_id: int, ordinal: int = 0) -> SourceChunk:
    return SourceChunk.objects.create(id=chunk_id, document_id=document_id, ordinal=ordinal, text=chunk_id)


def _bypassing(memories: list[Memory]) -> list[Memory]:
    """Insert memories the way a restore or raw SQL would: no service, no signal, no audit row.

    ``_base_manager`` is Django's plain manager, so neither the audited ``bulk_create``
    of MemoryQuerySet nor ``Memory.save`` runs; the content hash is set here instead.
    """
    for memory in memories:
        memory.content_hash = content_hash(memory.content)
    return Memory._base_manager.bulk_create(memories)


def unaudited_memories(n: int, **fields) -> list[Memory]:
    """Memories written around the audit trail."""
    Project.objects.get_or_create(name=fields.get("project", "demo"))
    now = timezone.now()
    base = {"memory_type": "fact", "project": "demo", "status": MemoryStatus.CANDIDATE, "created_at": now}
    return _bypassing(
        [
            Memory(id=uuid.uuid4(), content=f"bulk memory {uuid.uuid4().hex}", **{**base, **fields})
            for _ in range(n)
        ]
    )


def plant_every_kind(n: int) -> None:
    """n findings of every built-in check, written in bulk (fast at thousands of rows).

    All of these memories bypass the audit trail: memory_without_audit finds 5 per n.
    """
    Project.objects.get_or_create(name="demo")
    unaudited_memories(n, source_chunk_id="no-such-chunk")
    unaudited_memories(n, project="gone")
    Project.objects.filter(name="gone").delete()
    unaudited_memories(n, status=MemoryStatus.SUPERSEDED)
    pairs = [f"duplicate pair {uuid.uuid4().hex}" for _ in range(n)]  # two active memories each
    _bypassing(
        [
            Memory(memory_type="fact", project="demo", status=MemoryStatus.ACTIVE, content=content)
            for content in pairs
            for _ in range(2)
        ]
    )
    ProjectState.objects.bulk_create(
        [ProjectState(project="ghost", category="c", key=f"k{uuid.uuid4().hex}", value=1) for _ in range(n)]
    )
    SourceChunk.objects.bulk_create(
        [SourceChunk(id=uuid.uuid4().hex, document_id=10**9, ordinal=0, text="t") for _ in range(n)]
    )
