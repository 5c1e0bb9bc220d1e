"""The MemoryAudit admin: view-only for everyone, filtered, linked, paged by cursor without counting."""

import datetime
import html as htmllib
import re
import uuid
from urllib.parse import urljoin

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from memories import services
from observability.admin import MemoryAuditAdmin
from observability.models import MemoryAudit
from tests import factories
from tests.admin_support import counts_over, staff, superuser

pytestmark = pytest.mark.django_db

LIST = "/admin/observability/memoryaudit/"


@pytest.fixture
def root(client):
    client.force_login(superuser())
    return client


def _rows(
    n: int, *, same_time: bool = False, action: str = "updated", actor: str = "system"
) -> list[MemoryAudit]:
    now = timezone.now()
    return MemoryAudit.objects.bulk_create(
        MemoryAudit(
            memory_id=uuid.uuid4(),
            action=action,
            actor=actor,
            note=f"row {i}",
            timestamp=now if same_time else now - datetime.timedelta(seconds=n - i),
        )
        for i in range(n)
    )


def _notes(html: str) -> list[str]:
    return re.findall(r'<td class="field-note">(row \d+)</td>', html)


def _link(html: str, css: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" class="{css}">', html)
    return urljoin(LIST, htmllib.unescape(found.group(1))) if found else None


# -- view-only for everyone -------------------------------------------------------------------


def test_a_superuser_cannot_delete_an_audit_row(root):
    (row,) = _rows(1)
    assert root.get(f"{LIST}{row.pk}/delete/").status_code == 403
    assert root.post(f"{LIST}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert MemoryAudit.objects.filter(pk=row.pk).exists()


def test_the_audit_list_offers_no_delete_action_and_no_checkboxes(root):
    _rows(2)
    html = root.get(LIST).content.decode()
    assert "delete_selected" not in html and "action-checkbox" not in html


def test_posting_the_delete_action_deletes_nothing(root):
    rows = _rows(2)
    root.post(LIST, {"action": "delete_selected", "_selected_action": [r.pk for r in rows], "post": "yes"})
    assert MemoryAudit.objects.count() == 2


def test_a_superuser_cannot_add_or_change_an_audit_row(root):
    (row,) = _rows(1)
    assert root.get(f"{LIST}add/").status_code == 403
    detail = root.get(f"{LIST}{row.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert 'name="_save"' not in html and "deletelink" not in html
    root.post(f"{LIST}{row.pk}/change/", {"note": "rewritten", "action": "created"})
    assert MemoryAudit.objects.get(pk=row.pk).note == "row 0"


def test_staff_with_the_view_permission_read_the_audit_list(client):
    client.force_login(staff("auditor", "observability.view_memoryaudit"))
    _rows(1)
    assert client.get(LIST).status_code == 200


# -- filters and links ------------------------------------------------------------------------


def test_the_audit_list_filters_by_action(root):
    _rows(2, action="promoted")
    _rows(3, action="rejected")
    html = root.get(LIST, {"action__exact": "promoted"}).content.decode()
    assert html.count('<td class="field-action_name">promoted</td>') == 2 and "rejected</td>" not in html


def test_the_audit_list_filters_by_actor(root):
    _rows(1, actor="human-triage")
    _rows(2, actor="import")
    html = root.get(LIST, {"actor": "import"}).content.decode()
    assert html.count('<td class="field-actor">import</td>') == 2 and "human-triage</td>" not in html
    assert "?actor=phase10-auto-promote" in html  # the known actors are offered


def test_the_audit_list_filters_by_date(root):
    MemoryAudit.objects.create(
        memory_id=uuid.uuid4(),
        action="created",
        actor="system",
        note="row 99",
        timestamp=timezone.now() - datetime.timedelta(days=40),
    )
    _rows(1)
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    today = {"timestamp__gte": str(midnight), "timestamp__lt": str(midnight + datetime.timedelta(days=1))}
    assert _notes(root.get(LIST, today).content.decode()) == ["row 0"]
    assert _notes(root.get(LIST).content.decode()) == ["row 0", "row 99"]


def test_the_audit_list_filters_by_memory(root):
    memory = factories.memory()
    services.promote_memory(memory, actor="test")
    _rows(3)
    html = root.get(LIST, {"memory_id": str(memory.pk)}).content.decode()
    assert html.count(f'href="/admin/memories/memory/{memory.pk}/change/"') == 2


def test_each_audit_row_links_to_its_memory(root):
    memory = factories.memory(content="linked")
    html = root.get(LIST).content.decode()
    assert f'<a href="/admin/memories/memory/{memory.pk}/change/"' in html
    assert '<td class="field-what_changed">linked</td>' in html


# -- paging by cursor, without counting -------------------------------------------------------


def _walk(client, params=None) -> list[list[str]]:
    pages, url = [], LIST
    params = dict(params or {})
    while True:
        html = client.get(url, params).content.decode()
        pages.append(_notes(html))
        older = _link(html, "older")
        if not older:
            return pages
        url, params = older, {}


def test_the_audit_list_pages_newest_first_by_cursor(root, monkeypatch):
    monkeypatch.setattr(MemoryAuditAdmin, "list_per_page", 4)
    _rows(10)
    pages = _walk(root)
    assert pages == [[f"row {i}" for i in range(start, max(start - 4, -1), -1)] for start in (9, 5, 1)]


def test_paging_by_cursor_neither_skips_nor_repeats_rows_with_equal_timestamps(root, monkeypatch):
    monkeypatch.setattr(MemoryAuditAdmin, "list_per_page", 3)
    _rows(10, same_time=True)
    seen = [note for page in _walk(root) for note in page]
    assert sorted(seen) == sorted(f"row {i}" for i in range(10)) and len(seen) == 10


def test_the_newer_link_goes_back_to_the_previous_page(root, monkeypatch):
    monkeypatch.setattr(MemoryAuditAdmin, "list_per_page", 4)
    _rows(10)
    first = root.get(LIST).content.decode()
    second = root.get(_link(first, "older")).content.decode()
    back = root.get(_link(second, "newer")).content.decode()
    assert _notes(back) == _notes(first)
    assert _link(first, "newer") is None


def test_the_cursor_keeps_the_filters(root, monkeypatch):
    monkeypatch.setattr(MemoryAuditAdmin, "list_per_page", 2)
    _rows(5, action="promoted")
    _rows(5, action="rejected")
    pages = _walk(root, {"action__exact": "promoted"})
    assert sum(len(p) for p in pages) == 5


def test_a_garbled_cursor_shows_the_first_page(root):
    _rows(3)
    response = root.get(LIST, {"cursor": "o~not-a-time_x"})
    assert response.status_code == 200 and _notes(response.content.decode())[0] == "row 2"


def _capture(client, url, params=None):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params or {}).status_code == 200
    return captured


def test_the_audit_list_costs_the_same_queries_for_few_and_many_rows(root):
    _rows(5)
    few = _capture(root, LIST)
    _rows(400)
    many = _capture(root, LIST)
    assert len(few) == len(many)


def test_the_audit_list_costs_the_same_queries_for_any_page_size(root, monkeypatch):
    _rows(120)
    monkeypatch.setattr(MemoryAuditAdmin, "list_per_page", 10)
    small = _capture(root, LIST)
    monkeypatch.setattr(MemoryAuditAdmin, "list_per_page", 100)
    large = _capture(root, LIST)
    assert len(small) == len(large)


def test_neither_the_first_nor_a_later_audit_page_counts_rows(root, monkeypatch):
    monkeypatch.setattr(MemoryAuditAdmin, "list_per_page", 10)
    _rows(100)
    first = _capture(root, LIST)
    html = root.get(LIST).content.decode()
    for _ in range(4):
        html = root.get(_link(html, "older")).content.decode()
    later = _capture(root, _link(html, "older"))
    assert counts_over(first) == [] and counts_over(later) == []
    assert len(first) == len(later)
