"""The store: projects, source documents and chunks, memories, project state.

References between these parts are soft on purpose (plain columns, no database
constraint): re-ingesting replaces chunks, and a cascade would delete memories while
SET NULL would erase provenance silently. The nightly integrity scan reports drift.
"""

import uuid

from django.db import models, router, transaction
from django.utils import timezone

from memories.content import content_hash

SYSTEM_PROJECT = "atocore"
CONFIDENCE_DECIMALS = 4


def round_confidence(value: float) -> float:
    """Confidence is kept to 4 decimals: enough for a heuristic, and every database's
    JSON then prints the same number Python does (SQLite keeps 15 significant digits)."""
    return round(float(value), CONFIDENCE_DECIMALS)


class Project(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SourceDocument(models.Model):
    path = models.CharField(max_length=512, unique=True, help_text="Relative to the ingested root.")
    title = models.CharField(max_length=500, blank=True, default="")
    content_hash = models.CharField(max_length=64)
    project = models.CharField(max_length=100, blank=True, default="", db_index=True)
    ingested_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path


class SourceChunk(models.Model):
    # Content-addressed (document path + text): an unchanged chunk keeps its id.
    id = models.CharField(max_length=64, primary_key=True)
    document_id = models.BigIntegerField(db_index=True)
    ordinal = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["document_id", "ordinal"]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"


class MemoryType(models.TextChoices):
    FACT = "fact"
    DECISION = "decision"
    PREFERENCE = "preference"
    KNOWLEDGE = "knowledge"


class MemoryStatus(models.TextChoices):
    CANDIDATE = "candidate"
    ACTIVE = "active"
    REJECTED = "rejected"
    INVALID = "invalid"
    SUPERSEDED = "superseded"


class MemoryQuerySet(models.QuerySet):
    """Keeps content_hash true and audits bulk updates that bypass the services."""

    def update(self, **values):
        if "content" in values:
            if not isinstance(values["content"], str):
                raise TypeError("Memory.content can only be updated to a literal string")
            values["content_hash"] = content_hash(values["content"])
        if isinstance(values.get("confidence"), float | int):
            values["confidence"] = round_confidence(values["confidence"])
        from memories.bulk import audited_update

        return audited_update(self, values=values)

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise NotImplementedError("bulk_create of memories with conflict handling is not audited")
        from observability import audit

        objs = list(objs)
        for obj in objs:
            obj.content_hash = content_hash(obj.content)
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            audit.record_many((obj.pk, None, audit.snapshot(obj)) for obj in created)
        return created

    def bulk_update(self, objs, fields, *args, **kwargs):
        raise NotImplementedError("use the services in memories.services; bulk_update is not audited")

    def _raw_update(self, **values):
        """The unaudited update, for memories.bulk only."""
        return super().update(**values)


class Memory(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    memory_type = models.CharField(max_length=20, choices=MemoryType.choices)
    content = models.TextField()
    content_hash = models.CharField(max_length=64, editable=False)
    project = models.CharField(max_length=100, db_index=True)
    status = models.CharField(max_length=20, choices=MemoryStatus.choices, default=MemoryStatus.CANDIDATE)
    confidence = models.FloatField(default=0.5)
    # NULL means "no source", which the integrity scan tells apart from a dangling id.
    source_chunk_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)  # noqa: DJ001
    reference_count = models.PositiveIntegerField(default=0)
    last_referenced_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.UUIDField(null=True, blank=True)
    external_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Stable id of an imported record; makes imports idempotent.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = MemoryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "memories"
        ordering = ["-created_at", "id"]
        indexes = [
            models.Index(
                fields=["memory_type", "project", "status", "content_hash"],
                name="memory_dedup_idx",
            ),
            models.Index(fields=["status", "created_at"], name="memory_status_created_idx"),
            # The admin's memory list, newest first, without sorting the whole table.
            models.Index(fields=["-created_at", "id"], name="memory_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0) & models.Q(confidence__lte=1),
                name="memory_confidence_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.memory_type}: {self.content[:60]}"

    def save(self, *args, **kwargs):
        self.content_hash = content_hash(self.content)
        if isinstance(self.confidence, float | int):
            self.confidence = round_confidence(self.confidence)
        if not self._state.adding:
            self.updated_at = timezone.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            extra = {"updated_at"} | ({"content_hash"} if "content" in update_fields else set())
            kwargs["update_fields"] = {*update_fields, *extra}
        # One transaction for the row and the safety net's audit row (signals run outside
        # Django's own save transaction); inside a service this is free (no savepoint).
        with transaction.atomic(
            using=kwargs.get("using") or router.db_for_write(type(self), instance=self), savepoint=False
        ):
            super().save(*args, **kwargs)


class ProjectState(models.Model):
    project = models.CharField(max_length=100)
    category = models.CharField(max_length=100)
    key = models.CharField(max_length=200)
    value = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "category", "key"]
        constraints = [
            models.UniqueConstraint(fields=["project", "category", "key"], name="project_state_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.project}/{self.category}/{self.key}"
