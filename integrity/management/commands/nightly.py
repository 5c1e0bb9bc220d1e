"""manage.py nightly: expire, auto-promote, integrity_check, pipeline_alerts, in that order.

One line per step. A failed step is reported and the next still runs; the command
exits 1 when any step failed (integrity findings alone are not a failure).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from integrity.nightly import run_nightly


class Command(BaseCommand):
    help = "The nightly pipeline for cron: expiry, auto-promotion, integrity scan, pipeline alerts."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON document to stdout.")

    def handle(self, *args, **options):
        outcomes = run_nightly()
        failed = [o.name for o in outcomes if not o.ok]
        if options["json"]:
            self.stdout.write(
                json.dumps({"ok": not failed, "steps": [o.as_dict() for o in outcomes]}, default=str)
            )
        else:
            for o in outcomes:
                mark = self.style.SUCCESS("ok    ") if o.ok else self.style.ERROR("FAILED")
                self.stdout.write(f"{mark} {o.name:<24} {o.summary}  ({o.duration_ms:.0f} ms)")
        if failed:
            raise CommandError(f"nightly: {len(failed)} step(s) failed: {', '.join(failed)}", returncode=1)
