"""emit_alert(): one call fans an alert out to every sink, each fail-open.

Sinks, in order (observability/sinks/): structlog, the alert log file, project state
with the AlertEvent history, the webhook. One failing never stops the next, and
emit_alert never raises (KeyboardInterrupt and SystemExit pass). Every ATOCORE_*
setting is read at call time.
"""

import structlog

from observability import redaction, sink_health
from observability.alert_record import (
    FAILURE,
    SEVERITIES,
    AlertRecord,
    AlertResult,
    SinkOutcome,
    build_record,
    normalize_severity,
)
from observability.jsonsafe import safe_text
from observability.sinks import log_file, state, webhook
from observability.sinks import structlog as structlog_sink
from observability.state_rows import SYSTEM_PROJECT

__all__ = ["SEVERITIES", "SYSTEM_PROJECT", "AlertResult", "emit_alert", "normalize_severity"]

logger = structlog.get_logger(__name__)
# Their health is recorded here in one write; the webhook records its own, with its gate.
LOCAL_SINKS = (structlog_sink, log_file, state)


def emit_alert(severity, title, message, context=None) -> AlertResult:
    """Send an alert to every sink and say what each did; never raises."""
    try:
        return _emit(severity, title, message, context)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - alerting must never break its caller
        _quietly(logger.error, "alert_emit_failed", error=type(exc).__name__)
        return AlertResult(
            severity=normalize_severity(severity), title="", errors={"emit": type(exc).__name__}
        )


def _emit(severity, title, message, context) -> AlertResult:
    scrub = redaction.current()
    record = build_record(severity, title, message, context, scrub=scrub)
    result = AlertResult(
        severity=record.severity, title=record.title, alert_id=record.alert_id, dedup_key=record.dedup_key
    )
    outcomes = {sink.NAME: _run(sink, record, result, scrub) for sink in LOCAL_SINKS}
    try:
        sink_health.record(outcomes)
    except Exception as exc:  # noqa: BLE001
        _quietly(logger.warning, "alert_health_write_failed", error=scrub(safe_text(exc, limit=300)))
    _run(webhook, record, result, scrub)
    return result


def _run(sink, record: AlertRecord, result: AlertResult, scrub) -> SinkOutcome:
    try:
        outcome = sink.send(record, result)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - one sink failing never stops the next
        detail = scrub(f"{type(exc).__name__}: {safe_text(exc, limit=500)}")
        outcome = SinkOutcome.failed("error", detail, status="failed")
    # A deferred webhook may already have finished (and written its outcome) on commit.
    result.sinks.setdefault(sink.NAME, outcome.status)
    if outcome.kind == FAILURE and sink is not webhook:  # the webhook reports its own
        result.errors[sink.NAME] = outcome.detail
        _quietly(
            logger.warning, "alert_sink_failed", sink=sink.NAME, reason=outcome.reason, error=outcome.detail
        )
    return outcome


def _quietly(log, event: str, **fields) -> None:
    """Log, unless logging itself is what is broken."""
    try:
        log(event, **fields)
    except Exception:  # noqa: BLE001, S110
        pass
