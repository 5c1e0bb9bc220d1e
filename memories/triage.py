"""Triage of a selection of memories: promote or reject the candidates, say why others were skipped.

Thin over the services (each memory its own transaction and audit row); shared by the
admin actions and any other triage surface. ``duplicate_twins`` finds the candidates
whose promotion would create a duplicate active memory (same type, project and
normalised content), in one query.
"""

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from memories import services
from memories.errors import IllegalTransition
from memories.models import Memory, MemoryStatus

S = MemoryStatus


@dataclass
class TriageOutcome:
    done: list[Memory] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> how many

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True)
class Twin:
    """A candidate and what it would duplicate once promoted."""

    candidate: Memory
    active: Memory | None  # the active memory with the same content, if any
    selected: Memory | None  # else an earlier selected candidate with the same content


def _key(memory: Memory) -> tuple[str, str, str]:
    return (memory.memory_type, memory.project, memory.content_hash)


def duplicate_twins(memories: Iterable[Memory]) -> dict[uuid.UUID, Twin]:
    """Candidates whose promotion would duplicate an active memory or another selected candidate."""
    candidates = [m for m in memories if m.status == S.CANDIDATE]
    if not candidates:
        return {}
    hashes = {m.content_hash for m in candidates}
    actives = {}
    for active in Memory.objects.filter(status=S.ACTIVE, content_hash__in=hashes).order_by(
        "created_at", "id"
    ):
        actives.setdefault(_key(active), active)
    twins, first_selected = {}, {}
    for memory in candidates:
        key = _key(memory)
        if key in actives:
            twins[memory.pk] = Twin(memory, actives[key], None)
        elif key in first_selected:
            twins[memory.pk] = Twin(memory, None, first_selected[key])
        else:
            first_selected[key] = memory
    return twins


def _apply(memories, move, *, verb: str, actor: str, user: str | None, note: str, skip=()) -> TriageOutcome:
    outcome = TriageOutcome()
    for memory in memories:
        if memory.status != S.CANDIDATE:
            outcome.skipped[f"{memory.status}, not a candidate"] += 1
        elif memory.pk in skip:
            outcome.skipped["would create a duplicate active memory"] += 1
        else:
            try:
                outcome.done.append(move(memory.pk, actor=actor, user=user, note=note))
            except (IllegalTransition, Memory.DoesNotExist):
                outcome.skipped[f"changed by someone else before it could be {verb}"] += 1
    return outcome


def promote_candidates(
    memories: Iterable[Memory], *, actor: str, user: str | None = None, note: str = "", skip=()
) -> TriageOutcome:
    """Promote every candidate of ``memories`` (ids in ``skip`` excepted); count the others by reason."""
    return _apply(
        memories, services.promote_memory, verb="promoted", actor=actor, user=user, note=note, skip=skip
    )


def reject_candidates(
    memories: Iterable[Memory], *, actor: str, user: str | None = None, note: str = ""
) -> TriageOutcome:
    """Reject every candidate of ``memories``; count the others by reason."""
    return _apply(
        memories, services.reject_candidate_memory, verb="rejected", actor=actor, user=user, note=note
    )


def describe(outcome: TriageOutcome, *, verb: str) -> tuple[str, str | None]:
    """(what was done, why the rest was skipped or None), as sentences for people."""
    n = len(outcome.done)
    done = f"{verb.capitalize()} {n} candidate{'s' if n != 1 else ''}."
    if not outcome.skipped:
        return done, None
    reasons = "; ".join(f"{count} {reason}" for reason, count in sorted(outcome.skipped.items()))
    total = outcome.skipped_total
    return (
        done,
        f"Skipped {total} memor{'ies' if total != 1 else 'y'}: {reasons}. Only candidates can be {verb}.",
    )
