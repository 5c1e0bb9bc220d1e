"""Bodies that used to escape the one error shape (found by a new-user trial)."""

import uuid

import pytest

from memories.models import Memory
from tests import factories

pytestmark = pytest.mark.django_db

MEMORIES = "/api/v1/memories/"


def test_deeply_nested_json_is_a_400_not_a_server_error(api):
    body = "[" * 5000 + "]" * 5000

    response = api.post(MEMORIES, data=body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "nested too deeply" in response.json()["error"]["message"]


def test_a_body_over_the_upload_limit_is_a_413_in_the_error_shape(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"content": "' + "x" * 5000 + '"}'

    response = api.post(MEMORIES, data=body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def _new_memory(**extra) -> dict:
    return {"memory_type": "fact", "content": "c", "project": "demo", **extra}


def test_creating_a_memory_with_an_unknown_field_is_a_400_naming_it(api):
    factories.project("demo")

    response = api.post(MEMORIES, data=_new_memory(bogus=1, id=str(uuid.uuid4())), format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"bogus", "id"}
    assert not Memory.objects.exists()


def test_a_boolean_confidence_is_a_400_not_1(api):
    factories.project("demo")

    response = api.post(MEMORIES, data=_new_memory(confidence=True), format="json")

    assert response.status_code == 400
    assert "confidence" in response.json()["error"]["fields"]


def test_bad_tokens_are_throttled_by_address(settings, anon_api):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "3/minute"},
    }
    anon_api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    codes = [anon_api.get(MEMORIES).status_code for _ in range(5)]

    assert codes == [401, 401, 401, 429, 429]
