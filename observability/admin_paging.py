"""Admin lists that never count: big tables page without ``COUNT(*)``.

Django's changelist counts the filtered rows (and, by default, the whole table) on
every page; on a million audit rows that count is most of the page's cost. Here a page
fetches one row more than it shows, to know whether another page follows:

- ``LookaheadPaginator`` pages by offset (``?p=N``), for short lists and one memory's history;
- ``KeysetPaginator`` pages by a cursor on (timestamp, id) (``?cursor=...``), so a page deep
  in the audit table costs what the first one costs.

``UncountedListMixin`` puts either on a ModelAdmin, with a changelist template whose
pager says "newer / older" instead of page numbers it could not know.
"""

import datetime
import math

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Q
from django.utils.functional import cached_property

CURSOR_VAR = "cursor"


class LookaheadPaginator(Paginator):
    """Offset pages without a count: ``count`` is only known up to the row after this page."""

    def __init__(self, object_list, per_page, *, number: int = 1, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.requested = max(1, number)
        self._rows: list | None = None

    def _fetch(self) -> list:
        if self._rows is None:
            offset = (self.requested - 1) * self.per_page
            self._rows = list(self.object_list[offset : offset + self.per_page + 1])
        return self._rows

    @cached_property
    def count(self) -> int:
        return (self.requested - 1) * self.per_page + len(self._fetch())

    @cached_property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.per_page))

    @property
    def has_more(self) -> bool:
        return len(self._fetch()) > self.per_page

    def validate_number(self, number) -> int:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise EmptyPage("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        return number

    def page(self, number) -> Page:
        number = self.validate_number(number)
        if number != self.requested:
            self.requested, self._rows = number, None
            self.__dict__.pop("count", None)
            self.__dict__.pop("num_pages", None)
        rows = self._fetch()
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        return Page(rows[: self.per_page], number, self)


def _encode(row) -> str:
    return f"{row.timestamp.astimezone(datetime.UTC).isoformat(timespec='microseconds')}_{row.pk}"


def _decode(cursor: str | None) -> tuple[str, datetime.datetime, int] | None:
    """("older" | "newer", timestamp, id) from ``o~<iso>_<id>`` / ``n~<iso>_<id>``; None if unreadable."""
    try:
        direction, rest = cursor.split("~", 1)
        stamp, pk = rest.rsplit("_", 1)
        when = datetime.datetime.fromisoformat(stamp)
        if when.tzinfo is None or direction not in {"o", "n"}:
            return None
        return ("older" if direction == "o" else "newer", when, int(pk))
    except (AttributeError, ValueError):
        return None


class KeysetPaginator(Paginator):
    """Newest first by (timestamp, id), from a cursor; one query per page whatever its depth."""

    def __init__(self, object_list, per_page, *, cursor: str | None = None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cursor = _decode(cursor)

    @cached_property
    def _window(self) -> tuple[list, bool, bool]:
        """(rows newest first, has newer rows, has older rows)."""
        rows = self.object_list
        if self.cursor is None:
            found = list(rows.order_by("-timestamp", "-id")[: self.per_page + 1])
            return found[: self.per_page], False, len(found) > self.per_page
        direction, when, pk = self.cursor
        if direction == "older":
            after = Q(timestamp__lt=when) | Q(timestamp=when, id__lt=pk)
            found = list(
                rows.filter(after, timestamp__lte=when).order_by("-timestamp", "-id")[: self.per_page + 1]
            )
            return found[: self.per_page], True, len(found) > self.per_page
        before = Q(timestamp__gt=when) | Q(timestamp=when, id__gt=pk)
        found = list(
            rows.filter(before, timestamp__gte=when).order_by("timestamp", "id")[: self.per_page + 1]
        )
        return list(reversed(found[: self.per_page])), len(found) > self.per_page, True

    @cached_property
    def count(self) -> int:
        # Not a count: enough for the changelist to page (more than one page if there is any other).
        rows, newer, older = self._window
        return len(rows) + (self.per_page if newer or older else 0)

    @property
    def has_newer(self) -> bool:
        return self._window[1]

    @property
    def has_older(self) -> bool:
        return self._window[2]

    @property
    def newer_cursor(self) -> str | None:
        rows = self._window[0]
        return f"n~{_encode(rows[0])}" if rows and self.has_newer else None

    @property
    def older_cursor(self) -> str | None:
        rows = self._window[0]
        return f"o~{_encode(rows[-1])}" if rows and self.has_older else None

    def validate_number(self, number) -> int:
        return 1

    def page(self, number) -> Page:
        return Page(self._window[0], 1, self)


class UncountedChangeList(ChangeList):
    """A changelist that shows the rows its paginator already fetched and ignores the cursor."""

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # Filter, search and sort links start from the newest rows again.
        self.params.pop(CURSOR_VAR, None)

    def get_filters_params(self, params=None):
        lookup_params = super().get_filters_params(params)
        lookup_params.pop(CURSOR_VAR, None)
        return lookup_params

    def get_results(self, request):
        super().get_results(request)
        if not isinstance(self.result_list, list):  # one page only: Django would query again
            self.result_list = self.paginator.page(self.page_num).object_list


class UncountedListMixin:
    """For a ModelAdmin: pages without counting; ``keyset = True`` pages by (timestamp, id)."""

    keyset = False
    show_full_result_count = False
    list_max_show_all = 0
    change_list_template = "admin/atocore/uncounted_change_list.html"

    def get_changelist(self, request, **kwargs):
        return UncountedChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if self.keyset:
            return KeysetPaginator(queryset, per_page, cursor=request.GET.get(CURSOR_VAR))
        try:
            number = int(request.GET.get("p", 1))
        except ValueError:
            number = 1
        return LookaheadPaginator(queryset, per_page, number=number)
