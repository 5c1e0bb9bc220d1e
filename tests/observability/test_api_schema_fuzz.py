"""Schemathesis against /api/schema/: no 5xx, every response valid against the schema.

Runs in the suite on both databases, on a store seeded with real rows of every kind.
Schemathesis' pytest plugin does not run on pytest 9, so each operation is driven with
its Hypothesis strategy directly: positive and negative cases, generated path ids and
the ids of existing rows. Bounded by FUZZ_EXAMPLES per operation and mode (env
ATOCORE_FUZZ_EXAMPLES); run alone with ``pytest -m schemathesis``.
"""

import collections
import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from atocore_project.wsgi import application
from integrity.models import IntegrityRun
from memories import services
from observability.access import issue_token
from observability.alerts import emit_alert
from observability.harness import record_harness_result
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.schemathesis]

FUZZ_EXAMPLES = int(os.environ.get("ATOCORE_FUZZ_EXAMPLES", "25"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
]


@pytest.fixture
def unthrottled(settings):
    """Thousands of requests in a minute are the point here, not abuse."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000000/minute", "user": "1000000/minute"},
    }


@pytest.fixture
def wsgi_without_connection_closing():
    """As Django's test client does: requests must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def seeded_store():
    """A row of every kind the API reads; returns path ids that exist."""
    candidate = factories.memory(content="a candidate")
    active = factories.memory(content="an active memory", status="active")
    services.promote_memory(factories.memory(content="promoted"), actor="test", user="someone")
    emit_alert("warning", "integrity findings", "2 findings", {"count": 2})
    IntegrityRun.objects.create(total_findings=2, result={"missing_chunks": {"count": 2}})
    record_harness_result(passed=9, total=10)
    services.set_project_state(project="demo", category="notes", key="owner", value={"name": "ops"})
    return {
        "id": [str(candidate.pk), str(active.pk)],
        "memory_id": [str(active.pk)],
        "name": ["demo"],
        "category": ["notes"],
        "key": ["owner"],
    }


def _path_parameters(operation, existing: dict) -> dict | None:
    names = [p.name for p in operation.path_parameters]
    if not names or not all(n in existing for n in names):
        return None
    return {n: existing[n][0] for n in names}


def _in_existing_project(case):
    """Bodies naming a project name "demo", which exists (random names almost never do)."""
    if isinstance(case.body, dict) and "project" in case.body:
        case.body["project"] = "demo"
    return case


def _fuzz(operation, headers, statuses, *, existing_project=False, **strategy_kwargs) -> None:
    strategy = operation.as_strategy(**strategy_kwargs)
    if existing_project:
        strategy = strategy.map(_in_existing_project)

    @given(case=strategy)
    @settings(
        max_examples=FUZZ_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def run(case):
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses[operation.label][response.status_code] += 1

    run()


def test_every_operation_answers_within_its_schema_and_never_with_a_5xx(
    staff_user, seeded_store, unthrottled, wsgi_without_connection_closing
):
    key, _ = issue_token(staff_user.get_username())
    headers = {"Authorization": f"Token {key}"}
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", wsgi_without_connection_closing, headers=headers
    )
    failures, statuses = [], collections.defaultdict(collections.Counter)
    for result in schema.get_all_operations():
        operation = result.ok()
        runs = [
            {"generation_mode": GenerationMode.POSITIVE},
            {"generation_mode": GenerationMode.NEGATIVE},
            {"generation_mode": GenerationMode.POSITIVE, "existing_project": True},
        ]
        if (fixed := _path_parameters(operation, seeded_store)) is not None:
            runs.append(
                {
                    "generation_mode": GenerationMode.POSITIVE,
                    "path_parameters": fixed,
                    "existing_project": True,
                }
            )
        for kwargs in runs:
            try:
                _fuzz(operation, headers, statuses, **kwargs)
            except Unsatisfiable:
                continue  # nothing to negate (no parameters, no body)
            except Exception as exc:
                failures.append(f"{operation.label} {kwargs}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
    # The run reached real rows, not only 404s and 400s.
    assert statuses["GET /api/v1/memories/{id}/"][200] > 0
    assert statuses["PATCH /api/v1/memories/{id}/"][200] > 0
    assert statuses["POST /api/v1/memories/"][201] > 0
