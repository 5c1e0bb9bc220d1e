"""GET /api/v1/projects/, /projects/{name}/, /projects/{name}/state/[{category}/{key}/]."""

import pytest

from memories import services
from tests import factories

pytestmark = pytest.mark.django_db


def test_projects_are_listed_by_name(api):
    factories.project("zeta")
    factories.project("alpha")
    names = [p["name"] for p in api.get("/api/v1/projects/").json()]
    assert names == ["alpha", "atocore", "zeta"]


def test_a_project_is_returned_by_name(api):
    factories.project("alpha")
    body = api.get("/api/v1/projects/alpha/").json()
    assert (body["name"], body["description"]) == ("alpha", "")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/projects/ghost/",
        "/api/v1/projects/ghost/state/",
        "/api/v1/projects/ghost/state/status/anything/",
        "/api/v1/projects/%00/",
        "/api/v1/projects/atocore/state/status/never-written/",
        "/api/v1/projects/atocore/state/%00/%00/",
    ],
)
def test_an_unknown_project_or_state_key_is_a_404(api, url):
    response = api.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_projects_state_is_listed_by_category_and_key(api):
    factories.project("alpha")
    services.set_project_state(project="alpha", category="status", key="phase", value="build")
    services.set_project_state(project="alpha", category="owner", key="team", value={"name": "ops"})
    services.set_project_state(project="atocore", category="status", key="other", value=1)
    rows = api.get("/api/v1/projects/alpha/state/").json()
    assert [(r["category"], r["key"], r["value"]) for r in rows] == [
        ("owner", "team", {"name": "ops"}),
        ("status", "phase", "build"),
    ]


def test_one_state_entry_is_returned_with_its_json_value(api):
    services.set_project_state(project="atocore", category="alert", key="last_warning", value={"title": "x"})
    body = api.get("/api/v1/projects/atocore/state/alert/last_warning/").json()
    assert (body["project"], body["category"], body["key"], body["value"]) == (
        "atocore",
        "alert",
        "last_warning",
        {"title": "x"},
    )


@pytest.mark.parametrize("entries", [1, 30])
def test_the_state_list_runs_five_queries_whatever_its_size(api, django_assert_num_queries, entries):
    for i in range(entries):
        services.set_project_state(project="atocore", category="bulk", key=f"k{i}", value=i)
    # auth 3, project 1, state 1
    with django_assert_num_queries(5):
        assert len(api.get("/api/v1/projects/atocore/state/").json()) == entries


@pytest.mark.parametrize("projects", [1, 30])
def test_the_project_list_runs_four_queries_whatever_its_size(api, django_assert_num_queries, projects):
    for i in range(projects):
        factories.project(f"p{i}")
    with django_assert_num_queries(4):
        assert len(api.get("/api/v1/projects/").json()) == projects + 1


def test_the_state_routes_are_read_only(api):
    response = api.post("/api/v1/projects/atocore/state/", {"value": 1}, format="json")
    assert response.status_code == 405
