import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_extra={
            "DEBUG": "False",
            "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-1234567890",
            "ALLOWED_HOSTS": "atocore.example.com",
            "ATOCORE_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = _manage("check", env_extra={"DEBUG": "False", "ATOCORE_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_logs_are_one_json_object_per_line(tmp_path):
    code = (
        "import structlog; from django.conf import settings; "
        "structlog.get_logger('probe').info('probe_event', answer=42)"
    )
    result = _manage(
        "shell",
        "-c",
        code,
        env_extra={
            "DEBUG": "False",
            "SECRET_KEY": "y" * 60,
            "ATOCORE_DATA_DIR": str(tmp_path),
        },
    )
    lines = [line for line in result.stderr.splitlines() if "probe_event" in line]
    assert len(lines) == 1, result.stderr
    record = json.loads(lines[0])
    assert record["event"] == "probe_event"
    assert record["answer"] == 42
    assert record["level"] == "info"


@pytest.mark.django_db
def test_every_response_carries_a_request_id_bound_to_its_log_lines(admin_client):
    with structlog.testing.capture_logs() as logs:
        structlog.get_logger("probe").info("outside")
    assert "request_id" not in logs[0]
    response = admin_client.get(reverse("audit-recent"))
    assert response.status_code == 200
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_a_sane_incoming_request_id_is_kept_and_a_hostile_one_replaced(admin_client):
    kept = admin_client.get(reverse("audit-recent"), headers={"X-Request-ID": "abc-123"})
    assert kept["X-Request-ID"] == "abc-123"
    replaced = admin_client.get(reverse("audit-recent"), headers={"X-Request-ID": "bad\nvalue <script>"})
    assert replaced["X-Request-ID"] != "bad\nvalue <script>"
    assert len(replaced["X-Request-ID"]) == 32
