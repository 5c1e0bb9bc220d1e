"""The audit trail and the alert history."""

from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    """Audit rows are history: they are never changed or deleted."""


class AuditAction(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    PROMOTED = "promoted"
    REJECTED = "rejected"
    INVALIDATED = "invalidated"
    SUPERSEDED = "superseded"
    REINFORCED = "reinforced"
    DELETED = "deleted"


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit rows cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit rows cannot be deleted")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError("audit rows cannot be updated")

    def bulk_create(self, objs, batch_size=None, ignore_conflicts=False, update_conflicts=False, **kwargs):
        if update_conflicts:  # ON CONFLICT DO UPDATE would rewrite existing rows
            raise AppendOnlyError("audit rows cannot be updated")
        return super().bulk_create(objs, batch_size=batch_size, ignore_conflicts=ignore_conflicts, **kwargs)

    update.alters_data = delete.alters_data = bulk_update.alters_data = True


class MemoryAudit(models.Model):
    # No foreign key: a memory's history outlives the memory.
    memory_id = models.UUIDField()
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    actor = models.CharField(max_length=64)
    user = models.CharField(max_length=150, blank=True, default="")
    request_id = models.CharField(max_length=64, blank=True, default="")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True, default="")
    timestamp = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            # The history of one memory, in order.
            models.Index(fields=["memory_id", "timestamp", "id"], name="audit_memory_time_idx"),
            # The latest mutations across the system.
            models.Index(fields=["timestamp", "id"], name="audit_time_idx"),
            models.Index(fields=["action", "timestamp"], name="audit_action_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.memory_id} by {self.actor}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit rows cannot be updated")
        # Always an INSERT: a new instance carrying an existing pk must not UPDATE that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit rows cannot be deleted")


class AlertSeverity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertEvent(models.Model):
    """One emitted alert, for the admin. Text is stored redacted and truncated to fit."""

    alert_id = models.UUIDField(null=True, blank=True, editable=False, db_index=True)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    original_severity = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="What the caller passed, when it was not a severity.",
    )
    title = models.CharField(max_length=300)
    message = models.TextField(blank=True, default="")
    context = models.JSONField(default=dict, blank=True)
    dedup_key = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Repeats of one key within the cooldown are not posted.",
    )
    sinks = models.JSONField(default=dict, blank=True, help_text="Each sink's outcome.")
    sink_errors = models.JSONField(default=dict, blank=True, help_text="Why a sink failed (redacted).")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["severity", "created_at"], name="alert_severity_time_idx"),
            models.Index(fields=["dedup_key", "created_at"], name="alert_dedup_time_idx"),
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.title}"
