"""The admin in a real browser (Playwright, Debian's chromium): the triage story end to end.

Log in, see the three panels filled, filter candidates, promote one, open its page and see
the ``promoted`` entry with the user name, try to delete an audit row and be refused.
Screenshots go to ``ATOCORE_SCREENSHOT_DIR`` (set it to docs/screenshots to refresh
the committed ones), else into the test's temporary folder.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from integrity.checks import all_checks
from memories.models import Memory
from observability.models import MemoryAudit
from tests.admin_support import fresh_cache, load_demo_store  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "browser-test-password"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_cache"),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


@pytest.fixture
def page(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install playwright)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(15_000)
        yield page
        browser.close()
        # Connections opened by the test while Playwright's loop ran live in that context:
        # close them here, or PostgreSQL refuses to drop the test database afterwards.
        connections.close_all()


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("ATOCORE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_triage_in_a_real_browser(live_server, page, shots, django_user_model, tmp_path):
    source = load_demo_store(corpus_dir=settings.ATOCORE_CORPUS_DIR, work_dir=tmp_path)
    print(f"store: {source}")
    django_user_model.objects.create_superuser("alice", password=PASSWORD)
    url = live_server.url

    # Log in.
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{url}/admin/")

    # The three panels, filled.
    assert page.locator("#integrity-checks tbody tr").count() == len(all_checks())
    assert "memory_missing_source_chunk" in page.inner_text("#panel-integrity")
    assert page.inner_text("#alert-warning").count("Integrity scan found") == 1
    assert page.locator("#panel-mutations tbody tr").count() == 10
    assert page.locator("#panel-trends svg").count() == 2
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    # Filter candidates.
    page.click("#panel-queue a")  # "N candidates waiting for triage" opens the filtered list
    page.wait_for_url("**/admin/memories/memory/?status__exact=candidate")
    assert page.locator("#result_list tbody tr").count() > 0
    statuses = page.locator("#result_list tbody td.field-status").all_inner_texts()
    assert set(statuses) == {"Candidate"}
    # Promote one (a candidate whose content no active memory has, so no confirmation step).
    candidate = next(
        m
        for m in Memory.objects.filter(status="candidate").order_by("-created_at", "id")[:100]
        if not Memory.objects.filter(status="active", content_hash=m.content_hash, project=m.project).exists()
    )
    page.check(f"input[name=_selected_action][value='{candidate.pk}']")
    page.select_option("select[name=action]", "promote_candidates")
    page.screenshot(path=str(shots / "memory-list.png"))
    page.click("button[name=index]")
    page.wait_for_selector("ul.messagelist")
    assert "Promoted 1 candidate." in page.inner_text("ul.messagelist")
    assert Memory.objects.get(pk=candidate.pk).status == "active"

    # Its page shows the promoted entry with the user name, newest first.
    page.goto(f"{url}/admin/memories/memory/{candidate.pk}/change/")
    newest = page.locator("#audit-timeline .entry").first
    assert newest.locator(".atocore-action").inner_text() == "promoted"
    assert newest.locator(".actor").inner_text() == "human-triage"
    assert newest.locator(".user").inner_text() == "alice"
    page.locator("#audit-timeline").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "timeline.png"), full_page=True)

    # Deleting an audit row is refused, even to a superuser.
    row = MemoryAudit.objects.filter(memory_id=candidate.pk, action="promoted").get()
    page.goto(f"{url}/admin/observability/memoryaudit/{row.pk}/change/")
    assert page.locator("a.deletelink").count() == 0
    response = page.goto(f"{url}/admin/observability/memoryaudit/{row.pk}/delete/")
    assert response.status == 403
    assert MemoryAudit.objects.filter(pk=row.pk).exists()
