"""Ambient audit context: who is acting, why, and for which request.

The actor is a parameter of every service first; these contextvars only carry it to
code that has no parameter for it (signal receivers, log lines). Contextvars are
per thread and per asyncio task, so concurrent requests never see each other's.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import structlog

DEFAULT_ACTOR = "system"


@dataclass(frozen=True)
class AuditContext:
    actor: str = DEFAULT_ACTOR
    note: str = ""
    user: str = ""


_audit_context: ContextVar[AuditContext] = ContextVar("atocore_audit_context", default=AuditContext())  # noqa: B039 (frozen)
_request_id: ContextVar[str] = ContextVar("atocore_request_id", default="")


def current() -> AuditContext:
    return _audit_context.get()


def current_request_id() -> str:
    return _request_id.get()


@contextmanager
def audit_context(*, actor: str, note: str = "", user: str | None = None) -> Iterator[AuditContext]:
    """Set the ambient actor (and note, user) for the block; nesting restores the outer one."""
    outer = _audit_context.get()
    ctx = AuditContext(actor=actor, note=note, user=user if user is not None else outer.user)
    token = _audit_context.set(ctx)
    try:
        yield ctx
    finally:
        _audit_context.reset(token)


@contextmanager
def request_context(request_id: str) -> Iterator[None]:
    """Bind a request id for audit rows and every log line of the block."""
    token = _request_id.set(request_id)
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        try:
            yield
        finally:
            _request_id.reset(token)
