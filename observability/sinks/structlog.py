"""Sink 1: structlog, always. The level is the normalised severity; the whole alert sits
under the one key ``alert``, so the caller's context cannot clash with ``event``,
``level`` or ``timestamp``, and nothing is bound for later lines."""

import structlog

from observability.alert_record import AlertRecord, AlertResult, SinkOutcome

NAME = "structlog"
logger = structlog.get_logger("observability.alerts")


def send(record: AlertRecord, result: AlertResult) -> SinkOutcome:
    log = {"info": logger.info, "warning": logger.warning, "critical": logger.critical}[record.severity]
    log("alert", alert=record.as_dict())
    return SinkOutcome("ok")
