"""What a check is: a name, a meaning, and one set-based SELECT.

Every check's SELECT returns the same four columns, one row per finding:

- ``subject``: the entity the finding is about, as text (memory, chunk or state id;
  for a duplicate group, the id of the memory to keep);
- ``fingerprint``: check-local identity of the finding across runs (the entity ids);
- ``detail``: text that explains it (the dangling reference, the group's member ids);
- ``extra``: for duplicate groups, the members beyond the kept one; else 0.

The runner wraps the SELECT (``INSERT ... SELECT`` into the findings table, or a
windowed count for read-only runs); a check never returns ids for Python to compare.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.backends.base.base import BaseDatabaseWrapper


class Sql:
    """The few spellings that differ between PostgreSQL and SQLite."""

    def __init__(self, connection: BaseDatabaseWrapper):
        self.connection = connection
        self.vendor = connection.vendor

    def table(self, model) -> str:
        return self.connection.ops.quote_name(model._meta.db_table)

    @staticmethod
    def text(expression: str) -> str:
        return f"CAST({expression} AS TEXT)"

    def string_agg(self, expression: str) -> str:
        """Comma-joined text of ``expression`` (as a window aggregate, its frame order holds)."""
        if self.vendor == "postgresql":
            return f"STRING_AGG({self.text(expression)}, ',')"
        return f"GROUP_CONCAT({expression}, ',')"

    def md5(self, expression: str) -> str:
        # A built-in on PostgreSQL; Django registers MD5 on every SQLite connection.
        return f"MD5({expression})"

    def unindexed(self, column: str) -> str:
        """``column`` as a plain filter, never as the index to drive a lookup with.

        Without statistics (Django never runs ANALYZE) SQLite picks among indexes with the
        same number of equality terms arbitrarily, and may probe by a column that matches
        thousands of rows instead of one; a unary plus rules that index out.
        """
        return f"+{column}" if self.vendor == "sqlite" else column

    def ordered(self, expression: str) -> str:
        """A text expression that sorts byte by byte whatever the database collation."""
        return f'{expression} COLLATE "C"' if self.vendor == "postgresql" else expression


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    subject: str  # what the subject ids are: "memory", "chunk", "state"
    id_kind: str  # how subjects sort and print: "uuid", "text", "int"
    detail_name: str  # the key the detail goes under in the report
    detail_kind: str  # "uuid", "text", "uuid_list"
    build: Callable[[Sql], str]
    # How to act on it; goes into docs and the human report.
    action: str = ""

    def sql(self, connection: BaseDatabaseWrapper) -> str:
        return self.build(Sql(connection))
