"""``manage.py ingest PATH [--project NAME]``: bring the store in line with a folder of documents."""

import sys

from django.core.management.base import BaseCommand, CommandError

from memories.ingest_service import NoDocuments, ProjectConflict, UnknownProject, ingest_path, require_project

MAX_SKIPPED_SHOWN = 50


class Command(BaseCommand):
    help = "Ingest Markdown, reStructuredText and text documents under PATH, incrementally."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a folder (or one file) of documents")
        parser.add_argument("--project", default=None, help="project the documents belong to")

    def handle(self, *args, path, project, **options):
        bar = _ProgressBar() if self.stderr.isatty() else None
        try:
            if project:
                require_project(project)
            summary = ingest_path(path, project=project, progress=bar)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename and str(exc.filename) != path else ""
            raise CommandError(f"cannot ingest {path}: {exc.strerror or exc}{where}") from exc
        except NoDocuments as exc:
            raise CommandError(f"cannot ingest {path}: {exc}") from exc
        except UnknownProject as exc:
            raise CommandError(
                f"cannot ingest {path}: {exc} (create it first, e.g. with import_memories --projects)"
            ) from exc
        except ProjectConflict as exc:
            raise CommandError(f"cannot ingest {path}: {_conflict(exc)}") from exc
        finally:
            if bar is not None:
                bar.close()
        for file, reason in summary.skipped[:MAX_SKIPPED_SHOWN]:
            self.stderr.write(f"{file}: skipped: {reason}")
        if len(summary.skipped) > MAX_SKIPPED_SHOWN:
            self.stderr.write(f"... and {len(summary.skipped) - MAX_SKIPPED_SHOWN} more skipped")
        # "skipped N" only when files were skipped, so the usual line stays as it was.
        skipped = f", skipped {summary.documents_skipped}" if summary.documents_skipped else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"documents added {summary.documents_added}, changed {summary.documents_changed}, "
                f"unchanged {summary.documents_unchanged}, removed {summary.documents_removed}{skipped}; "
                f"chunks added {summary.chunks_added}, removed {summary.chunks_removed}"
            )
        )
        if summary.documents_skipped:
            raise CommandError(f"{summary.documents_skipped} file(s) skipped (not UTF-8 text)", returncode=1)


def _conflict(exc: ProjectConflict) -> str:
    if exc.held_by:
        held = f"is already ingested for project {exc.held_by!r}; ingest it with --project {exc.held_by}"
    else:
        held = "is already ingested without a project; ingest it without --project"
    more = f" ({exc.others} more path(s) held by other projects)" if exc.others else ""
    return f"{exc.path} {held}{more}; nothing was ingested"


class _ProgressBar:
    """A tqdm bar on stderr, created on the first report, once the total is known."""

    def __init__(self):
        self._bar = None

    def __call__(self, done: int, total: int, path: str) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="doc", file=sys.stderr)
        self._bar.set_postfix_str(path, refresh=False)
        self._bar.update(1)
        if done == total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
