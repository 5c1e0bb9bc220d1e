"""The write path of memories: every change is one transaction and one audit row.

``memory`` is a Memory or its id everywhere. Transitions lock their row first, so two
concurrent callers cannot both make the same move. Illegal moves raise
``IllegalTransition`` and change nothing; an unknown id raises ``Memory.DoesNotExist``.
"""

import datetime
import math
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from memories.bulk import audited_update
from memories.errors import IllegalTransition, InvalidMemoryData
from memories.models import Memory, MemoryStatus, MemoryType, Project, ProjectState, round_confidence
from memories.signals import SERVICE_MARK
from observability import audit

REINFORCEMENT_NUDGE = 0.05
UPDATABLE_FIELDS = frozenset({"content", "memory_type", "project", "confidence", "source_chunk_id"})
S = MemoryStatus


# -- validation ---------------------------------------------------------------------


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    for name in ("content", "project", "source_chunk_id"):
        # PostgreSQL text cannot hold NUL (a DataError there); SQLite would store it.
        if isinstance(cleaned.get(name), str) and "\x00" in cleaned[name]:
            raise InvalidMemoryData(name, "must not contain NUL characters")
    if "content" in cleaned:
        content = cleaned["content"]
        if not isinstance(content, str) or not content.strip():
            raise InvalidMemoryData("content", "must be non-empty text")
        limit = settings.ATOCORE_MAX_CONTENT_CHARS
        if len(content) > limit:
            raise InvalidMemoryData("content", f"is {len(content)} characters; the limit is {limit}")
    if "memory_type" in cleaned and cleaned["memory_type"] not in MemoryType.values:
        raise InvalidMemoryData("memory_type", f"must be one of {', '.join(MemoryType.values)}")
    if "confidence" in cleaned:
        value = cleaned["confidence"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidMemoryData("confidence", "must be a number from 0 to 1")
        if not 0 <= value <= 1:
            raise InvalidMemoryData("confidence", f"{value} is outside 0 to 1")
        cleaned["confidence"] = round_confidence(value)
    if "project" in cleaned and not Project.objects.filter(name=cleaned["project"]).exists():
        raise InvalidMemoryData("project", f"no project named {cleaned['project']!r}")
    if "source_chunk_id" in cleaned:
        chunk_id = cleaned["source_chunk_id"]
        if chunk_id is not None and (not isinstance(chunk_id, str) or len(chunk_id) > 64):
            raise InvalidMemoryData("source_chunk_id", "must be a chunk id (at most 64 characters)")
    return cleaned


def _save(memory: Memory, *, fields: list[str] | None = None, force_insert: bool = False) -> None:
    setattr(memory, SERVICE_MARK, True)
    try:
        memory.save(update_fields=fields, force_insert=force_insert)
    finally:
        delattr(memory, SERVICE_MARK)


def _locked(memory: Memory | uuid.UUID | str) -> Memory:
    pk = memory.pk if isinstance(memory, Memory) else memory
    return Memory.objects.select_for_update().get(pk=pk)


# -- create and update --------------------------------------------------------------


def create_memory(
    *,
    memory_type: str,
    content: str,
    project: str,
    confidence: float = 0.5,
    source_chunk_id: str | None = None,
    status: str = S.CANDIDATE,
    actor: str,
    note: str = "",
    created_at: datetime.datetime | None = None,
    external_key: str | None = None,
    user: str | None = None,
) -> Memory:
    """Create a memory (any status; candidate by default). Raises InvalidMemoryData."""
    fields = _clean_fields(
        {
            "memory_type": memory_type,
            "content": content,
            "project": project,
            "confidence": confidence,
            "source_chunk_id": source_chunk_id,
        }
    )
    if status not in S.values:
        raise InvalidMemoryData("status", f"must be one of {', '.join(S.values)}")
    now = timezone.now()
    memory = Memory(
        **fields,
        status=status,
        external_key=external_key,
        created_at=created_at or now,
        updated_at=now,
    )
    with transaction.atomic():
        _save(memory, force_insert=True)
        audit.record(memory.pk, before=None, after=audit.snapshot(memory), actor=actor, note=note, user=user)
    return memory


def update_memory(
    memory: Memory | uuid.UUID | str, *, actor: str, note: str = "", user: str | None = None, **fields
) -> Memory:
    """Change content, memory_type, project, confidence or source_chunk_id.

    Any status. A change to nothing writes nothing. Raises InvalidMemoryData.
    """
    unknown = set(fields) - UPDATABLE_FIELDS
    if unknown:
        raise InvalidMemoryData(sorted(unknown)[0], "is not a field update_memory can change")
    fields = _clean_fields(fields)
    with transaction.atomic():
        current = _locked(memory)
        changed = [name for name, value in fields.items() if getattr(current, name) != value]
        if not changed:
            return current
        before = audit.snapshot(current)
        for name in changed:
            setattr(current, name, fields[name])
        _save(current, fields=changed)
        audit.record(
            current.pk, before=before, after=audit.snapshot(current), actor=actor, note=note, user=user
        )
    return current


# -- transitions --------------------------------------------------------------------


def _transition(
    memory,
    *,
    action: str,
    allowed: set[str],
    to: str,
    actor: str,
    note: str,
    user: str | None = None,
    **extra,
) -> Memory:
    with transaction.atomic():
        current = _locked(memory)
        if current.status not in allowed:
            raise IllegalTransition(current.pk, current.status, action)
        before = audit.snapshot(current)
        current.status = to
        for name, value in extra.items():
            setattr(current, name, value)
        _save(current, fields=["status", *extra])
        audit.record(
            current.pk, before=before, after=audit.snapshot(current), actor=actor, note=note, user=user
        )
    return current


def promote_memory(memory, *, actor: str, note: str = "", user: str | None = None) -> Memory:
    """candidate -> active. Raises IllegalTransition from any other status."""
    return _transition(
        memory, action="promote", allowed={S.CANDIDATE}, to=S.ACTIVE, actor=actor, note=note, user=user
    )


def reject_candidate_memory(memory, *, actor: str, note: str = "", user: str | None = None) -> Memory:
    """candidate -> rejected. Raises IllegalTransition from any other status."""
    return _transition(
        memory, action="reject", allowed={S.CANDIDATE}, to=S.REJECTED, actor=actor, note=note, user=user
    )


def invalidate_memory(memory, *, actor: str, note: str = "", user: str | None = None) -> Memory:
    """active -> invalid. Raises IllegalTransition from any other status."""
    return _transition(
        memory, action="invalidate", allowed={S.ACTIVE}, to=S.INVALID, actor=actor, note=note, user=user
    )


def supersede_memory(memory, *, by, actor: str, note: str = "", user: str | None = None) -> Memory:
    """active -> superseded by another active memory. Raises IllegalTransition otherwise."""
    old_pk = memory.pk if isinstance(memory, Memory) else memory
    new_pk = by.pk if isinstance(by, Memory) else by
    with transaction.atomic():
        # Lock both rows in one order, so two crossing supersessions cannot deadlock.
        locked = {
            m.pk: m for m in Memory.objects.select_for_update().filter(pk__in=[old_pk, new_pk]).order_by("pk")
        }
        current = locked.get(_as_uuid(old_pk))
        if current is None:
            raise Memory.DoesNotExist(f"no memory {old_pk}")
        successor = locked.get(_as_uuid(new_pk))
        if successor is None:
            raise Memory.DoesNotExist(f"no memory {new_pk}")
        if successor.pk == current.pk:
            raise IllegalTransition(
                current.pk, current.status, "supersede", "a memory cannot supersede itself"
            )
        if successor.status != S.ACTIVE:
            raise IllegalTransition(
                current.pk,
                current.status,
                "supersede",
                f"successor {successor.pk} is {successor.status}, not active",
            )
        return _transition(
            current,
            action="supersede",
            allowed={S.ACTIVE},
            to=S.SUPERSEDED,
            actor=actor,
            note=note,
            user=user,
            superseded_by=successor.pk,
        )


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def reinforce_memory(
    memory, *, actor: str = "reinforcement", note: str = "", user: str | None = None
) -> Memory:
    """Count one more reference: reference_count + 1, last_referenced_at now, confidence nudged up.

    Candidates and active memories only; raises IllegalTransition otherwise.
    """
    with transaction.atomic():
        current = _locked(memory)
        if current.status not in {S.CANDIDATE, S.ACTIVE}:
            raise IllegalTransition(current.pk, current.status, "reinforce")
        before = audit.snapshot(current)
        current.reference_count = F("reference_count") + 1
        # The row is locked, so the nudge can be computed here (and rounded, unlike SQL).
        current.confidence = round(min(1.0, current.confidence + REINFORCEMENT_NUDGE), 4)
        current.last_referenced_at = timezone.now()
        _save(current, fields=["reference_count", "confidence", "last_referenced_at"])
        # The snapshot must hold the resulting integer, never the expression.
        current.refresh_from_db(fields=["reference_count"])
        audit.record(
            current.pk, before=before, after=audit.snapshot(current), actor=actor, note=note, user=user
        )
    return current


# -- nightly bulk moves -------------------------------------------------------------


def auto_promote_reinforced(
    *, min_reinforcements: int | None = None, actor: str = "phase10-auto-promote"
) -> int:
    """Promote every candidate referenced at least ``min_reinforcements`` times."""
    threshold = (
        min_reinforcements
        if min_reinforcements is not None
        else settings.ATOCORE_AUTO_PROMOTE_MIN_REINFORCEMENTS
    )
    due = Memory.objects.filter(status=S.CANDIDATE, reference_count__gte=threshold)
    return audited_update(
        due,
        values={"status": S.ACTIVE, "updated_at": timezone.now()},
        actor=actor,
        note=f"reinforced at least {threshold} times",
    )


def expire_stale_candidates(
    *, max_age_days: int | None = None, actor: str = "candidate-expiry", now: datetime.datetime | None = None
) -> int:
    """Reject every candidate whose last activity (reinforcement, else creation) is too old."""
    days = max_age_days if max_age_days is not None else settings.ATOCORE_CANDIDATE_MAX_AGE_DAYS
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=days)
    stale = Memory.objects.alias(last_activity=Coalesce("last_referenced_at", "created_at")).filter(
        Q(status=S.CANDIDATE) & Q(last_activity__lt=cutoff)
    )
    return audited_update(
        stale,
        values={"status": S.REJECTED, "updated_at": now},
        actor=actor,
        note=f"stale candidate: no activity for {days} days (last activity before {cutoff.isoformat()})",
    )


# -- project state ------------------------------------------------------------------


def set_project_state(*, project: str, category: str, key: str, value: Any) -> ProjectState:
    """Create or replace ``project/category/key``; the value must be JSON."""
    state, _ = ProjectState.objects.update_or_create(
        project=project, category=category, key=key, defaults={"value": value}
    )
    return state
