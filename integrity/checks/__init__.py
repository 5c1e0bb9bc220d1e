"""The check registry: stable names, run in this order.

Each check lives in a module of its own and is one set-based query (see base.py).
Code outside this package (tests, plug-ins) adds checks with ``register``.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from integrity.checks import (
    duplicate_active_memories,
    memory_missing_project,
    memory_missing_source_chunk,
    memory_without_audit,
    orphan_source_chunks,
    project_state_missing_project,
    superseded_without_successor,
)
from integrity.checks.base import Check, Sql

__all__ = ["Check", "Sql", "all_checks", "get_checks", "register", "registered", "unregister"]

_REGISTRY: dict[str, Check] = {}


def register(check: Check) -> Check:
    if check.name in _REGISTRY:
        raise ValueError(f"an integrity check named {check.name!r} is already registered")
    _REGISTRY[check.name] = check
    return check


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


@contextmanager
def registered(check: Check) -> Iterator[Check]:
    """Register ``check`` for the block only."""
    register(check)
    try:
        yield check
    finally:
        unregister(check.name)


def all_checks() -> list[Check]:
    return list(_REGISTRY.values())


def get_checks(names: Iterable[str] | None = None) -> list[Check]:
    """The named checks in registry order (all of them for None); KeyError names the unknown."""
    if not names:
        return all_checks()
    wanted = set(names)
    unknown = sorted(wanted - _REGISTRY.keys())
    if unknown:
        raise KeyError(", ".join(unknown))
    return [check for name, check in _REGISTRY.items() if name in wanted]


for _module in (
    memory_missing_source_chunk,
    duplicate_active_memories,
    project_state_missing_project,
    orphan_source_chunks,
    memory_missing_project,
    superseded_without_successor,
    memory_without_audit,
):
    register(_module.CHECK)
