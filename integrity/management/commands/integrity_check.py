"""manage.py integrity_check: the nightly scan of the store (see integrity/runner.py).

Exit codes: 0 clean, 1 findings (0 with --fail-level error), 2 a check failed,
3 another run holds the lock (nothing written).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from integrity.checks import all_checks
from integrity.runner import (
    DEFAULT_SAMPLE,
    EXIT_CHECK_FAILED,
    EXIT_CLEAN,
    EXIT_LOCKED,
    FAIL_LEVELS,
    run_integrity_check,
)

PRINT_SAMPLES = 5


class Command(BaseCommand):
    help = "Scan the store for drift; record the result, alert on findings. Exit 0/1/2/3."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="append",
            dest="checks",
            metavar="NAME",
            help="Run only this check (repeatable). Known: " + ", ".join(c.name for c in all_checks()),
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document to stdout.")
        parser.add_argument(
            "--sample", type=int, default=DEFAULT_SAMPLE, help="Sample ids kept per check (default 20)."
        )
        parser.add_argument(
            "--fail-level",
            choices=FAIL_LEVELS,
            default="findings",
            help="'error': findings alone exit 0; only failed checks (2) and the lock (3) do not.",
        )
        parser.add_argument(
            "--fix", action="store_true", help="Invalidate the extra members of duplicate groups."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="With --fix: print the plan, write nothing at all."
        )

    def handle(self, *args, **options):
        if options["dry_run"] and not options["fix"]:
            raise CommandError("--dry-run only goes with --fix", returncode=EXIT_CHECK_FAILED)
        if options["sample"] < 0:
            raise CommandError("--sample must be 0 or more", returncode=EXIT_CHECK_FAILED)
        try:
            report = run_integrity_check(
                checks=options["checks"],
                sample=options["sample"],
                fix=options["fix"],
                dry_run=options["dry_run"],
            )
        except KeyError as exc:
            raise CommandError(f"unknown check: {exc.args[0]}", returncode=EXIT_CHECK_FAILED) from None
        code = report.exit_code(options["fail_level"])
        if options["json"]:
            self.stdout.write(json.dumps({**report.document, "exit_code": code}, indent=2, default=str))
        else:
            self._print(report.document, code)
        if code != EXIT_CLEAN:
            raise CommandError(_summary(report.document, code), returncode=code)

    def _print(self, document: dict, code: int) -> None:
        if code == EXIT_LOCKED:
            self.stdout.write(self.style.WARNING("another integrity run holds the lock; nothing done"))
            return
        for name, check in document["checks"].items():
            self.stdout.write(_check_line(name, check, self.style))
            for line in _sample_lines(check):
                self.stdout.write(f"    {line}")
        if document["fix"] is not None:
            self.stdout.write(_fix_line(document["fix"]))
            for step in document["fix"]["plan"][:PRINT_SAMPLES]:
                self.stdout.write(f"    keep {step['keep']}, invalidate {', '.join(step['invalidate'])}")
        self.stdout.write(_summary(document, code))


def _check_line(name: str, check: dict, style) -> str:
    ms = f"{check['duration_ms']:.0f} ms"
    if check["status"] == "error":
        return style.ERROR(f"{name:<32} error     {check['error']}  ({ms})")
    trend = check.get("trend")
    change = f"  new {trend['new']}, resolved {trend['resolved']}" if trend else ""
    text = f"{name:<32} {check['status']:<9} {check['count']:>8}{change}  ({ms})"
    return style.WARNING(text) if check["count"] else style.SUCCESS(text)


def _sample_lines(check: dict) -> list[str]:
    details = check.get("details") or []
    lines = [", ".join(f"{k}={v}" for k, v in d.items() if k != "members") for d in details[:PRINT_SAMPLES]]
    more = (check.get("count") or 0) - len(lines)
    return lines + ([f"... and {more} more"] if lines and more > 0 else [])


def _fix_line(fix: dict) -> str:
    if fix["dry_run"]:
        return f"fix (dry run): would invalidate {fix['would_invalidate']} memories in {fix['groups']} groups"
    return (
        f"fix: invalidated {fix['invalidated']} memories in {fix['groups']} groups, skipped {fix['skipped']}"
    )


def _summary(document: dict, code: int) -> str:
    if code == EXIT_LOCKED:
        return "another integrity run holds the lock"
    run = f"run {document['run_id']}" if document["run_id"] else "dry run"
    failed = f", {document['errors']} check(s) failed" if document["errors"] else ""
    return f"integrity scan ({run}): {document['total_findings']} findings{failed}"
