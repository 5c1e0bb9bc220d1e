"""A memory's change page: saving goes through the services; the audit timeline below it."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memories import services
from memories.models import Memory
from observability.models import MemoryAudit
from tests import factories
from tests.admin_support import counts_over, staff

pytestmark = pytest.mark.django_db

LIST = "/admin/memories/memory/"


@pytest.fixture
def triager(client):
    client.force_login(
        staff("alice", "memories.view_memory", "memories.change_memory", "memories.add_memory")
    )
    return client


def _page(client, memory, **params) -> str:
    response = client.get(f"{LIST}{memory.pk}/change/", params)
    assert response.status_code == 200
    return response.content.decode()


def _entries(html: str) -> list[str]:
    """The timeline's entries, in page order, as (action, rest of the header) text."""
    timeline = html[html.index('id="audit-timeline"') :]
    return re.findall(r'<strong class="atocore-action">(\w+)</strong>', timeline)


def _form(memory: Memory, **changes) -> dict:
    data = {
        "content": memory.content,
        "memory_type": memory.memory_type,
        "project": memory.project,
        "confidence": str(memory.confidence),
        "source_chunk_id": memory.source_chunk_id or "",
    }
    return {**data, **changes}


# -- saving -----------------------------------------------------------------------------------


def test_saving_the_change_form_goes_through_update_memory(triager):
    memory = factories.memory(content="old text")
    response = triager.post(f"{LIST}{memory.pk}/change/", _form(memory, content="new text"))
    assert response.status_code == 302
    rows = list(MemoryAudit.objects.filter(memory_id=memory.pk).order_by("timestamp", "id"))
    assert [r.action for r in rows] == ["created", "updated"]  # one row: the signal did not record again
    assert (rows[1].actor, rows[1].user, rows[1].note) == ("human-triage", "alice", "edited in the admin")
    assert (rows[1].before["content"], rows[1].after["content"]) == ("old text", "new text")


def test_saving_an_unchanged_form_writes_no_audit_row(triager):
    memory = factories.memory()
    triager.post(f"{LIST}{memory.pk}/change/", _form(memory))
    assert MemoryAudit.objects.filter(memory_id=memory.pk).count() == 1


def test_the_change_form_cannot_change_the_status(triager):
    memory = factories.memory()
    triager.post(f"{LIST}{memory.pk}/change/", _form(memory, status="active", content="edited"))
    assert Memory.objects.get(pk=memory.pk).status == "candidate"


def test_the_change_form_refuses_a_project_that_does_not_exist(triager):
    memory = factories.memory()
    response = triager.post(f"{LIST}{memory.pk}/change/", _form(memory, project="nowhere"))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert MemoryAudit.objects.filter(memory_id=memory.pk).count() == 1


def test_adding_a_memory_goes_through_create_memory(triager):
    factories.project("demo")
    data = {"content": "added by hand", "memory_type": "fact", "project": "demo", "confidence": "0.7"}
    assert triager.post(f"{LIST}add/", data).status_code == 302
    memory = Memory.objects.get(content="added by hand")
    row = MemoryAudit.objects.get(memory_id=memory.pk)
    assert (row.action, row.actor, row.user, memory.status) == (
        "created",
        "human-triage",
        "alice",
        "candidate",
    )


# -- the timeline -----------------------------------------------------------------------------


def test_the_timeline_lists_the_memory_history_newest_first(triager):
    memory = factories.memory()
    services.reinforce_memory(memory)
    services.promote_memory(memory, actor="human-triage", user="alice", note="looks right")
    html = _page(triager, memory)
    assert _entries(html) == ["promoted", "reinforced", "created"]
    head = html[html.index('<strong class="atocore-action">promoted') :][:400]
    assert "human-triage" in head and '<span class="user">alice</span>' in head and "looks right" in head


def test_the_timeline_highlights_the_fields_that_changed(triager):
    memory = factories.memory(content="before text")
    services.update_memory(memory, actor="test", content="after text")
    html = _page(triager, memory)
    entry = html[html.index('<strong class="atocore-action">updated') :]
    changed = entry[: entry.index("</table>")]
    assert re.search(
        r'<tr class="changed"><td class="field">content</td><td class="value">before text</td>'
        r'<td class="value">after text</td></tr>',
        changed,
    )
    assert "memory_type" not in changed  # unchanged fields are only in "All fields", not highlighted
    all_fields = entry[entry.index("All fields") :]
    assert '<tr class="unchanged"><td class="field">memory_type</td>' in all_fields


def test_the_timeline_escapes_content(triager):
    memory = factories.memory(content="<img src=x onerror=alert(1)>")
    html = _page(triager, memory)
    timeline = html[html.index('id="audit-timeline"') :]
    assert "<img src=x" not in timeline and "&lt;img src=x onerror=alert(1)&gt;" in timeline


def test_the_timeline_is_paginated_twenty_a_page(triager):
    memory = factories.memory()
    for _ in range(24):
        services.reinforce_memory(memory)
    first = _page(triager, memory)
    assert _entries(first) == ["reinforced"] * 20
    assert "?timeline=2" in first
    second = _page(triager, memory, timeline=2)
    assert _entries(second) == ["reinforced"] * 4 + ["created"]
    assert "?timeline=1" in second and "?timeline=3" not in second


def test_the_timeline_costs_the_same_queries_for_short_and_long_histories(triager):
    short = factories.memory()
    long = factories.memory()
    for _ in range(40):
        services.reinforce_memory(long)
    with CaptureQueriesContext(connection) as few:
        _page(triager, short)
    with CaptureQueriesContext(connection) as many:
        _page(triager, long)
    assert len(few) == len(many)
    assert counts_over(many) == []


def test_the_timeline_shows_a_page_past_the_end_as_empty(triager):
    memory = factories.memory()
    assert "No audit rows on this page." in _page(triager, memory, timeline=9)
