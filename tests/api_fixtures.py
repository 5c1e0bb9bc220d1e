"""Fixtures for the API tests: clients with a token for each kind of caller."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from observability.access import issue_token


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


def token_client(user) -> APIClient:
    client = APIClient()
    key, _ = issue_token(user.get_username())
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def staff_user(db):
    """A staff member: joins the API group by being staff."""
    return get_user_model().objects.create_user("triager", is_staff=True)


@pytest.fixture
def api(staff_user) -> APIClient:
    """A staff member's token client."""
    return token_client(staff_user)


@pytest.fixture
def outsider_api(db) -> APIClient:
    """An authenticated user without the API group: every data route answers 403."""
    return token_client(get_user_model().objects.create_user("outsider"))


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()
