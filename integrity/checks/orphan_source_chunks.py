"""Source chunks whose document does not exist."""

from integrity.checks.base import Check, Sql
from memories.models import SourceChunk, SourceDocument


def build(sql: Sql) -> str:
    return f"""
        SELECT c.id AS subject, c.id AS fingerprint, {sql.text("c.document_id")} AS detail, 0 AS extra
        FROM {sql.table(SourceChunk)} c
        WHERE NOT EXISTS (SELECT 1 FROM {sql.table(SourceDocument)} d WHERE d.id = c.document_id)
    """


CHECK = Check(
    name="orphan_source_chunks",
    title="source chunks whose document is missing",
    subject="chunk",
    id_kind="text",
    detail_name="document_id",
    detail_kind="text",
    build=build,
    action="an ingest was interrupted or a document was deleted by hand: re-ingest the folder; "
    "memories may still quote these chunks, so never delete them blindly",
)
