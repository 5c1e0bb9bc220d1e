import pytest

pytest_plugins = ["tests.api_fixtures"]


@pytest.fixture(autouse=True)
def _alert_log_in_tmp(settings, tmp_path):
    """No test writes alerts into the developer's home folder."""
    settings.ATOCORE_ALERT_LOG = str(tmp_path / "alerts.log")
    settings.ATOCORE_ALERT_WEBHOOK = ""


@pytest.fixture(autouse=True)
def _system_project(request):
    """The `atocore` project comes from a data migration, which a transactional test's flush
    removes: put it back so that every database test starts from a fresh install's state."""
    if request.node.get_closest_marker("django_db") is None:
        return
    request.getfixturevalue("_django_db_helper")
    from memories.models import SYSTEM_PROJECT, Project

    Project.objects.get_or_create(name=SYSTEM_PROJECT)
