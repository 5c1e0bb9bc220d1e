import pytest

pytest_plugins = ["tests.api_fixtures"]


@pytest.fixture(autouse=True)
def _alert_log_in_tmp(settings, tmp_path):
    """No test writes alerts into the developer's home folder."""
    settings.ATOCORE_ALERT_LOG = str(tmp_path / "alerts.log")
    settings.ATOCORE_ALERT_WEBHOOK = ""
