"""History of integrity scans, for the admin and for trends."""

from django.db import models
from django.utils import timezone


class IntegrityRun(models.Model):
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    total_findings = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, help_text="Per check: status, count, samples, details.")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"integrity run {self.pk} at {self.started_at:%Y-%m-%d %H:%M} ({self.total_findings} findings)"
