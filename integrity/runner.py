"""``run_integrity_check()``: the whole scan, as the command and cron drive it.

Takes the run lock, runs the selected checks (each isolated, so a failing check never
stops the others), applies ``--fix`` if asked, persists the result (an IntegrityRun
row with its findings, and ``atocore/status/integrity_check_result``), then alerts:
one warning for findings, one critical for failed checks, nothing for a clean run.
A dry run reads only: no run row, no findings, no state, no alert, no memory change.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import structlog
from django.db import transaction
from django.utils import timezone

from integrity.checks import get_checks
from integrity.execution import STATUS_ERROR, STATUS_FINDINGS, STATUS_OK, CheckOutcome, run_check
from integrity.fix import CHECK as DUPLICATES_CHECK
from integrity.fix import FixReport, fix_duplicates
from integrity.locking import RunLock
from integrity.models import IntegrityCheckResult, IntegrityFinding, IntegrityRun
from memories.models import SYSTEM_PROJECT
from memories.services import set_project_state
from observability.alerts import emit_alert

logger = structlog.get_logger(__name__)

SCHEMA_VERSION = 1
DEFAULT_SAMPLE = 20
STATE_CATEGORY, STATE_KEY = "status", "integrity_check_result"
# Findings rows are kept for this many recent runs (trends need the previous one).
KEEP_FINDINGS_FOR_RUNS = 30

EXIT_CLEAN, EXIT_FINDINGS, EXIT_CHECK_FAILED, EXIT_LOCKED = 0, 1, 2, 3
FAIL_LEVELS = ("findings", "error")


@dataclass
class ScanReport:
    document: dict
    locked: bool = False

    @property
    def errors(self) -> int:
        return self.document.get("errors", 0)

    @property
    def total_findings(self) -> int:
        return self.document.get("total_findings", 0)

    def exit_code(self, fail_level: str = "findings") -> int:
        if self.locked:
            return EXIT_LOCKED
        if self.errors:
            return EXIT_CHECK_FAILED
        if self.total_findings and fail_level == "findings":
            return EXIT_FINDINGS
        return EXIT_CLEAN


def run_integrity_check(
    *,
    checks: Iterable[str] | None = None,
    sample: int = DEFAULT_SAMPLE,
    fix: bool = False,
    dry_run: bool = False,
) -> ScanReport:
    """Run the scan once. Raises KeyError for unknown check names (before anything runs)."""
    selected = get_checks(checks)
    lock = RunLock(write=not dry_run)
    if not lock.acquire():
        logger.warning("integrity_check_locked")
        return ScanReport(document={"schema_version": SCHEMA_VERSION, "status": "locked"}, locked=True)
    try:
        started_at = timezone.now()
        run = None if dry_run else IntegrityRun.objects.create(started_at=started_at)
        outcomes = []
        for check in selected:
            lock.renew()
            outcomes.append(run_check(check, run_id=run.pk if run else None, sample=sample))
            logger.info("integrity_check_done", check=check.name, status=outcomes[-1].status)
        fix_report = _fix(outcomes, run, dry_run) if fix else None
        document = _document(run, started_at, outcomes, sample, fix_report, dry_run)
        if run is not None:
            _persist(run, document)
    finally:
        lock.release()
    if run is not None:
        _alert(document)
    return ScanReport(document=document)


def _fix(outcomes: list[CheckOutcome], run: IntegrityRun | None, dry_run: bool) -> FixReport | None:
    duplicates = next((o for o in outcomes if o.name == DUPLICATES_CHECK.name), None)
    if duplicates is None or duplicates.status == STATUS_ERROR:
        return None  # not scanned (or not scanned reliably): nothing to repair from
    if not duplicates.count:
        return FixReport(dry_run=dry_run)
    return fix_duplicates(run_id=run.pk if run else None, dry_run=dry_run)


def _document(run, started_at, outcomes, sample, fix_report, dry_run) -> dict:
    errors = sum(1 for o in outcomes if o.status == STATUS_ERROR)
    total = sum(o.count or 0 for o in outcomes)
    trends = [o.trend for o in outcomes if o.trend is not None]
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run.pk if run else None,
        "started_at": started_at.isoformat(timespec="microseconds"),
        "finished_at": timezone.now().isoformat(timespec="microseconds"),
        "status": STATUS_ERROR if errors else STATUS_FINDINGS if total else STATUS_OK,
        "dry_run": dry_run,
        "sample_limit": sample,
        "total_findings": total,
        "errors": errors,
        "trend": None
        if dry_run
        else {key: sum(t[key] for t in trends) for key in ("new", "resolved", "persisting")},
        "checks": {o.name: o.as_dict() for o in outcomes},
        "fix": fix_report.as_dict() if fix_report else None,
    }


def _persist(run: IntegrityRun, document: dict) -> None:
    with transaction.atomic():
        run.finished_at = timezone.now()
        run.status = document["status"]
        run.total_findings = document["total_findings"]
        run.errors = document["errors"]
        run.result = document
        run.save(update_fields=["finished_at", "status", "total_findings", "errors", "result"])
        IntegrityCheckResult.objects.bulk_create(
            IntegrityCheckResult(
                run=run,
                check_name=name,
                status=check["status"],
                count=check["count"],
                duration_ms=check["duration_ms"],
                error=check.get("error") or "",
            )
            for name, check in document["checks"].items()
        )
        set_project_state(project=SYSTEM_PROJECT, category=STATE_CATEGORY, key=STATE_KEY, value=document)
        _prune_findings()


def _prune_findings() -> None:
    oldest_kept = IntegrityRun.objects.order_by("-pk").values_list("pk", flat=True)[
        KEEP_FINDINGS_FOR_RUNS - 1 : KEEP_FINDINGS_FOR_RUNS
    ]
    for cutoff in oldest_kept:
        IntegrityFinding.objects.filter(run_id__lt=cutoff).delete()


def _alert(document: dict) -> None:
    """After the run's writes have committed: one warning for findings, one critical for errors."""
    checks = document["checks"]
    run_id = document["run_id"]
    if document["total_findings"]:
        counts = {name: c["count"] for name, c in checks.items() if c["count"]}
        listed = ", ".join(f"{name} {count}" for name, count in counts.items())
        emit_alert(
            "warning",
            f"Integrity scan found {document['total_findings']} findings",
            f"run {run_id}: {listed}",
            {"run_id": run_id, "counts": counts, "trend": document["trend"]},
        )
    if document["errors"]:
        failed = {name: c["error"] for name, c in checks.items() if c["status"] == STATUS_ERROR}
        emit_alert(
            "critical",
            f"Integrity scan is broken: {len(failed)} check(s) failed",
            f"run {run_id}: " + "; ".join(f"{name}: {error}" for name, error in failed.items()),
            {"run_id": run_id, "errors": failed},
        )
