"""Sink 3: project state ``atocore/alert/last_{severity}`` and an AlertEvent history row.

Both in one transaction: a savepoint inside a caller's transaction, so that a failure
here rolls back only this sink and leaves the caller's transaction usable.
"""

from django.db import transaction

from observability.alert_record import STATE_KEYS, AlertRecord, AlertResult, SinkOutcome
from observability.sinks import webhook
from observability.state_rows import update_rows

NAME = "state"
CATEGORY = "alert"


def send(record: AlertRecord, result: AlertResult) -> SinkOutcome:
    from observability.models import AlertEvent

    sinks = {
        **result.sinks,
        NAME: "ok",
        webhook.NAME: "pending" if webhook.configured_url() else "not_configured",
    }
    with transaction.atomic():
        event = AlertEvent.objects.create(
            alert_id=record.alert_id,
            severity=record.severity,
            original_severity=record.original_severity or "",
            title=record.title,
            message=record.message,
            context=record.context,
            dedup_key=record.dedup_key,
            sinks=sinks,
            sink_errors=dict(result.errors),
        )
        key = (CATEGORY, STATE_KEYS[record.severity])
        update_rows([key], lambda current: {key: last_alert_value(current[key], record)})
    result.event_id = event.pk
    return SinkOutcome("ok")


def last_alert_value(previous, record: AlertRecord) -> dict:
    """The state value: this alert, how often it has repeated in a row, and the running total."""
    previous = previous if isinstance(previous, dict) else {}
    repeat = previous.get("dedup_key") == record.dedup_key and isinstance(previous.get("count"), int)
    total = previous.get("total") if isinstance(previous.get("total"), int) else 0
    value = {
        "title": record.title,
        "message": record.message,
        "context": record.context,
        "time": record.timestamp,
        "count": previous["count"] + 1 if repeat else 1,
        "total": total + 1,
        "severity": record.severity,
        "dedup_key": record.dedup_key,
        "alert_id": record.alert_id,
    }
    if record.original_severity is not None:
        value["original_severity"] = record.original_severity
    return value
