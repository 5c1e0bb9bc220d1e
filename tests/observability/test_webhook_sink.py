"""The webhook sink against real HTTP servers on 127.0.0.1 (pytest-httpserver and raw sockets)."""

import asyncio
import hashlib
import hmac
import json
import logging
import time

import pytest
from django.db import connection, connections, transaction
from pytest_httpserver import HTTPServer
from werkzeug import Response

from memories.models import ProjectState
from memories.selectors import get_project_state
from observability.alerts import emit_alert
from observability.models import AlertEvent

pytestmark = pytest.mark.django_db

TOKEN = "SeCrEtToKeN-abcdefghijklmnopqrstuvwxyz_0123456789"
DEADLINE = 0.6


@pytest.fixture
def hook(settings, httpserver):
    """A generic webhook on 127.0.0.1 answering 204, configured for emit_alert."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    settings.ATOCORE_ALERT_WEBHOOK = httpserver.url_for("/hook")
    settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT = DEADLINE
    return httpserver


def _answer(settings, httpserver, *responses, path="/hook"):
    """Configure the webhook to get ``responses`` in order, then 204 for ever."""
    for response in responses:
        httpserver.expect_ordered_request(path, method="POST").respond_with_response(response)
    httpserver.expect_request(path, method="POST").respond_with_data("", status=204)
    settings.ATOCORE_ALERT_WEBHOOK = httpserver.url_for(path)
    settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT = DEADLINE


def _bodies(httpserver) -> list[dict]:
    return [json.loads(request.get_data()) for request, _ in httpserver.log]


def _health() -> dict:
    return get_project_state(project="atocore", category="alert_health", key="webhook")


# -- payloads on the wire -----------------------------------------------------------


def test_a_discord_webhook_gets_one_embed_and_waits_for_the_answer(settings, httpserver, emit):
    path = f"/api/webhooks/123456/{TOKEN}"
    _answer(settings, httpserver, path=path)
    settings.ATOCORE_ALERT_WEBHOOK_FORMAT = "discord"  # 127.0.0.1 stands in for discord.com

    result = emit("critical", "@everyone db down", "cannot connect", {"host": "db1"})

    assert result.sinks["webhook"] == "sent"
    ((request, _),) = httpserver.log
    assert request.args["wait"] == "true"
    body = request.get_json()
    assert body["allowed_mentions"] == {"parse": []}
    (embed,) = body["embeds"]
    assert (embed["title"], embed["description"]) == ("@everyone db down", "cannot connect")
    assert embed["fields"] == [{"name": "host", "value": "db1", "inline": True}]
    assert embed["color"] == 0xE74C3C
    assert embed["timestamp"]


def test_any_other_webhook_gets_the_generic_json_body(hook, emit):
    result = emit("warning", "queue long", "250 waiting", {"size": 250})

    ((request, _),) = hook.log
    assert request.headers["Content-Type"] == "application/json"
    body = request.get_json()
    assert body["schema"] == "atocore.alert"
    assert body["version"] == 1
    assert body["id"] == result.alert_id
    assert body["dedup_key"] == "warning:queue long"
    assert (body["severity"], body["title"], body["message"]) == ("warning", "queue long", "250 waiting")
    assert body["context"] == {"size": 250}
    assert body["timestamp"]


def test_with_a_secret_the_body_is_signed_with_hmac_sha256(hook, emit, settings):
    settings.ATOCORE_ALERT_WEBHOOK_SECRET = "s3cret-signing-key"

    emit("warning", "t", "m")

    ((request, _),) = hook.log
    stamp = request.headers["X-AtoCore-Timestamp"]
    expected = hmac.new(b"s3cret-signing-key", f"{stamp}.".encode() + request.get_data(), hashlib.sha256)
    assert request.headers["X-AtoCore-Signature"] == f"sha256={expected.hexdigest()}"
    assert abs(int(stamp) - time.time()) < 60


def test_without_a_secret_there_is_no_signature(hook, emit):
    emit("warning", "t", "m")

    ((request, _),) = hook.log
    assert "X-AtoCore-Signature" not in request.headers


def test_the_alert_event_records_the_webhooks_outcome(hook, emit):
    result = emit("warning", "t", "m")

    event = AlertEvent.objects.get(pk=result.event_id)
    assert event.sinks == {"structlog": "ok", "log_file": "ok", "state": "ok", "webhook": "sent"}
    assert _health()["successes"] == 1
    assert _health()["last_success"] is not None


# -- failures -----------------------------------------------------------------------


def test_a_429_stops_posts_until_retry_after_without_sleeping(settings, httpserver, emit):
    _answer(settings, httpserver, Response("slow down", status=429, headers={"Retry-After": "30"}))

    start = time.monotonic()
    first = emit("warning", "first", "m")
    elapsed = time.monotonic() - start
    second = emit("warning", "second", "m")

    assert (first.sinks["webhook"], second.sinks["webhook"]) == ("rate_limited", "rate_limited")
    assert elapsed < 1.0
    assert len(httpserver.log) == 1
    health = _health()
    assert health["failures"]["rate_limited"] == 1
    assert health["skipped"] == {"rate_limited": 1}
    assert health["rate_limited_until"] is not None


def test_discords_body_retry_after_is_honoured(settings, httpserver, emit):
    body = json.dumps({"message": "You are being rate limited.", "retry_after": 12.5, "global": False})
    _answer(settings, httpserver, Response(body, status=429, content_type="application/json"))

    emit("warning", "first", "m")

    gate = get_project_state(project="atocore", category="alert_webhook", key="gate")
    assert 11 < gate["rate_limited_until"] - time.time() <= 12.5


def test_posts_resume_after_retry_after_and_say_what_was_held_back(settings, httpserver, emit):
    _answer(settings, httpserver, Response("", status=429, headers={"Retry-After": "0.3"}))
    emit("warning", "same", "m")
    emit("warning", "same", "m")
    time.sleep(0.35)

    result = emit("warning", "same", "m")

    assert result.sinks["webhook"] == "sent"
    # Held back: the alert answered with 429 and the one skipped during the wait.
    assert _bodies(httpserver)[-1]["suppressed"] == 2


@pytest.mark.parametrize("status", [404, 401])
def test_a_gone_hook_is_not_tried_again_until_the_setting_changes(status, settings, httpserver, emit):
    _answer(settings, httpserver, Response('{"message": "Unknown Webhook"}', status=status))

    first = emit("warning", "first", "m")
    second = emit("warning", "second", "m")

    assert first.sinks["webhook"] == "client_error"
    assert f"HTTP {status}" in first.errors["webhook"]
    assert second.sinks["webhook"] == "disabled"
    assert len(httpserver.log) == 1
    assert _health()["disabled"]["status"] == status

    httpserver.expect_request("/new-hook", method="POST").respond_with_data("", status=204)
    settings.ATOCORE_ALERT_WEBHOOK = httpserver.url_for("/new-hook")
    third = emit("warning", "third", "m")

    assert third.sinks["webhook"] == "sent"
    assert _health()["disabled"] is None


def test_another_client_error_is_recorded_but_does_not_disable_the_hook(settings, httpserver, emit):
    _answer(settings, httpserver, Response("bad", status=400))

    first = emit("warning", "first", "m")
    second = emit("warning", "second", "m")

    assert (first.sinks["webhook"], second.sinks["webhook"]) == ("client_error", "sent")
    assert len(httpserver.log) == 2  # no retry for a 4xx


def test_a_server_error_is_retried_once(settings, httpserver, emit):
    _answer(settings, httpserver, Response("oops", status=500), Response("oops", status=502))

    result = emit("warning", "t", "m")

    assert result.sinks["webhook"] == "server_error"
    assert len(httpserver.log) == 2
    assert _health()["failures"]["server_error"] == 1
    assert "HTTP 502" in _health()["last_error"]["detail"]


def test_a_server_error_then_success_is_sent(settings, httpserver, emit):
    _answer(settings, httpserver, Response("oops", status=503))

    result = emit("warning", "t", "m")

    assert result.sinks["webhook"] == "sent"
    assert len(httpserver.log) == 2


@pytest.fixture
def own_server():
    """A server of the test's own, for handlers that outlive the test (the shared one would log them later)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_the_retry_never_extends_the_deadline(settings, own_server, emit):
    def slow_failure(request):
        time.sleep(0.35)  # the retry starts at 0.35 s and would end after the 0.6 s deadline
        return Response("oops", status=500)

    own_server.expect_request("/hook", method="POST").respond_with_handler(slow_failure)
    settings.ATOCORE_ALERT_WEBHOOK = own_server.url_for("/hook")
    settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT = DEADLINE

    start = time.monotonic()
    result = emit("warning", "t", "m")

    assert time.monotonic() - start < DEADLINE + 0.5
    assert result.sinks["webhook"] == "timeout"
    assert "HTTP 500" in result.errors["webhook"]  # what the first attempt got


def test_a_redirect_is_not_followed(settings, httpserver, emit):
    httpserver.expect_request("/elsewhere").respond_with_data("", status=204)
    redirect = Response("", status=302, headers={"Location": httpserver.url_for("/elsewhere")})
    _answer(settings, httpserver, redirect)

    result = emit("warning", "t", "m")

    assert result.sinks["webhook"] == "client_error"
    assert [request.path for request, _ in httpserver.log] == ["/hook"]


def test_a_refused_connection_is_a_connection_failure(settings, refused_url, emit):
    settings.ATOCORE_ALERT_WEBHOOK = refused_url
    settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT = DEADLINE

    result = emit("warning", "t", "m")

    assert result.sinks["webhook"] == "connection"
    assert _health()["failures"]["connection"] == 1
    assert result.sinks["state"] == "ok"


def test_a_hung_server_costs_at_most_the_deadline(settings, hung_server, emit):
    settings.ATOCORE_ALERT_WEBHOOK = hung_server.url()
    settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT = DEADLINE

    start = time.monotonic()
    result = emit("warning", "t", "m")
    elapsed = time.monotonic() - start

    assert result.sinks["webhook"] == "timeout"
    assert DEADLINE - 0.05 <= elapsed < DEADLINE + 0.5
    assert _health()["failures"]["timeout"] == 1


def test_a_trickling_server_costs_at_most_the_deadline(settings, trickling_server, emit):
    settings.ATOCORE_ALERT_WEBHOOK = trickling_server.url()
    settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT = DEADLINE

    start = time.monotonic()
    result = emit("warning", "t", "m")
    elapsed = time.monotonic() - start

    # Headers trickled: a timeout. An error body trickled: classified from what arrived.
    assert result.sinks["webhook"] in {"timeout", "server_error"}
    assert elapsed < DEADLINE + 0.5


def test_the_deadline_setting_is_read_at_call_time(settings, hung_server, emit):
    settings.ATOCORE_ALERT_WEBHOOK = hung_server.url()
    settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT = 0.2

    start = time.monotonic()
    emit("warning", "t", "m")

    assert time.monotonic() - start < 0.2 + 0.5


# -- storm control ------------------------------------------------------------------


def test_a_burst_of_500_identical_alerts_posts_one_request(hook, emit):
    results = [emit("critical", "db down", "cannot connect") for _ in range(500)]

    assert len(hook.log) == 1
    assert [r.sinks["webhook"] for r in results].count("suppressed") == 499
    assert AlertEvent.objects.count() == 500
    assert AlertEvent.objects.filter(sinks__webhook="suppressed").count() == 499
    assert _health()["skipped"] == {"suppressed": 499}


def test_the_next_post_after_the_cooldown_says_how_many_were_suppressed(hook, emit, settings):
    settings.ATOCORE_ALERT_COOLDOWN = 0.3
    for _ in range(3):
        emit("warning", "queue long", "m")
    time.sleep(0.35)

    emit("warning", "queue long", "m")

    assert [body["suppressed"] for body in _bodies(hook)] == [0, 2]


def test_different_alerts_are_each_posted(hook, emit):
    emit("warning", "queue long", "m")
    emit("critical", "queue long", "m")
    emit("warning", "disk full", "m")

    assert len(hook.log) == 3


def test_suppressed_alerts_are_still_logged_and_filed(hook, emit, settings):
    emit("warning", "same", "m")
    emit("warning", "same", "m")

    with open(settings.ATOCORE_ALERT_LOG) as handle:
        assert len(handle.readlines()) == 2
    assert get_project_state(project="atocore", category="alert", key="last_warning")["count"] == 2


def test_storm_control_holds_when_the_database_fails(hook, settings):
    def fail_state(execute, sql, params, many, context):
        if "memories_projectstate" in sql:
            return execute("SELECT * FROM no_such_table_for_this_test", (), False, context)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_state):
        results = [emit_alert_outside_tests_transaction("critical", "db down", "m") for _ in range(5)]

    assert len(hook.log) == 1
    assert [r.sinks["webhook"] for r in results] == ["sent"] + ["suppressed"] * 4


def emit_alert_outside_tests_transaction(*args):
    """Run the webhook now, as if no transaction were open (the test's own is one)."""
    from observability.sinks import webhook

    result = emit_alert(*args)
    if result.sinks["webhook"] == "deferred":
        config = webhook.WebhookConfig.from_settings()
        from observability.alert_record import build_record

        record = build_record(*args, None, scrub=str)
        webhook.deliver(config, record, result)
    return result


# -- never inside a transaction -----------------------------------------------------


def test_inside_a_transaction_the_post_waits_for_the_commit(hook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            result = emit_alert("warning", "t", "m")
            assert result.sinks["webhook"] == "deferred"
            assert hook.log == []

    assert len(hook.log) == 1
    assert result.sinks["webhook"] == "sent"
    assert AlertEvent.objects.get().sinks["webhook"] == "sent"


def test_nothing_is_posted_for_a_transaction_that_rolls_back(hook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            emit_alert("warning", "t", "m")
            raise RuntimeError("the caller's work failed")

    assert hook.log == []


def _recording_transaction_state(httpserver, conn):
    seen = []

    def handler(request):
        seen.append(conn.in_atomic_block)
        return Response("", status=204)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(handler)
    return seen


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_post_is_made_at_once_and_holds_no_transaction(settings, httpserver):
    seen = _recording_transaction_state(httpserver, connections["default"])
    settings.ATOCORE_ALERT_WEBHOOK = httpserver.url_for("/hook")

    result = emit_alert("warning", "t", "m")

    assert result.sinks["webhook"] == "sent"
    assert seen == [False]
    assert AlertEvent.objects.get().sinks["webhook"] == "sent"


@pytest.mark.django_db(transaction=True)
def test_after_a_real_commit_the_post_holds_no_transaction(settings, httpserver):
    seen = _recording_transaction_state(httpserver, connections["default"])
    settings.ATOCORE_ALERT_WEBHOOK = httpserver.url_for("/hook")

    with transaction.atomic():
        result = emit_alert("warning", "t", "m")
        assert seen == []

    assert seen == [False]
    assert result.sinks["webhook"] == "sent"


def test_called_from_inside_an_event_loop_the_alert_is_still_posted(hook):
    async def caller():
        return emit_alert("warning", "from async code", "m")

    result = asyncio.run(caller())

    assert result.sinks["webhook"] == "sent"
    assert len(hook.log) == 1


# -- the URL is a credential --------------------------------------------------------


@pytest.mark.parametrize("shape", ["discord", "generic"])
def test_the_webhook_token_is_written_nowhere(shape, settings, httpserver, emit, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the test server's own access log
    path = f"/api/webhooks/123456/{TOKEN}" if shape == "discord" else f"/hooks/{TOKEN}"
    url = httpserver.url_for(path) + ("" if shape == "discord" else f"?key={TOKEN[::-1]}")
    httpserver.expect_request(path, method="POST").respond_with_data(f"unknown webhook {url}", status=404)
    settings.ATOCORE_ALERT_WEBHOOK = url
    settings.ATOCORE_ALERT_WEBHOOK_FORMAT = "discord" if shape == "discord" else "auto"
    settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT = DEADLINE

    results = [
        emit("critical", f"hook {url} failed", f"see {url}", {"url": url, "nested": [url, {"t": TOKEN}]}),
        emit("critical", "again", "m"),
    ]
    structlog_out, stderr = capfd.readouterr()

    written = [
        caplog.text,
        structlog_out,
        stderr,
        open(settings.ATOCORE_ALERT_LOG).read(),
        json.dumps(list(ProjectState.objects.values("key", "value"))),
        json.dumps(list(AlertEvent.objects.values("title", "message", "context", "sinks", "sink_errors"))),
        repr(results),
    ]
    for text in written:
        assert TOKEN not in text
        assert TOKEN[::-1] not in text
    assert results[0].sinks["webhook"] == "client_error"
    if shape == "discord":
        assert "/api/webhooks/123456/****" in results[0].errors["webhook"]
        assert "/api/webhooks/123456/****" in _health()["last_error"]["detail"]


def test_after_a_failed_send_posts_back_off_and_then_report_what_was_held(settings, httpserver, emit):
    _answer(settings, httpserver, Response("oops", status=500), Response("oops", status=500))
    settings.ATOCORE_ALERT_COOLDOWN = 0.3  # the backoff is 30 s, or the cooldown if shorter

    failed = emit("critical", "db down", "m")
    held = emit("warning", "another alert", "m")
    time.sleep(0.35)
    retried = emit("critical", "db down", "m")

    assert [failed.sinks["webhook"], held.sinks["webhook"], retried.sinks["webhook"]] == [
        "server_error",
        "backoff",
        "sent",
    ]
    assert len(httpserver.log) == 3  # two for the failure (one retry), one for the recovery
    assert _bodies(httpserver)[-1]["suppressed"] == 1
    assert _health()["skipped"] == {"backoff": 1}


def test_a_dead_hook_costs_one_deadline_per_backoff_not_per_alert(settings, hung_server, emit):
    settings.ATOCORE_ALERT_WEBHOOK = hung_server.url()
    settings.ATOCORE_ALERT_WEBHOOK_TIMEOUT = DEADLINE

    start = time.monotonic()
    results = [emit("critical", f"alert {n}", "m") for n in range(5)]

    assert time.monotonic() - start < DEADLINE + 1.0
    assert [r.sinks["webhook"] for r in results] == ["timeout"] + ["backoff"] * 4
    assert hung_server.connections == 1


def test_a_url_that_is_not_http_is_a_client_error_not_an_exception(settings, emit):
    settings.ATOCORE_ALERT_WEBHOOK = "ftp://alerts.example/hook"

    result = emit("warning", "t", "m")

    assert result.sinks["webhook"] == "client_error"
    assert result.sinks["state"] == "ok"


@pytest.mark.parametrize(
    ("fmt", "url", "discord"),
    [
        ("auto", f"https://discord.com/api/webhooks/1/{TOKEN}", True),
        ("auto", "https://alerts.example/hook", False),
        ("generic", f"https://discord.com/api/webhooks/1/{TOKEN}", False),
        ("discord", "https://proxy.example/api/webhooks/1/x", True),
        ("nonsense", "https://alerts.example/hook", False),
    ],
)
def test_the_format_follows_the_url_unless_the_setting_overrides_it(fmt, url, discord, settings):
    from observability.sinks.webhook import WebhookConfig

    settings.ATOCORE_ALERT_WEBHOOK = url
    settings.ATOCORE_ALERT_WEBHOOK_FORMAT = fmt

    assert WebhookConfig.from_settings().discord is discord


def test_the_generic_body_keeps_the_original_severity(hook, emit):
    emit("urgent", "t", "m")

    (body,) = _bodies(hook)
    assert (body["severity"], body["original_severity"]) == ("info", "urgent")
