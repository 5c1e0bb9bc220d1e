"""A synthetic store for the integrity benchmark, built in SQL (generate_series / recursive CTE).

Sizes follow issue 4: M memories, M chunks, M/10 documents, max(1000, M/100) state rows,
with PLANTED findings of every kind at known ids, and decoys that must not be found
(NULL sources, candidate and cross-project copies of duplicates, superseded memories
with a live successor, memories with only a non-``created`` audit row missing).
"""

from dataclasses import dataclass

from django.db import connection

from memories.models import Memory, Project, ProjectState, SourceChunk, SourceDocument
from observability.models import MemoryAudit

PLANTED = 500  # findings of each kind
PROJECTS = 6


@dataclass(frozen=True)
class Layout:
    memories: int

    @property
    def chunks(self) -> int:
        return self.memories

    @property
    def documents(self) -> int:
        return max(1, self.memories // 10)

    @property
    def states(self) -> int:
        return max(1000, self.memories // 100)

    # Duplicate groups g = 0..PLANTED-1 have 2 + g % 2 active members, one candidate decoy,
    # and every fifth one an active copy in another project (not a duplicate either).
    @property
    def duplicate_members(self) -> int:
        return sum(2 + g % 2 for g in range(PLANTED))

    @property
    def duplicate_rows(self) -> int:
        return self.duplicate_members + PLANTED + PLANTED // 5

    @property
    def base(self) -> int:
        """Ordinary memories 1..base; planted ranges are slices of them."""
        return self.memories - self.duplicate_rows

    # Planted ranges of the base memories (1-based, inclusive).
    def missing_chunk(self) -> range:
        return range(1, PLANTED + 1)

    def missing_project(self) -> range:
        return range(PLANTED + 1, 2 * PLANTED + 1)

    def superseded_broken(self) -> range:
        return range(2 * PLANTED + 1, 3 * PLANTED + 1)

    def without_audit(self) -> range:
        return range(3 * PLANTED + 1, 4 * PLANTED + 1)

    def superseded_ok(self) -> range:  # decoys: their successor exists
        return range(4 * PLANTED + 1, 5 * PLANTED + 1)

    @property
    def duplicate_base(self) -> int:
        return 10 * self.memories  # ids of the duplicate rows start above every other id


def _q(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


class Dialect:
    def __init__(self):
        self.pg = connection.vendor == "postgresql"

    def series(self, name: str, low: str, high: str) -> str:
        """A FROM item yielding integers ``name`` from low to high."""
        if self.pg:
            return f"generate_series({low}, {high}) AS {name}"
        return (
            f"(WITH RECURSIVE s(v) AS (SELECT {low} UNION ALL SELECT v + 1 FROM s WHERE v < {high}) "
            f"SELECT v AS {name} FROM s) AS {name}_series"
        )

    def uid(self, expr: str) -> str:
        if self.pg:
            return f"lpad(to_hex({expr}), 32, '0')::uuid"
        return f"printf('%032x', {expr})"

    def sha(self, expr: str) -> str:
        if self.pg:
            return f"encode(sha256(convert_to({expr}, 'UTF8')), 'hex')"
        return f"SHA256({expr})"  # registered by Django on SQLite connections

    def days_ago(self, expr: str) -> str:
        if self.pg:
            return f"(timestamptz '2026-01-01 00:00:00+00' - ({expr}) * interval '1 day')"
        return f"datetime('2026-01-01 00:00:00', '-' || ({expr}) || ' days')"


def build_store(layout: Layout) -> None:
    """Fill the (empty, migrated) database with the layout's rows."""
    d = Dialect()
    statements = [
        *_projects(),
        _documents(d, layout),
        _chunks(d, layout),
        _memories(d, layout),
        *_duplicates(d, layout),
        _audit(d, layout),
        _states(d, layout),
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    analyze()


def analyze() -> None:
    """Statistics as production has them: autovacuum keeps PostgreSQL's; nothing runs
    ANALYZE on a SQLite file, so the SQLite store is scanned without any."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _projects() -> list[str]:
    names = ", ".join(f"('p{i}', '', CURRENT_TIMESTAMP)" for i in range(PROJECTS))
    return [f"INSERT INTO {_q(Project)} (name, description, created_at) VALUES {names}"]


def _documents(d: Dialect, layout: Layout) -> str:
    return f"""
        INSERT INTO {_q(SourceDocument)} (id, path, title, content_hash, project, ingested_at, updated_at)
        SELECT n, 'docs/doc-' || n || '.md', 'doc ' || n, {d.sha("'doc ' || n")}, 'p' || (n % {PROJECTS}),
               CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
        FROM {d.series("n", "1", str(layout.documents))}
    """


def _chunks(d: Dialect, layout: Layout) -> str:
    orphan_from = layout.chunks - PLANTED  # the last PLANTED chunks name missing documents
    return f"""
        INSERT INTO {_q(SourceChunk)} (id, document_id, ordinal, text)
        SELECT 'c' || n,
               CASE WHEN n > {orphan_from} THEN {layout.documents} + n ELSE (n - 1) % {layout.documents} + 1 END,
               n % 10, 'chunk ' || n || ' of the benchmark store'
        FROM {d.series("n", "1", str(layout.chunks))}
    """


def _memories(d: Dialect, layout: Layout) -> str:
    mc, mp, sb, so = (
        layout.missing_chunk(),
        layout.missing_project(),
        layout.superseded_broken(),
        layout.superseded_ok(),
    )
    half = sb.start + PLANTED // 2
    return f"""
        INSERT INTO {_q(Memory)} (id, memory_type, content, content_hash, project, status, confidence,
            source_chunk_id, reference_count, superseded_by, created_at, updated_at)
        SELECT {d.uid("i")},
               CASE i % 4 WHEN 0 THEN 'fact' WHEN 1 THEN 'decision' WHEN 2 THEN 'preference' ELSE 'knowledge' END,
               'memory number ' || i, {d.sha("'memory number ' || i")},
               CASE WHEN i BETWEEN {mp.start} AND {mp.stop - 1} THEN 'gone-' || i ELSE 'p' || (i % {PROJECTS}) END,
               CASE WHEN i BETWEEN {sb.start} AND {sb.stop - 1} OR i BETWEEN {so.start} AND {so.stop - 1}
                    THEN 'superseded'
                    WHEN i % 10 < 6 THEN 'active' WHEN i % 10 < 8 THEN 'candidate'
                    WHEN i % 10 = 8 THEN 'rejected' ELSE 'invalid' END,
               0.5,
               CASE WHEN i BETWEEN {mc.start} AND {mc.stop - 1} THEN 'missing-' || i
                    WHEN i % 10 = 3 THEN NULL ELSE 'c' || i END,
               0,
               CASE WHEN i BETWEEN {sb.start} AND {half - 1} THEN NULL
                    WHEN i BETWEEN {half} AND {sb.stop - 1} THEN {d.uid(f"i + {layout.duplicate_base * 2}")}
                    WHEN i BETWEEN {so.start} AND {so.stop - 1} THEN {d.uid(f"i + {PLANTED}")}
                    ELSE NULL END,
               {d.days_ago("i % 1000")}, {d.days_ago("i % 1000")}
        FROM {d.series("i", "1", str(layout.base))}
    """


def _duplicates(d: Dialect, layout: Layout) -> list[str]:
    """Group g: members k = 0..1+g%2 (ids base + 4g + k); created_at ties when g % 3 == 0."""
    base = layout.duplicate_base
    memory = _q(Memory)
    columns = (
        "(id, memory_type, content, content_hash, project, status, confidence, source_chunk_id, "
        "reference_count, created_at, updated_at)"
    )
    content = "'duplicate fact ' || g"
    members = f"""
        INSERT INTO {memory} {columns}
        SELECT {d.uid(f"{base} + 4 * g + k")}, 'fact', {content}, {d.sha(content)}, 'p' || (g % {PROJECTS}),
               'active', 0.5, NULL, 0,
               CASE WHEN g % 3 = 0 THEN {d.days_ago("5")} ELSE {d.days_ago("k + 5")} END, {d.days_ago("1")}
        FROM {d.series("g", "0", str(PLANTED - 1))}
        JOIN {d.series("k", "0", "2")} ON k <= 1 + g % 2
    """
    candidates = f"""
        INSERT INTO {memory} {columns}
        SELECT {d.uid(f"{base} + 4 * g + 3")}, 'fact', {content}, {d.sha(content)}, 'p' || (g % {PROJECTS}),
               'candidate', 0.5, NULL, 0, {d.days_ago("100")}, {d.days_ago("1")}
        FROM {d.series("g", "0", str(PLANTED - 1))}
    """
    other_project = f"""
        INSERT INTO {memory} {columns}
        SELECT {d.uid(f"{base} + 4 * {PLANTED} + g")}, 'fact', {content}, {d.sha(content)},
               'p' || ((g + 1) % {PROJECTS}), 'active', 0.5, NULL, 0, {d.days_ago("100")}, {d.days_ago("1")}
        FROM {d.series("g", "0", str(PLANTED - 1))}
        WHERE g % 5 = 0
    """
    return [members, candidates, other_project]


def _audit(d: Dialect, layout: Layout) -> str:
    na = layout.without_audit()
    low, high = d.uid(str(na.start)), d.uid(str(na.stop - 1))
    # One `created` row per memory, except the planted ones, which get an `updated` row only.
    return f"""
        INSERT INTO {_q(MemoryAudit)} (memory_id, action, actor, "user", request_id, note, timestamp)
        SELECT m.id, CASE WHEN m.id BETWEEN {low} AND {high} THEN 'updated' ELSE 'created' END,
               'bench', '', '', '', m.created_at
        FROM {_q(Memory)} m
    """


def _states(d: Dialect, layout: Layout) -> str:
    ghost_from = layout.states - PLANTED
    return f"""
        INSERT INTO {_q(ProjectState)} (project, category, "key", value, updated_at)
        SELECT CASE WHEN n > {ghost_from} THEN 'ghost' ELSE 'p' || (n % {PROJECTS}) END,
               'bench', 'k' || n, '1', CURRENT_TIMESTAMP
        FROM {d.series("n", "1", str(layout.states))}
    """
