"""The memory list: filters, search, columns, and the Promote/Reject triage actions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from memories import services
from memories.admin import MemoryAdmin
from memories.models import Memory
from observability.models import MemoryAudit
from tests import factories
from tests.admin_support import counts_over, staff, superuser

pytestmark = pytest.mark.django_db

LIST = "/admin/memories/memory/"
TRIAGER_PERMS = ("memories.view_memory", "memories.change_memory")


@pytest.fixture
def triager(client):
    client.force_login(staff("alice", *TRIAGER_PERMS))
    return client


def _act(client, action: str, memories, **extra):
    data = {"action": action, "_selected_action": [str(m.pk) for m in memories], "index": "0", **extra}
    return client.post(LIST, data, follow=True)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def _status(memory) -> str:
    return Memory.objects.get(pk=memory.pk).status


def _last_audit(memory) -> MemoryAudit:
    return MemoryAudit.objects.filter(memory_id=memory.pk).order_by("-timestamp", "-id").first()


# -- the list ---------------------------------------------------------------------------------


def test_the_list_filters_by_status(triager):
    factories.memory(content="still a candidate")
    services.promote_memory(factories.memory(content="already active"), actor="test")
    html = triager.get(LIST, {"status__exact": "candidate"}).content.decode()
    assert "still a candidate" in html and "already active" not in html


def test_the_list_filters_by_type_and_project(triager):
    factories.memory(content="a demo fact")
    factories.memory(content="an other decision", project_name="other", memory_type="decision")
    html = triager.get(LIST, {"memory_type__exact": "decision", "project": "other"}).content.decode()
    assert "an other decision" in html and "a demo fact" not in html


def test_the_project_filter_offers_every_project(triager):
    factories.project("alpha")
    factories.project("beta")
    html = triager.get(LIST).content.decode()
    assert "?project=alpha" in html and "?project=beta" in html


def test_the_list_searches_content(triager):
    factories.memory(content="Walrus operator accepted")
    factories.memory(content="Pattern matching deferred")
    html = triager.get(LIST, {"q": "walrus"}).content.decode()
    assert "Walrus operator accepted" in html and "Pattern matching deferred" not in html


def test_the_list_shows_reinforcements_and_age(triager):
    memory = factories.memory(content="cited often")
    for _ in range(3):
        services.reinforce_memory(memory)
    html = triager.get(LIST).content.decode()
    assert "column-reinforcements" in html and "column-age" in html
    assert '<td class="field-reinforcements">3</td>' in html
    assert '<td class="field-age">0\xa0minutes</td>' in html


def test_the_list_runs_the_same_queries_for_few_and_many_memories(triager):
    factories.memory()
    with CaptureQueriesContext(connection) as few:
        triager.get(LIST)
    for _ in range(60):
        factories.memory()
    with CaptureQueriesContext(connection) as many:
        triager.get(LIST)
    assert len(few) == len(many)


def test_the_list_runs_the_same_queries_for_any_page_size(triager, monkeypatch):
    for _ in range(30):
        factories.memory()
    monkeypatch.setattr(MemoryAdmin, "list_per_page", 5)
    with CaptureQueriesContext(connection) as small:
        triager.get(LIST)
    monkeypatch.setattr(MemoryAdmin, "list_per_page", 100)
    with CaptureQueriesContext(connection) as large:
        triager.get(LIST)
    assert len(small) == len(large)


def test_the_list_never_counts_memories(triager):
    factories.memory()
    with CaptureQueriesContext(connection) as captured:
        triager.get(LIST, {"status__exact": "candidate"})
    assert counts_over(captured, Memory._meta.db_table) == []


def test_the_list_pages_with_previous_and_next_links(triager, monkeypatch):
    monkeypatch.setattr(MemoryAdmin, "list_per_page", 2)
    for i in range(3):
        factories.memory(content=f"paged {i}")
    first = triager.get(LIST).content.decode()
    assert "?p=2" in first and "previous" not in first
    second = triager.get(LIST, {"p": "2"}).content.decode()
    assert "paged 0" in second and "?p=1" in second and "next &rsaquo;" not in second


# -- the actions ------------------------------------------------------------------------------


def test_promote_goes_through_the_service_with_the_triage_actor_and_user(triager):
    memory = factories.memory()
    response = _act(triager, "promote_candidates", [memory])
    assert _status(memory) == "active"
    row = _last_audit(memory)
    assert (row.action, row.actor, row.user) == ("promoted", "human-triage", "alice")
    assert "Promoted 1 candidate." in _messages(response)


def test_promote_skips_memories_that_are_not_candidates_and_says_why(triager):
    candidate, active, rejected = factories.memory(), factories.memory(), factories.memory()
    services.promote_memory(active, actor="test")
    services.reject_candidate_memory(rejected, actor="test")
    response = _act(triager, "promote_candidates", [candidate, active, rejected])
    assert (_status(candidate), _status(active), _status(rejected)) == ("active", "active", "rejected")
    assert _messages(response) == [
        "Promoted 1 candidate.",
        "Skipped 2 memories: 1 active, not a candidate; 1 rejected, not a candidate. "
        "Only candidates can be promoted.",
    ]


def test_reject_rejects_candidates_only(triager):
    candidate, active = factories.memory(), factories.memory()
    services.promote_memory(active, actor="test")
    response = _act(triager, "reject_candidates", [candidate, active])
    assert (_status(candidate), _status(active)) == ("rejected", "active")
    row = _last_audit(candidate)
    assert (row.action, row.actor, row.user) == ("rejected", "human-triage", "alice")
    assert "Skipped 1 memory: 1 active, not a candidate. Only candidates can be rejected." in _messages(
        response
    )


def test_staff_without_the_change_permission_see_no_triage_actions(client):
    client.force_login(staff("viewer", "memories.view_memory"))
    factories.memory()
    html = client.get(LIST).content.decode()
    assert "promote_candidates" not in html and "reject_candidates" not in html


def test_staff_without_the_change_permission_cannot_promote_by_posting(client):
    client.force_login(staff("viewer", "memories.view_memory"))
    memory = factories.memory()
    _act(client, "promote_candidates", [memory])
    assert _status(memory) == "candidate"


def test_the_triage_actions_are_there_for_staff_with_the_permission(triager):
    factories.memory()
    html = triager.get(LIST).content.decode()
    assert 'value="promote_candidates"' in html and 'value="reject_candidates"' in html


def test_memories_cannot_be_deleted_in_the_admin(client):
    client.force_login(superuser())
    memory = factories.memory()
    assert client.get(f"{LIST}{memory.pk}/delete/").status_code == 403
    assert 'value="delete_selected"' not in client.get(LIST).content.decode()


# -- promoting a duplicate asks first -----------------------------------------------------------


def test_promoting_a_candidate_with_an_active_twin_asks_for_confirmation(triager):
    active = factories.memory(content="The  walrus operator is accepted.")
    services.promote_memory(active, actor="test")
    twin = factories.memory(content="The walrus operator is accepted. ")
    response = _act(triager, "promote_candidates", [twin])
    html = response.content.decode()
    assert "would create a duplicate active memory" in html
    assert f"/admin/memories/memory/{active.pk}/change/" in html
    assert _status(twin) == "candidate"


def test_confirming_promotes_the_duplicate(triager):
    services.promote_memory(factories.memory(content="same"), actor="test")
    twin = factories.memory(content="same")
    response = _act(triager, "promote_candidates", [twin], confirm_duplicates="all")
    assert _status(twin) == "active"
    assert "Promoted 1 candidate." in _messages(response)


def test_choosing_skip_promotes_only_the_candidates_without_a_twin(triager):
    services.promote_memory(factories.memory(content="same"), actor="test")
    twin, unique = factories.memory(content="same"), factories.memory(content="unique")
    response = _act(triager, "promote_candidates", [twin, unique], confirm_duplicates="skip")
    assert (_status(twin), _status(unique)) == ("candidate", "active")
    assert "Skipped 1 memory: 1 would create a duplicate active memory." in " ".join(_messages(response))


def test_an_active_twin_in_another_project_is_no_duplicate(triager):
    services.promote_memory(factories.memory(content="same", project_name="other"), actor="test")
    candidate = factories.memory(content="same")
    _act(triager, "promote_candidates", [candidate])
    assert _status(candidate) == "active"


def test_two_selected_candidates_with_the_same_content_ask_for_confirmation(triager):
    first, second = (
        factories.memory(content="copyright sentence"),
        factories.memory(content="copyright sentence"),
    )
    html = _act(triager, "promote_candidates", [first, second]).content.decode()
    assert "another selected candidate" in html
    assert (_status(first), _status(second)) == ("candidate", "candidate")
