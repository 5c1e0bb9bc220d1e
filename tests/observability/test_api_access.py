"""Who may call the API, how it answers when they may not, and its machinery routes."""

import io
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from observability import access, health
from observability.models import MemoryAudit

pytestmark = pytest.mark.django_db

SOME_ID = str(uuid.uuid4())
# Every route but the two probes: (method, path, needed permission).
ROUTES = [
    ("get", f"/memory/{SOME_ID}/audit", "observability.view_memoryaudit"),
    ("get", "/admin/audit/recent", "observability.view_memoryaudit"),
    ("get", "/api/v1/memories/", "memories.view_memory"),
    ("post", "/api/v1/memories/", "memories.change_memory"),
    ("get", f"/api/v1/memories/{SOME_ID}/", "memories.view_memory"),
    ("patch", f"/api/v1/memories/{SOME_ID}/", "memories.change_memory"),
    ("post", f"/api/v1/memories/{SOME_ID}/promote/", "memories.change_memory"),
    ("post", f"/api/v1/memories/{SOME_ID}/reject/", "memories.change_memory"),
    ("post", f"/api/v1/memories/{SOME_ID}/invalidate/", "memories.change_memory"),
    ("post", f"/api/v1/memories/{SOME_ID}/supersede/", "memories.change_memory"),
    ("post", f"/api/v1/memories/{SOME_ID}/reinforce/", "memories.change_memory"),
    ("get", "/api/v1/projects/", "memories.view_memory"),
    ("get", "/api/v1/projects/atocore/", "memories.view_memory"),
    ("get", "/api/v1/projects/atocore/state/", "memories.view_memory"),
    ("get", "/api/v1/projects/atocore/state/alert/last_info/", "memories.view_memory"),
    ("get", "/api/v1/audit/", "observability.view_memoryaudit"),
    ("get", "/api/v1/alerts/", "observability.view_memoryaudit"),
    ("get", "/api/v1/alerts/last/", "observability.view_memoryaudit"),
    ("get", "/api/v1/integrity/latest/", "observability.view_memoryaudit"),
    ("get", "/api/v1/integrity/runs/", "observability.view_memoryaudit"),
    ("post", "/api/v1/harness/results/", "memories.change_memory"),
    ("get", "/api/v1/harness/results/latest/", "observability.view_memoryaudit"),
    ("get", "/api/v1/dashboard/", "observability.view_memoryaudit"),
]
ROUTE_IDS = [f"{m.upper()} {p.replace(SOME_ID, '{id}')}" for m, p, _ in ROUTES]


def call(client, method, path):
    return getattr(client, method)(path, {}, format="json") if method != "get" else client.get(path)


@pytest.mark.parametrize(("method", "path", "perm"), ROUTES, ids=ROUTE_IDS)
def test_an_anonymous_caller_gets_a_json_401(anon_api, method, path, perm):
    response = call(anon_api, method, path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(("method", "path", "perm"), ROUTES, ids=ROUTE_IDS)
def test_a_caller_without_the_permission_gets_a_json_403_naming_it(outsider_api, method, path, perm):
    response = call(outsider_api, method, path)
    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "permission_denied",
        "message": f"you need the permission {perm}",
    }


@pytest.mark.parametrize(("method", "path", "perm"), ROUTES, ids=ROUTE_IDS)
def test_a_bad_token_is_a_401(method, path, perm, db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = call(client, method, path)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_a_failed_write_by_an_outsider_changes_nothing(outsider_api):
    outsider_api.post(
        "/api/v1/memories/", {"memory_type": "fact", "content": "x", "project": "atocore"}, format="json"
    )
    assert not MemoryAudit.objects.exists()


# -- health ---------------------------------------------------------------------------


def test_healthz_answers_without_authentication_or_queries(anon_api, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anon_api.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_answers_ready_when_the_database_is_migrated(anon_api):
    response = anon_api.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_readyz_answers_503_while_migrations_are_pending(anon_api, monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(health, "pending_migrations", lambda: 2)
    response = anon_api.get("/readyz")
    assert (response.status_code, response.json()) == (
        503,
        {"status": "not_ready", "reason": "2 migrations pending"},
    )


def test_pending_migrations_counts_none_on_a_migrated_database():
    assert health.pending_migrations() == 0


# -- schema and docs ------------------------------------------------------------------


def test_the_schema_needs_authentication(anon_api):
    assert anon_api.get("/api/schema/").status_code == 401


def test_the_schema_is_openapi_3_with_every_route(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    assert schema["openapi"].startswith("3.")
    expected = {
        p.replace(SOME_ID, "{id}").replace("/memory/{id}", "/memory/{memory_id}") for _, p, _ in ROUTES
    }
    expected = {
        p.replace("/atocore/", "/{name}/").replace("/alert/last_info/", "/{category}/{key}/")
        for p in expected
    }
    assert expected | {"/healthz", "/readyz"} == set(schema["paths"])


def test_every_operation_documents_the_error_shape(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    for path, operations in schema["paths"].items():
        if path in ("/healthz", "/readyz"):
            continue
        for operation in operations.values():
            for code in ("400", "401", "403", "404", "429"):
                assert operation["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_the_browsable_docs_load_their_assets_from_the_project_not_a_cdn(staff_user, page):
    client = APIClient()
    client.force_login(staff_user)
    html = client.get(page).content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    for cdn in ("cdn.", "jsdelivr", "unpkg", "cdnjs"):
        assert cdn not in html


# -- one error shape ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/no-such-route/", "/api/nothing", "/nowhere"])
def test_an_unknown_route_is_a_json_404(api, path):
    response = api.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_path_without_its_trailing_slash_is_a_json_404_that_says_so(api):
    response = api.post("/api/v1/memories", {"memory_type": "fact"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        "no route /api/v1/memories (the API's paths end with a slash: /api/v1/memories/)"
    )


def test_the_admin_keeps_its_html_404(staff_user):
    client = APIClient()
    client.force_login(staff_user)
    response = client.get("/admin/no-such-page/")
    assert response.status_code in (302, 404)
    assert "application/json" not in response.get("Content-Type", "")


def test_every_response_carries_a_request_id(api, anon_api):
    assert api.get("/api/v1/memories/")["X-Request-ID"]
    assert anon_api.get("/api/v1/memories/")["X-Request-ID"]


# -- throttling -----------------------------------------------------------------------


def test_throttling_answers_429_with_retry_after_in_the_error_shape(api, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "2/minute"},
    }
    assert [api.get("/api/v1/projects/").status_code for _ in range(2)] == [200, 200]
    response = api.get("/api/v1/projects/")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_throttling_is_on_by_default():
    from django.conf import settings

    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert rates["user"] and rates["anon"]


# -- the API group --------------------------------------------------------------------


def test_the_migration_made_the_group_with_exactly_the_api_permissions():
    group = Group.objects.get(name=access.API_GROUP)
    granted = {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }
    assert granted == set(access.API_GROUP_PERMISSIONS)


def _api_group_migration():
    import importlib
    from pathlib import Path

    import observability.migrations

    [path] = Path(observability.migrations.__path__[0]).glob("*_api_group.py")
    return importlib.import_module(f"observability.migrations.{path.stem}")


def test_the_migration_keeps_the_same_permissions_as_the_code():
    migration = _api_group_migration()
    assert (migration.API_GROUP, migration.API_GROUP_PERMISSIONS) == (
        access.API_GROUP,
        access.API_GROUP_PERMISSIONS,
    )


def test_the_data_migration_grants_existing_permissions_and_enrols_existing_staff():
    from django.apps import apps as global_apps

    Group.objects.filter(name=access.API_GROUP).delete()
    staff = get_user_model().objects.create_user("old-staff", is_staff=True)  # no group: it was deleted
    other = get_user_model().objects.create_user("not-staff")
    _api_group_migration().create_api_group(global_apps, None)
    group = Group.objects.get(name=access.API_GROUP)
    assert group.permissions.count() == len(access.API_GROUP_PERMISSIONS)
    assert list(group.user_set.all()) == [staff]
    assert not other.groups.exists()


def test_a_new_staff_user_joins_the_api_group():
    user = get_user_model().objects.create_user("new-staff", is_staff=True)
    assert user.groups.filter(name=access.API_GROUP).exists()
    assert user.has_perm("memories.change_memory")


def test_a_new_superuser_joins_the_api_group():
    user = get_user_model().objects.create_superuser("root", password=None)
    assert user.groups.filter(name=access.API_GROUP).exists()


def test_a_user_who_becomes_staff_joins_and_who_stops_being_staff_leaves():
    user = get_user_model().objects.create_user("promoted-later")
    assert not user.groups.exists()
    user.is_staff = True
    user.save()
    assert user.groups.filter(name=access.API_GROUP).exists()
    user = get_user_model().objects.get(pk=user.pk)
    user.is_staff = False
    user.save()
    assert not user.groups.filter(name=access.API_GROUP).exists()


def test_a_service_account_added_by_hand_keeps_the_group_when_it_is_saved():
    user = get_user_model().objects.create_user("pipeline")
    user.groups.add(Group.objects.get(name=access.API_GROUP))
    user = get_user_model().objects.get(pk=user.pk)
    user.first_name = "Pipeline"
    user.save()
    assert user.groups.filter(name=access.API_GROUP).exists()


def test_a_login_saving_last_login_costs_no_group_query(django_assert_num_queries):
    user = get_user_model().objects.create_user("staffer", is_staff=True)
    with django_assert_num_queries(1):
        user.save(update_fields=["last_login"])


def test_ensure_api_group_recreates_a_missing_group():
    Group.objects.filter(name=access.API_GROUP).delete()
    group = access.ensure_api_group()
    assert group.permissions.count() == len(access.API_GROUP_PERMISSIONS)


# -- create_api_token -----------------------------------------------------------------


def run_command(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_create_api_token_prints_a_token_that_authenticates(staff_user):
    key = run_command("triager")
    assert Token.objects.get(user=staff_user).key == key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/memories/").status_code == 200


def test_create_api_token_prints_the_same_token_again_unless_rotated(staff_user):
    first = run_command("triager")
    assert run_command("triager") == first
    rotated = run_command("triager", "--rotate")
    assert rotated != first
    assert Token.objects.filter(user=staff_user).count() == 1


def test_create_api_token_for_an_unknown_user_fails():
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        run_command("nobody")


@pytest.mark.parametrize(
    ("method", "path", "perm"),
    [r for r in ROUTES if r[0] == "get"],
    ids=[i for i, r in zip(ROUTE_IDS, ROUTES, strict=True) if r[0] == "get"],
)
def test_the_browsable_api_renders_every_read_for_a_logged_in_staff_member(staff_user, method, path, perm):
    from observability.alerts import emit_alert
    from tests import factories

    factories.memory()
    emit_alert("info", "an alert", "x")
    client = APIClient()
    client.force_login(staff_user)
    response = client.get(path, HTTP_ACCEPT="text/html")
    assert response.status_code in (200, 404)
    assert response["Content-Type"].startswith("text/html")
