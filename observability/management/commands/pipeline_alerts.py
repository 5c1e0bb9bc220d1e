"""manage.py pipeline_alerts: warn when the harness pass rate or the candidate queue is off."""

import json

from django.core.management.base import BaseCommand

from observability.pipeline import run_pipeline_alerts


class Command(BaseCommand):
    help = "Warn (alerts) on a low harness pass rate or a long candidate queue."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print one JSON document to stdout.")

    def handle(self, *args, **options):
        report = run_pipeline_alerts()
        if options["json"]:
            self.stdout.write(json.dumps(report))
            return
        harness, queue = report["harness"], report["candidate_queue"]
        if "pass_rate" in harness:
            rate = f"{harness['pass_rate']:.1%} ({harness['passed']}/{harness['total']})"
            self.stdout.write(
                f"harness pass rate: {rate}, min {harness['threshold']:.0%}: {harness['status']}"
            )
        else:
            self.stdout.write(f"harness pass rate: {harness['status']} ({harness['note']})")
        self.stdout.write(f"candidate queue: {queue['size']}, max {queue['max']}: {queue['status']}")
        self.stdout.write(f"{report['alerts']} alert(s) emitted")
