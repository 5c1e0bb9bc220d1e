"""``manage.py ingest PATH [--project NAME]``: bring the store in line with a folder of documents."""

import sys

from django.core.management.base import BaseCommand, CommandError

from memories.ingest_service import NoDocuments, ingest_path


class Command(BaseCommand):
    help = "Ingest Markdown, reStructuredText and text documents under PATH, incrementally."

    def add_arguments(self, parser):
        parser.add_argument("path", help="a folder (or one file) of documents")
        parser.add_argument("--project", default=None, help="project the documents belong to")

    def handle(self, *args, path, project, **options):
        bar = _ProgressBar() if self.stderr.isatty() else None
        try:
            summary = ingest_path(path, project=project, progress=bar)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename and str(exc.filename) != path else ""
            raise CommandError(f"cannot ingest {path}: {exc.strerror or exc}{where}") from exc
        except NoDocuments as exc:
            raise CommandError(f"cannot ingest {path}: {exc}") from exc
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"documents added {summary.documents_added}, changed {summary.documents_changed}, "
                f"unchanged {summary.documents_unchanged}, removed {summary.documents_removed}; "
                f"chunks added {summary.chunks_added}, removed {summary.chunks_removed}"
            )
        )


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
