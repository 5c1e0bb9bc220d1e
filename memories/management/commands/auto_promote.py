"""manage.py auto_promote: promote candidates reinforced often enough (nightly)."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from memories.services import auto_promote_reinforced


class Command(BaseCommand):
    help = "Promote candidates reinforced at least the threshold number of times, audited."

    def add_arguments(self, parser):
        parser.add_argument(
            "--min-reinforcements",
            type=int,
            default=None,
            help="Default ATOCORE_AUTO_PROMOTE_MIN_REINFORCEMENTS "
            f"({settings.ATOCORE_AUTO_PROMOTE_MIN_REINFORCEMENTS}).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document to stdout.")

    def handle(self, *args, **options):
        threshold = options["min_reinforcements"]
        threshold = settings.ATOCORE_AUTO_PROMOTE_MIN_REINFORCEMENTS if threshold is None else threshold
        promoted = auto_promote_reinforced(min_reinforcements=threshold)
        if options["json"]:
            self.stdout.write(json.dumps({"promoted": promoted, "min_reinforcements": threshold}))
        else:
            self.stdout.write(f"promoted {promoted} candidates (reinforced at least {threshold} times)")
