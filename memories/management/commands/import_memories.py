"""``manage.py import_memories [FILE.jsonl] [--projects FILE.jsonl]``: replay memories through the services."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from memories.importing import import_memories, import_projects

MAX_ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = (
        "Import memories from JSON Lines (the corpus format), audited with actor 'import'. "
        "Exits 1 when a line was skipped as malformed."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", default=None, help="memories, one JSON object a line")
        parser.add_argument(
            "--projects", default=None, help="projects to create first, one JSON object a line"
        )

    def handle(self, *args, file, projects, **options):
        if not file and not projects:
            raise CommandError("nothing to import: give a memories file, --projects FILE, or both")
        for path in filter(None, [projects, file]):
            if Path(path).is_dir():
                raise CommandError(f"cannot import {path}: is a directory, not a file")
            if not Path(path).is_file():
                raise CommandError(f"cannot import {path}: no such file")
        malformed = 0
        if projects:
            created = import_projects(projects)
            self._errors(projects, created.errors)
            malformed += len(created.errors)
            self.stdout.write(f"projects created {created.created}, already present {created.existing}")
        if file:
            summary = import_memories(file)
            self._errors(file, summary.errors)
            malformed += summary.skipped
            self.stdout.write(
                self.style.SUCCESS(
                    f"memories imported {summary.imported}, already present {summary.already_present}, "
                    f"skipped (malformed) {summary.skipped}, unresolved sources {summary.unresolved_sources}"
                )
            )
        if malformed:
            raise CommandError(f"{malformed} malformed line(s) skipped", returncode=1)

    def _errors(self, path, errors) -> None:
        for error in errors[:MAX_ERRORS_SHOWN]:
            self.stderr.write(f"{path}: {error}")
        if len(errors) > MAX_ERRORS_SHOWN:
            self.stderr.write(f"{path}: ... and {len(errors) - MAX_ERRORS_SHOWN} more")
