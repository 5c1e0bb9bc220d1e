"""manage.py expire_stale_candidates: reject candidates with no activity for too long (nightly)."""

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from memories.services import expire_stale_candidates


class Command(BaseCommand):
    help = "Reject stale candidates (no reinforcement or creation within the max age), audited."

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age-days",
            type=int,
            default=None,
            help=f"Default ATOCORE_CANDIDATE_MAX_AGE_DAYS ({settings.ATOCORE_CANDIDATE_MAX_AGE_DAYS}).",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON document to stdout.")

    def handle(self, *args, **options):
        days = options["max_age_days"]
        days = settings.ATOCORE_CANDIDATE_MAX_AGE_DAYS if days is None else days
        expired = expire_stale_candidates(max_age_days=days)
        if options["json"]:
            self.stdout.write(json.dumps({"expired": expired, "max_age_days": days}))
        else:
            self.stdout.write(f"expired {expired} stale candidates (no activity for {days} days)")
