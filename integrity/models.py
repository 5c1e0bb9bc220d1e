"""History of integrity scans (runs and their findings) and the run lease."""

from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    RUNNING = "running"
    OK = "ok"
    FINDINGS = "findings"
    ERROR = "error"


class IntegrityRun(models.Model):
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    total_findings = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, help_text="Per check: status, count, samples, details.")

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"integrity run {self.pk} at {self.started_at:%Y-%m-%d %H:%M} ({self.total_findings} findings)"


class IntegrityCheckResult(models.Model):
    """One check's outcome in one finished run: what trends and the admin look up."""

    run = models.ForeignKey(
        IntegrityRun, on_delete=models.CASCADE, related_name="check_results", db_index=False
    )
    check_name = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    count = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.FloatField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["run", "check_name"]
        constraints = [
            models.UniqueConstraint(fields=["check_name", "run"], name="check_result_unique_check_run"),
        ]

    def __str__(self) -> str:
        return f"{self.check_name} {self.status} (run {self.run_id})"


class IntegrityFinding(models.Model):
    """One finding of one run: written set-based by the scan, compared run to run for trends."""

    # Indexed by finding_run_check_fp_idx, which starts with run.
    run = models.ForeignKey(IntegrityRun, on_delete=models.CASCADE, related_name="findings", db_index=False)
    check_name = models.CharField(max_length=64)
    # The entity the finding is about (a memory, chunk or state row id; a duplicate
    # group's kept memory), as text.
    subject = models.CharField(max_length=64)
    # Check + entity ids: the subject, or a hash of a duplicate group's member ids.
    fingerprint = models.CharField(max_length=64)
    detail = models.TextField(null=True, blank=True)  # noqa: DJ001 (NULL: nothing to say)
    extra = models.PositiveIntegerField(default=0, help_text="Duplicate groups: members beyond the kept one.")

    class Meta:
        ordering = ["run", "check_name", "subject"]
        indexes = [
            models.Index(fields=["run", "check_name", "fingerprint"], name="finding_run_check_fp_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.check_name} {self.subject} (run {self.run_id})"


class IntegrityLease(models.Model):
    """A run lock where advisory locks are not available (SQLite): a row with an expiry."""

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=64)
    acquired_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
