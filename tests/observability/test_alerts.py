"""emit_alert: the contract, the structlog, log file and state sinks, and per-sink health."""

import datetime
import decimal
import json
import multiprocessing
import os
import uuid
from pathlib import Path

import pytest
import structlog
from django.db import connection, transaction

from memories.models import Project, ProjectState
from memories.selectors import get_project_state
from observability.alerts import emit_alert
from observability.models import AlertEvent
from observability.sinks import log_file

pytestmark = pytest.mark.django_db


def _strict_loads(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _lines(settings) -> list[dict]:
    return [_strict_loads(line) for line in Path(settings.ATOCORE_ALERT_LOG).read_text("utf-8").splitlines()]


# -- ported from the original project, names kept ----------------------------------


def test_emit_alert_writes_log_file(settings):
    emit_alert("warning", "test title", "test message body", context={"count": 5})

    content = Path(settings.ATOCORE_ALERT_LOG).read_text(encoding="utf-8")
    assert "test title" in content
    assert "test message body" in content
    assert "WARNING" in content
    assert '"count": 5' in content


def test_emit_alert_invalid_severity_falls_back_to_info(settings):
    emit_alert("made-up-severity", "t", "m")

    content = Path(settings.ATOCORE_ALERT_LOG).read_text(encoding="utf-8")
    assert "INFO" in content


def test_emit_alert_fails_open_on_log_write_error(settings, tmp_path):
    """An unwritable log path should not crash the emit (a file where a folder must be: even root fails)."""
    (tmp_path / "not-a-folder").write_text("x")
    settings.ATOCORE_ALERT_LOG = str(tmp_path / "not-a-folder" / "alerts.log")

    result = emit_alert("info", "t", "m")

    assert result.sinks["log_file"] == "failed"
    assert result.sinks["state"] == "ok"
    assert "not-a-folder" in result.errors["log_file"]


# -- severity -----------------------------------------------------------------------


@pytest.mark.parametrize("given", ["warning", "WARNING", "  Warning\n", "\twarning "])
def test_severity_ignores_case_and_surrounding_white_space(given):
    result = emit_alert(given, "t", "m")

    assert result.severity == "warning"
    assert AlertEvent.objects.get().original_severity == ""


@pytest.mark.parametrize("given", [None, 3, "urgent", "", b"critical", ["critical"], "crit ical"])
def test_anything_else_is_exactly_info_and_the_original_is_kept(given, settings):
    result = emit_alert(given, "t", "m")

    assert result.severity == "info"
    line = _lines(settings)[0]
    assert line["severity"] == "INFO"
    expected = given if isinstance(given, str) else repr(given)
    assert line["original_severity"] == expected
    assert (
        get_project_state(project="atocore", category="alert", key="last_info")["original_severity"]
        == expected
    )
    assert AlertEvent.objects.get().severity == "info"


def test_no_state_key_is_built_from_the_callers_severity():
    emit_alert("last_critical/../../x", "t", "m")
    emit_alert("critical\x00", "t", "m")

    keys = set(ProjectState.objects.filter(category="alert").values_list("key", flat=True))
    assert keys == {"last_info"}


# -- structlog ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "level"), [("CRITICAL", "critical"), ("warning", "warning"), ("nope", "info")]
)
def test_structlog_logs_at_the_normalised_severity(given, level):
    with structlog.testing.capture_logs() as logs:
        emit_alert(given, "disk full", "m")

    alert = next(entry for entry in logs if entry["event"] == "alert")
    assert alert["log_level"] == level
    assert alert["alert"]["title"] == "disk full"


def test_context_keys_cannot_clash_with_the_log_lines_own_keys():
    context = {"event": "spoofed", "level": "debug", "timestamp": "1999", "log_level": "debug"}
    with structlog.testing.capture_logs() as logs:
        emit_alert("warning", "t", "m", context)

    alert = next(entry for entry in logs if entry.get("alert"))
    assert alert["event"] == "alert"
    assert alert["log_level"] == "warning"
    assert alert["alert"]["context"] == context


def test_nothing_from_an_alert_leaks_into_later_log_lines():
    with structlog.testing.capture_logs() as logs:
        emit_alert("warning", "t", "m", {"secret_project": "x"})
        structlog.get_logger("later").info("unrelated")

    later = logs[-1]
    assert later["event"] == "unrelated"
    assert set(later) == {"event", "log_level"}
    assert structlog.contextvars.get_contextvars() == {}


# -- the alert log file -------------------------------------------------------------


@pytest.mark.parametrize(
    "title", ["one\ntwo", "one\rtwo", "one\u2028two", "one\u0085two", "a\u2029b\x1cc\x0bd"]
)
def test_a_title_with_line_breaks_still_makes_exactly_one_line(title, settings):
    emit_alert("warning", title, "m")

    raw = Path(settings.ATOCORE_ALERT_LOG).read_text("utf-8")
    assert len(raw.splitlines()) == 1
    assert raw.endswith("\n")
    assert _lines(settings)[0]["title"] == title


def test_each_line_is_one_json_object_with_the_alerts_parts(settings):
    emit_alert("critical", "db down", "cannot connect", {"host": "db1"})

    line = _lines(settings)[0]
    assert line["severity"] == "CRITICAL"
    assert (line["title"], line["message"], line["context"]) == ("db down", "cannot connect", {"host": "db1"})
    stamp = datetime.datetime.fromisoformat(line["timestamp"])
    assert stamp.utcoffset() == datetime.timedelta(0)


def test_tilde_is_expanded_and_parent_folders_are_made(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    settings.ATOCORE_ALERT_LOG = "~/atocore-logs/deep/alerts.log"

    emit_alert("info", "t", "m")

    assert (tmp_path / "home" / "atocore-logs" / "deep" / "alerts.log").is_file()


def test_without_a_home_folder_only_the_log_file_sink_is_disabled(settings, tmp_path, monkeypatch):
    import pwd

    def no_user(uid):
        raise KeyError(uid)

    monkeypatch.delenv("HOME", raising=False)
    monkeypatch.setattr(pwd, "getpwuid", no_user)
    monkeypatch.chdir(tmp_path)
    settings.ATOCORE_ALERT_LOG = "~/atocore-logs/alerts.log"

    result = emit_alert("warning", "t", "m")

    assert result.sinks == {
        "structlog": "ok",
        "log_file": "unavailable",
        "state": "ok",
        "webhook": "not_configured",
    }
    assert list(tmp_path.iterdir()) == []  # no folder literally named "~"


def test_a_log_rotated_by_rename_keeps_working(settings):
    path = Path(settings.ATOCORE_ALERT_LOG)
    emit_alert("info", "before", "m")
    path.rename(path.with_suffix(".log.1"))

    emit_alert("info", "after", "m")

    assert [line["title"] for line in _lines(settings)] == ["after"]
    assert "before" in path.with_suffix(".log.1").read_text()


def test_a_log_rotated_by_copy_truncate_keeps_working(settings):
    path = Path(settings.ATOCORE_ALERT_LOG)
    emit_alert("info", "before", "m " * 500)
    path.write_bytes(b"")  # what logrotate's copytruncate does after copying

    emit_alert("info", "after", "m")

    raw = path.read_bytes()
    assert b"\x00" not in raw  # no hole where the old content was
    assert [line["title"] for line in _lines(settings)] == ["after"]


def _write_many(path: str, worker: int, count: int) -> None:
    from django.conf import settings

    from observability.alert_record import build_record

    settings.ATOCORE_ALERT_LOG = path
    for n in range(count):
        # Lines of very different sizes, some far over any stdio buffer.
        record = build_record("warning", f"w{worker}-{n}", "x" * (n * 97 % 19_000), {"n": n}, scrub=str)
        log_file.send(record, None)


def test_concurrent_processes_never_interleave_lines(settings):
    path = settings.ATOCORE_ALERT_LOG
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_write_many, args=(path, w, 200)) for w in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)

    assert [worker.exitcode for worker in workers] == [0] * 8
    lines = _lines(settings)
    assert len(lines) == 1600
    assert len({line["title"] for line in lines}) == 1600


# -- project state and the AlertEvent history ---------------------------------------


def test_the_last_alert_of_each_severity_is_in_project_state():
    emit_alert("warning", "queue long", "250 waiting", {"size": 250})
    emit_alert("critical", "db down", "m")

    value = get_project_state(project="atocore", category="alert", key="last_warning")
    assert value["title"] == "queue long"
    assert value["message"] == "250 waiting"
    assert value["context"] == {"size": 250}
    assert value["count"] == 1
    assert datetime.datetime.fromisoformat(value["time"]).tzinfo is not None
    assert get_project_state(project="atocore", category="alert", key="last_critical")["title"] == "db down"


def test_count_says_how_often_the_same_alert_repeated_in_a_row():
    for _ in range(3):
        emit_alert("warning", "queue long", "m")
    after_repeats = get_project_state(project="atocore", category="alert", key="last_warning")
    emit_alert("warning", "something else", "m")
    after_other = get_project_state(project="atocore", category="alert", key="last_warning")

    assert (after_repeats["count"], after_repeats["total"]) == (3, 3)
    assert (after_other["count"], after_other["total"]) == (1, 4)


def test_every_alert_files_an_alert_event_with_dedup_key_and_sink_outcomes():
    result = emit_alert("Warning", "queue long", "m", {"size": 250})

    event = AlertEvent.objects.get()
    assert event.pk == result.event_id
    assert str(event.alert_id) == result.alert_id
    assert (event.severity, event.title, event.context) == ("warning", "queue long", {"size": 250})
    assert event.dedup_key == "warning:queue long"
    assert event.sinks == {"structlog": "ok", "log_file": "ok", "state": "ok", "webhook": "not_configured"}


def test_a_caller_may_name_its_own_dedup_key():
    result = emit_alert("warning", "run 7 found 3", "m", {"dedup_key": "integrity-findings"})

    assert result.dedup_key == "warning:integrity-findings"


def test_oversize_fields_are_truncated_never_a_reason_to_fail():
    result = emit_alert(
        "critical", "T" * 5000, "M" * 100_000, {"blob": "b" * 100_000, "n": list(range(5000))}
    )

    assert result.sinks["state"] == "ok"
    event = AlertEvent.objects.get()
    assert len(event.title) == 300
    assert event.title.endswith("…")
    assert len(event.message) == 20_000
    assert len(json.dumps(event.context)) < 40_000
    assert len(event.dedup_key) <= 255


def test_text_postgresql_cannot_store_is_replaced_not_fatal():
    result = emit_alert("warning", "nul\x00here", "lone \udc80 surrogate", {"k\x00": "v\x00"})

    assert result.sinks["state"] == "ok"
    event = AlertEvent.objects.get()
    assert event.title == "nul\ufffdhere"
    assert event.context == {"k\ufffd": "v\ufffd"}


class _Opaque:
    def __repr__(self):
        return "<Opaque thing>"


def test_context_values_of_any_type_are_recorded_as_strict_json(settings):
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    context = {
        "when": when,
        "day": when.date(),
        "amount": decimal.Decimal("1.10"),
        "id": ident,
        "tags": {"b", "a"},
        "raw": b"\xffbytes",
        "thing": _Opaque(),
        1: "int key",
        None: "none key",
        ("t", 1): "tuple key",
        "nan": float("nan"),
        "inf": float("-inf"),
        "huge": 10**30,
    }

    result = emit_alert("warning", "t", "m", context)

    expected = {
        "when": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "amount": "1.10",
        "id": str(ident),
        "tags": ["a", "b"],
        "raw": "\\xffbytes",
        "thing": "<Opaque thing>",
        "1": "int key",
        "null": "none key",
        "('t', 1)": "tuple key",
        "nan": "NaN",
        "inf": "-Infinity",
        "huge": str(10**30),
    }
    assert result.sinks["state"] == "ok"
    assert _lines(settings)[0]["context"] == expected
    assert AlertEvent.objects.get().context == expected
    assert get_project_state(project="atocore", category="alert", key="last_warning")["context"] == expected


def test_a_context_that_is_not_a_mapping_is_kept_under_value():
    emit_alert("info", "t", "m", ["a", 1])

    assert AlertEvent.objects.get().context == {"value": ["a", 1]}


def test_a_context_that_contains_itself_is_recorded():
    context: dict = {"a": 1}
    context["self"] = context

    result = emit_alert("info", "t", "m", context)

    assert result.sinks["state"] == "ok"
    assert AlertEvent.objects.get().context == {"a": 1, "self": "<cycle>"}


class _Hostile:
    def __str__(self):
        raise RuntimeError("no str")

    def __repr__(self):
        raise RuntimeError("no repr")


class _HostileMapping(dict):
    def items(self):
        raise RuntimeError("no items")


class _ShoutingError(BaseException):
    pass


class _Explosive:
    def __repr__(self):
        raise _ShoutingError("boom")


def test_emit_alert_never_raises_whatever_it_is_given():
    results = [
        emit_alert(_Hostile(), _Hostile(), _Hostile(), {_Hostile(): _Hostile()}),
        emit_alert("warning", "t", "m", _HostileMapping(a=1)),
        emit_alert(_Explosive(), _Explosive(), "m", {"x": _Explosive()}),
    ]

    assert [r.sinks["state"] for r in results] == ["ok", "ok", "ok"]
    assert AlertEvent.objects.count() == 3


def test_keyboard_interrupt_is_not_swallowed(monkeypatch):
    from observability.sinks import structlog as structlog_sink

    def interrupted(record, result):
        raise KeyboardInterrupt

    monkeypatch.setattr(structlog_sink, "send", interrupted)

    with pytest.raises(KeyboardInterrupt):
        emit_alert("info", "t", "m")


def _fail_queries_on(table: str):
    """An execute wrapper that makes the database itself fail every statement touching ``table``."""

    def wrapper(execute, sql, params, many, context):
        if table in sql and not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            return execute("SELECT * FROM no_such_table_for_this_test", (), False, context)
        return execute(sql, params, many, context)

    return wrapper


def test_a_failing_state_sink_does_not_stop_the_others(settings):
    with connection.execute_wrapper(_fail_queries_on("observability_alertevent")):
        result = emit_alert("warning", "t", "m")

    assert result.sinks["state"] == "failed"
    assert result.sinks["log_file"] == "ok"
    assert len(_lines(settings)) == 1
    assert result.event_id is None


def test_a_failing_state_sink_leaves_the_callers_transaction_usable():
    with transaction.atomic():
        Project.objects.create(name="caller-work")
        with connection.execute_wrapper(_fail_queries_on("observability_alertevent")):
            result = emit_alert("warning", "t", "m")
        # On PostgreSQL this query fails unless the sink used its own savepoint.
        assert Project.objects.filter(name="caller-work").exists()

    assert result.sinks["state"] == "failed"


# -- health of the sinks ------------------------------------------------------------


def test_each_sink_keeps_its_health_in_project_state(settings, tmp_path):
    emit_alert("info", "one", "m")
    (tmp_path / "file").write_text("")
    settings.ATOCORE_ALERT_LOG = str(tmp_path / "file" / "alerts.log")
    emit_alert("info", "two", "m")

    log_health = get_project_state(project="atocore", category="alert_health", key="log_file")
    assert log_health["attempts"] == 2
    assert log_health["successes"] == 1
    assert log_health["failures"]["error"] == 1
    assert log_health["last_success"] is not None
    assert "FileExistsError" in log_health["last_error"]["detail"]
    state_health = get_project_state(project="atocore", category="alert_health", key="state")
    assert (state_health["attempts"], state_health["successes"]) == (2, 2)
    assert get_project_state(project="atocore", category="alert_health", key="structlog")["successes"] == 2


def test_the_cost_of_an_alert_does_not_grow_with_history(django_assert_max_num_queries):
    for n in range(30):
        emit_alert("warning", f"alert {n}", "m")

    with django_assert_max_num_queries(14):
        emit_alert("warning", "one more", "m")


def test_the_log_file_is_not_world_writable(settings):
    emit_alert("info", "t", "m")

    mode = os.stat(settings.ATOCORE_ALERT_LOG).st_mode
    assert not mode & 0o002


def test_a_failing_structlog_sink_does_not_stop_the_others(monkeypatch, settings):
    from observability.sinks import structlog as structlog_sink

    def broken(record, result):
        raise RuntimeError("logging is broken")

    monkeypatch.setattr(structlog_sink, "send", broken)

    result = emit_alert("warning", "t", "m")

    assert result.sinks == {
        "structlog": "failed",
        "log_file": "ok",
        "state": "ok",
        "webhook": "not_configured",
    }
    assert result.errors == {"structlog": "RuntimeError: logging is broken"}
    assert AlertEvent.objects.get().sink_errors == {"structlog": "RuntimeError: logging is broken"}
