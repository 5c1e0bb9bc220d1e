"""emit_alert(): one call fans an alert out to every sink, each fail-open.

First version (issue 2): structlog, the alert log file, project state and the
AlertEvent history. The webhook sink and the per-sink health come with issue 3.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = structlog.get_logger(__name__)

SEVERITIES = ("info", "warning", "critical")
SYSTEM_PROJECT = "atocore"


@dataclass
class AlertResult:
    severity: str
    title: str
    sinks: dict[str, str] = field(default_factory=dict)


def normalize_severity(severity: Any) -> str:
    """info, warning or critical; anything else is info."""
    value = severity.strip().lower() if isinstance(severity, str) else ""
    return value if value in SEVERITIES else "info"


def emit_alert(severity: Any, title: str, message: str, context: dict | None = None) -> AlertResult:
    """Send an alert to every sink; never raises."""
    level = normalize_severity(severity)
    result = AlertResult(severity=level, title=str(title))
    record = {
        "timestamp": timezone.now().isoformat(timespec="microseconds"),
        "severity": level,
        "title": str(title),
        "message": str(message),
        "context": context or {},
    }
    if level != severity:
        record["original_severity"] = repr(severity) if not isinstance(severity, str) else severity
    for name, sink in (("structlog", _to_structlog), ("log_file", _to_log_file), ("state", _to_state)):
        try:
            sink(record)
            result.sinks[name] = "ok"
        except Exception as exc:  # one sink failing never stops the next
            result.sinks[name] = f"error: {type(exc).__name__}"
            logger.warning("alert_sink_failed", sink=name, error=f"{type(exc).__name__}: {exc}")
    return result


def _to_structlog(record: dict) -> None:
    log = getattr(logger, record["severity"] if record["severity"] != "critical" else "critical")
    log("alert", title=record["title"], alert_message=record["message"], alert_context=record["context"])


def _to_log_file(record: dict) -> None:
    path = Path(settings.ATOCORE_ALERT_LOG).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({**record, "severity": record["severity"].upper()}, ensure_ascii=False, default=str)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _to_state(record: dict) -> None:
    from memories.services import set_project_state
    from observability.models import AlertEvent

    with transaction.atomic():
        AlertEvent.objects.create(
            severity=record["severity"],
            title=record["title"][:300],
            message=record["message"],
            context=json.loads(json.dumps(record["context"], default=str)),
        )
        set_project_state(
            project=SYSTEM_PROJECT,
            category="alert",
            key=f"last_{record['severity']}",
            value=json.loads(json.dumps(record, default=str)),
        )
