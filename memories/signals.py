"""The audit safety net: saves and deletes of memories that bypass the services.

Services mark the instances they save, so a change is never recorded twice. These
receivers make no transitions, no HTTP calls and never raise.
"""

import structlog

from observability import audit

logger = structlog.get_logger(__name__)

SERVICE_MARK = "_audit_by_service"


def _db_snapshot(instance, using):
    fields = [f.attname for f in instance._meta.concrete_fields]
    row = type(instance)._default_manager.using(using).filter(pk=instance.pk).values(*fields).first()
    return audit.snapshot_values(row) if row is not None else None


def capture_before_save(sender, instance, raw, using, **kwargs):
    if raw or getattr(instance, SERVICE_MARK, False):
        return
    try:
        instance._audit_before = None if instance._state.adding else _db_snapshot(instance, using)
    except Exception as exc:
        logger.error("audit_safety_net_failed", stage="pre_save", error=repr(exc))


def record_save(sender, instance, created, raw, using, **kwargs):
    if raw or getattr(instance, SERVICE_MARK, False):
        return
    try:
        before = instance.__dict__.pop("_audit_before", None)
        after = _db_snapshot(instance, using)
        if before != after:
            audit.record(instance.pk, before=before, after=after)
    except Exception as exc:
        logger.error("audit_safety_net_failed", stage="post_save", error=repr(exc))


def capture_before_delete(sender, instance, using, **kwargs):
    try:
        instance._audit_before = _db_snapshot(instance, using) or audit.snapshot(instance)
    except Exception as exc:
        logger.error("audit_safety_net_failed", stage="pre_delete", error=repr(exc))


def record_delete(sender, instance, using, **kwargs):
    try:
        before = instance.__dict__.pop("_audit_before", None) or audit.snapshot(instance)
        audit.record(instance.pk, before=before, after=None)
    except Exception as exc:
        logger.error("audit_safety_net_failed", stage="post_delete", error=repr(exc))
