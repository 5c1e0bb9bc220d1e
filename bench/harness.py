"""Shared benchmark plumbing: Django set-up, a throw-away database, timing, query counts."""

import contextlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator

import django


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atocore_project.settings")
    os.environ.setdefault("ATOCORE_LOG_LEVEL", "WARNING")
    # Production settings: DEBUG would log every query and distort the figures.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-used-for-anything-else-0123456789")
    django.setup()


@contextlib.contextmanager
def scratch_database() -> Iterator[str]:
    """Create the test database for DATABASE_URL, migrate it, and drop it afterwards."""
    from django.db import connection

    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        yield name
    finally:
        connection.creation.destroy_test_db(name, verbosity=0)


def median_seconds(fn: Callable[[], object], *, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def count_queries(fn: Callable[[], object]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log.clear()  # a full log (DEBUG) would make the capture empty
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def machine() -> str:
    from django.db import connection

    return (
        f"{platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{connection.vendor} {'.'.join(map(str, connection.Database.sqlite_version_info)) if connection.vendor == 'sqlite' else connection.pg_version}"
    )
