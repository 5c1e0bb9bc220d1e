"""One memory's audit timeline, a page at a time, newest first, without counting its rows."""

import uuid
from typing import Any

from django.core.paginator import EmptyPage

from observability.admin_paging import LookaheadPaginator
from observability.changes import NOISY_FIELDS, field_rows
from observability.models import MemoryAudit

TIMELINE_PER_PAGE = 20


def memory_timeline(
    memory_id: uuid.UUID | str, *, page: int = 1, per_page: int = TIMELINE_PER_PAGE
) -> dict[str, Any]:
    """The entries of one page (one query), each with its fields and which of them changed."""
    rows = MemoryAudit.objects.filter(memory_id=memory_id).order_by("-timestamp", "-id")
    paginator = LookaheadPaginator(rows, per_page, number=page)
    entries = []
    try:
        page_rows = paginator.page(paginator.requested).object_list
    except EmptyPage:  # past the end: an empty page, not an error
        page_rows = []
    for row in page_rows:
        fields = field_rows(row.before, row.after)
        entries.append(
            {
                "row": row,
                "fields": fields,
                "changed": [f for f in fields if f["changed"] and f["field"] not in NOISY_FIELDS],
            }
        )
    return {
        "entries": entries,
        "page": paginator.requested,
        "has_previous": paginator.requested > 1,
        "has_next": paginator.has_more,
        "per_page": per_page,
    }
