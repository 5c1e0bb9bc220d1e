"""One alert, normalised once: what every sink receives, and what emit_alert returns."""

import datetime
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from observability.jsonsafe import Scrub, cap, safe_repr, safe_text, to_jsonable, truncate

SEVERITIES = ("info", "warning", "critical")
# State keys come from this table only, never from the caller's text.
STATE_KEYS = {severity: f"last_{severity}" for severity in SEVERITIES}
TITLE_MAX = 300
MESSAGE_MAX = 20_000
CONTEXT_MAX_CHARS = 32_000
DEDUP_KEY_MAX = 255
DEDUP_CONTEXT_KEY = "dedup_key"


def normalize_severity(severity: Any) -> str:
    """info, warning or critical (case and surrounding white space ignored); anything else is info."""
    if isinstance(severity, str):
        value = str.lower(str.strip(severity))
        if value in SEVERITIES:
            return value
    return "info"


@dataclass(frozen=True)
class AlertRecord:
    alert_id: str
    timestamp: str
    severity: str
    title: str
    message: str
    context: dict
    dedup_key: str
    original_severity: str | None = None

    def as_dict(self) -> dict:
        data = {
            "alert_id": self.alert_id,
            "timestamp": self.timestamp,
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "context": self.context,
            "dedup_key": self.dedup_key,
        }
        if self.original_severity is not None:
            data["original_severity"] = self.original_severity
        return data


@dataclass
class AlertResult:
    """Each sink's outcome. A deferred webhook updates ``sinks`` in place after the commit."""

    severity: str
    title: str
    alert_id: str = ""
    dedup_key: str = ""
    event_id: int | None = None
    sinks: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def build_record(severity: Any, title: Any, message: Any, context: Any, *, scrub: Scrub) -> AlertRecord:
    """The normalised alert: strict-JSON context, scrubbed and capped text, a dedup key."""
    level = normalize_severity(severity)
    original = None
    if not (isinstance(severity, str) and str.lower(str.strip(severity)) in SEVERITIES):
        if isinstance(severity, str):
            original = safe_text(severity, limit=100, scrub=scrub)
        else:
            original = safe_repr(severity, limit=100, scrub=scrub)
    clean_title = safe_text(title, limit=TITLE_MAX, scrub=scrub)
    data = to_jsonable(
        context if isinstance(context, Mapping) or context is None else {"value": context}, scrub=scrub
    )
    data = cap(
        data if isinstance(data, dict) else {} if data is None else {"value": data},
        max_chars=CONTEXT_MAX_CHARS,
    )
    return AlertRecord(
        alert_id=str(uuid.uuid4()),
        timestamp=datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds"),
        severity=level,
        title=clean_title,
        message=safe_text(message, limit=MESSAGE_MAX, scrub=scrub),
        context=data,
        dedup_key=_dedup_key(level, clean_title, data),
        original_severity=original,
    )


def _dedup_key(level: str, title: str, context: dict) -> str:
    """severity + title, unless the caller names its own key in ``context["dedup_key"]``."""
    custom = context.get(DEDUP_CONTEXT_KEY)
    base = custom if isinstance(custom, str) and custom.strip() else title
    return truncate(f"{level}:{base}", DEDUP_KEY_MAX)


SUCCESS, FAILURE, SKIPPED, NOT_ATTEMPTED = "success", "failure", "skipped", "not_attempted"


@dataclass(frozen=True)
class SinkOutcome:
    """What one sink did with one alert; ``status`` is what AlertResult.sinks shows."""

    status: str
    kind: str = SUCCESS
    reason: str | None = None
    detail: str = ""

    @classmethod
    def failed(cls, reason: str, detail: str = "", *, status: str | None = None) -> "SinkOutcome":
        return cls(status=status or reason, kind=FAILURE, reason=reason, detail=detail)

    @classmethod
    def skipped(cls, status: str, detail: str = "") -> "SinkOutcome":
        return cls(status=status, kind=SKIPPED, detail=detail)
