"""The operations dashboard as data: one selector, a fixed small number of queries.

``dashboard_data()`` reads what the integrity scan, the alerts framework and the
retrieval harness leave in project state (``atocore/status/*``, ``atocore/alert/*``) and
in their history tables. Their JSON evolves, so every read is tolerant: a missing key,
a result from an older scan or one that never ran all give a well-formed answer. It
never runs a scan. The result is plain JSON (str, int, float, bool, None, list, dict),
for the admin index and the REST API alike.

Queries: project state (1), the last integrity runs (1), the last mutations (1), the
candidate queue (1, counted up to a cap), today's mutations (1); plus, once a day per process, one
aggregate over the closed days of the trend window, which are then cached (audit rows
are append-only, so a closed day's counts never change).
"""

import datetime
import math
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from observability.changes import preview, short
from observability.models import MemoryAudit
from observability.url_redaction import redact

SYSTEM_PROJECT = "atocore"
SEVERITIES = ("info", "warning", "critical")
# status: the scan's and the harness's results; alert: last alert per severity;
# alert_health: per-sink delivery health (the webhook's last error, pauses).
STATE_CATEGORIES = ("status", "alert", "alert_health")
INTEGRITY_STALE_AFTER = datetime.timedelta(hours=26)
HARNESS_STALE_AFTER = datetime.timedelta(hours=48)
# The queue is counted up to max(QUEUE_COUNT_CAP, QUEUE_CAP_FACTOR x its threshold): far
# enough past the threshold to say how bad it is, never a count of a million rows.
QUEUE_COUNT_CAP = 1_000
QUEUE_CAP_FACTOR = 5
TREND_RUNS = 30
TREND_DAYS = 30
RECENT_MUTATIONS = 10
MAX_SAMPLES = 20
# A day counts as closed (cacheable) this long after its end: late commits land first.
CLOSED_DAY_GRACE = datetime.timedelta(minutes=15)
# Checks whose samples are not memory ids, and the admin list they belong to.
_SAMPLE_TARGETS = {"project_state_missing_project": "projectstate", "orphan_source_chunks": "sourcechunk"}
_TIME_KEYS = ("finished_at", "ended_at", "completed_at", "ran_at", "generated_at", "timestamp", "time")
_META_KEYS = frozenset(
    {"schema_version", "version", "run_id", "started_at", "new", "resolved", "persisting", "total_findings"}
    | {"errors", "error", "status", "summary", "trend", "trends", "duration_ms", "fingerprints", "checks"}
    | set(_TIME_KEYS)
)


def dashboard_data(*, now: datetime.datetime | None = None) -> dict[str, Any]:
    """Everything the dashboard shows, as JSON-ready data."""
    now = now or timezone.now()
    state = _system_state()
    runs = _recent_integrity_runs()
    return {
        "generated_at": _iso(now),
        "integrity": _integrity(state.get(("status", "integrity_check_result")), runs, now),
        "alerts": {
            severity: _last_alert(state.get(("alert", f"last_{severity}"))) for severity in SEVERITIES
        },
        "webhook": _webhook_health(state, now),
        "recent_mutations": [_mutation(row) for row in _recent_mutations()],
        "queue": _queue(state.get(("status", "harness_result")), now),
        "trends": {
            "findings_per_check": _findings_trend(runs),
            "mutations_per_day": _mutations_trend(now),
        },
    }


# -- reads (one query each) -----------------------------------------------------------


def _system_state() -> dict[tuple[str, str], dict[str, Any]]:
    model = apps.get_model("memories", "ProjectState")
    rows = model.objects.filter(project=SYSTEM_PROJECT, category__in=STATE_CATEGORIES).values(
        "category", "key", "value", "updated_at"
    )
    return {(row["category"], row["key"]): row for row in rows}


def _recent_integrity_runs() -> list[dict[str, Any]]:
    """The last runs, newest first; none when the integrity app is not installed."""
    try:
        model = apps.get_model("integrity", "IntegrityRun")
    except LookupError:
        return []
    fields = ("id", "started_at", "finished_at", "total_findings", "errors", "result")
    finished = model.objects.filter(finished_at__isnull=False)  # a run still going has no result yet
    return list(finished.order_by("-started_at", "-id").values(*fields)[:TREND_RUNS])


def _recent_mutations() -> list[MemoryAudit]:
    from observability.selectors import recent_audit

    return list(recent_audit(RECENT_MUTATIONS))


def _candidate_count(cap: int) -> int:
    """Candidates waiting, counted up to ``cap``: the cost stays bounded however long the queue."""
    model = apps.get_model("memories", "Memory")
    return model.objects.filter(status="candidate").values("pk")[:cap].count()


# -- tolerant parsing ---------------------------------------------------------------------


def _iso(value: datetime.datetime | None) -> str | None:
    return value.astimezone(datetime.UTC).isoformat(timespec="seconds") if value else None


def parse_time(value: Any) -> datetime.datetime | None:
    """An aware datetime from a datetime, an ISO 8601 string or epoch seconds; else None."""
    if isinstance(value, datetime.datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value, datetime.UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        try:
            return parse_time(datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_count(value: Any) -> int | None:
    """A count from an int, a list of fingerprints, or a mapping of per-check counts."""
    if isinstance(value, list | tuple):
        return len(value)
    if isinstance(value, Mapping):
        if "count" in value:
            return _as_int(value["count"])
        parts = [_as_count(v) for v in value.values()]
        return sum(p for p in parts if p is not None) if parts else 0
    return _as_int(value)


def _first_time(mapping: Mapping, keys: Iterable[str]) -> datetime.datetime | None:
    for key in keys:
        found = parse_time(mapping.get(key))
        if found is not None:
            return found
    return None


# -- integrity ----------------------------------------------------------------------------


def _checks_of(result: Any) -> list[tuple[str, dict[str, Any]]]:
    """(name, raw check) pairs from any version of the scan's result."""
    if not isinstance(result, Mapping):
        return []
    checks = result.get("checks")
    if isinstance(checks, Mapping):
        pairs = list(checks.items())
    elif isinstance(checks, list):
        pairs = [
            (str(item.get("name") or item.get("check") or f"check {i + 1}"), item)
            for i, item in enumerate(checks)
            if isinstance(item, Mapping)
        ]
    else:  # the oldest shape: checks at the top level
        pairs = [
            (key, value)
            for key, value in result.items()
            if key not in _META_KEYS and (isinstance(value, Mapping) or _as_int(value) is not None)
        ]
    return [(str(name), raw if isinstance(raw, Mapping) else {"count": raw}) for name, raw in pairs]


def _sample_ids(samples: Any) -> list[str]:
    flat: list[str] = []
    for item in samples if isinstance(samples, list | tuple) else []:
        if isinstance(item, Mapping):
            item = item.get("id", item.get("ids", item.get("member_ids", item.get("keep"))))
        for value in item if isinstance(item, list | tuple) else [item]:
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value) not in flat:
                flat.append(str(value))
    return flat[:MAX_SAMPLES]


def _sample_target(name: str, samples: list[str]) -> str | None:
    if name in _SAMPLE_TARGETS:
        return _SAMPLE_TARGETS[name]
    try:
        [uuid.UUID(sample) for sample in samples]
    except ValueError:
        return None
    return "memory"


def _check(name: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    count = _as_int(raw.get("count", raw.get("findings"))) or 0
    error = raw.get("error")
    status = str(raw.get("status") or "").strip().lower()
    if status not in {"ok", "findings", "error"}:
        status = "error" if error else ("findings" if count else "ok")
    samples = _sample_ids(raw.get("samples", raw.get("sample_ids", raw.get("ids"))))
    trend = raw.get("trend") if isinstance(raw.get("trend"), Mapping) else {}
    duration = _as_int(raw.get("duration_ms"))
    if duration is None and isinstance(raw.get("duration_s"), int | float):
        duration = round(raw["duration_s"] * 1000)
    return {
        "name": name,
        "status": status,
        "count": count,
        "samples": samples,
        "sample_target": _sample_target(name, samples),
        "new": _as_count(raw.get("new", trend.get("new"))),
        "resolved": _as_count(raw.get("resolved", trend.get("resolved"))),
        "duration_ms": duration,
        "error": short(redact(error)) if error else None,
    }


def _trend_count(result: Mapping, key: str, checks: list[dict[str, Any]]) -> int | None:
    for holder in (result, result.get("trend"), result.get("trends"), result.get("summary")):
        if isinstance(holder, Mapping) and key in holder:
            return _as_count(holder[key])
    per_check = [c[key] for c in checks if c[key] is not None]
    return sum(per_check) if per_check else None


def _integrity(state_row, runs: list[dict[str, Any]], now: datetime.datetime) -> dict[str, Any]:
    if state_row is not None:
        result, source, fallback = state_row["value"], "state", state_row["updated_at"]
    elif runs:
        result, source = runs[0]["result"], "history"
        fallback = runs[0]["finished_at"] or runs[0]["started_at"]
    else:
        result, source, fallback = None, None, None
    readable = isinstance(result, Mapping)
    result = result if readable else {}
    checks = [_check(name, raw) for name, raw in _checks_of(result)]
    finished = _first_time(result, _TIME_KEYS) or parse_time(fallback)
    started = parse_time(result.get("started_at"))
    age = (now - finished).total_seconds() if finished else None
    total = _as_int(result.get("total_findings"))
    return {
        "ran": source is not None,
        "readable": readable or source is None,
        "source": source,
        "schema_version": _as_int(result.get("schema_version", result.get("version"))),
        "run_id": short(result.get("run_id")) if result.get("run_id") is not None else None,
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "age_seconds": round(age) if age is not None else None,
        "stale": finished is None or now - finished > INTEGRITY_STALE_AFTER,
        "stale_after_hours": int(INTEGRITY_STALE_AFTER.total_seconds() // 3600),
        "total_findings": total if total is not None else sum(c["count"] for c in checks),
        "errors": sum(1 for c in checks if c["status"] == "error"),
        "new": _trend_count(result, "new", checks),
        "resolved": _trend_count(result, "resolved", checks),
        "checks": checks,
    }


def _findings_trend(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per check, its count in each of the last runs, oldest first (None where it was absent)."""
    ordered = list(reversed(runs))
    per_run = [{name: _as_int(raw.get("count")) for name, raw in _checks_of(r["result"])} for r in ordered]
    names: list[str] = []
    for counts in per_run:
        names.extend(name for name in counts if name not in names)
    return {
        "runs": [
            {"id": r["id"], "at": _iso(r["finished_at"] or r["started_at"]), "total": r["total_findings"]}
            for r in ordered
        ],
        "series": {name: [counts.get(name) for counts in per_run] for name in names},
    }


# -- alerts -------------------------------------------------------------------------------


def _last_alert(row) -> dict[str, Any] | None:
    value = row["value"] if row is not None else None
    if not isinstance(value, Mapping):
        return None
    when = _first_time(value, ("time", "timestamp", "at", "created_at", "last_at")) or parse_time(
        row["updated_at"]
    )
    context = value.get("context")
    return {
        "title": short(redact(value.get("title") or "(untitled)")),
        "message": short(redact(value.get("message") or ""), 1000),
        "time": _iso(when),
        "count": _as_int(value.get("count")),
        "context": {str(k): short(redact(v)) for k, v in context.items()}
        if isinstance(context, Mapping)
        else {},
    }


def _find_webhook_health(state) -> Mapping | None:
    for (_category, key), row in sorted(state.items()):
        value = row["value"]
        if not isinstance(value, Mapping) or key.startswith("last_"):
            continue
        for holder in (value, value.get("sinks")):
            if isinstance(holder, Mapping) and isinstance(holder.get("webhook"), Mapping):
                return holder["webhook"]
        if "webhook" in key.lower():
            return value
    return None


def _webhook_health(state, now: datetime.datetime) -> dict[str, Any]:
    health = _find_webhook_health(state) or {}
    error = health.get("last_error")
    error_at = _first_time(health, ("last_error_at", "last_error_time", "last_failure_at"))
    if isinstance(error, Mapping):
        error_at = error_at or _first_time(error, ("time", "at", "timestamp"))
        reason, detail = error.get("reason"), error.get("message", error.get("error", error.get("detail")))
        error = ": ".join(str(part) for part in (reason, detail) if part)
    success = health.get("last_success", health.get("last_success_at"))
    if isinstance(success, Mapping):
        success = success.get("time", success.get("at"))
    failures = health.get("failures")
    disabled = health.get("disabled")
    pauses = [parse_time(health.get(key)) for key in ("rate_limited_until", "backoff_until")]
    paused_until = max((p for p in pauses if p is not None and p > now), default=None)
    return {
        "configured": bool(getattr(settings, "ATOCORE_ALERT_WEBHOOK", "")),
        "last_error": short(redact(error), 500) if error else None,
        "last_error_at": _iso(error_at),
        "last_success_at": _iso(parse_time(success)),
        "attempts": _as_int(health.get("attempts")),
        "failures": {str(k): _as_int(v) for k, v in failures.items()}
        if isinstance(failures, Mapping)
        else {},
        "disabled": bool(disabled),
        "disabled_since": _iso(_first_time(disabled, ("since", "at")))
        if isinstance(disabled, Mapping)
        else None,
        "paused_until": _iso(paused_until),
    }


def _mutation(row: MemoryAudit) -> dict[str, Any]:
    return {
        "id": row.pk,
        "timestamp": _iso(row.timestamp),
        "memory_id": str(row.memory_id),
        "action": row.action,
        "actor": row.actor,
        "user": row.user,
        "note": short(row.note),
        "preview": preview(row.before, row.after),
    }


def _day_cache_key(day: datetime.date) -> str:
    return f"atocore:dashboard:audit-day:v1:{connection.settings_dict.get('NAME')}:{day.isoformat()}"


def _counts_by_day(since: datetime.datetime, until: datetime.datetime | None) -> dict[str, dict[str, int]]:
    rows = MemoryAudit.objects.filter(timestamp__gte=since)
    if until is not None:
        rows = rows.filter(timestamp__lt=until)
    grouped = (
        rows.annotate(day=TruncDate("timestamp", tzinfo=datetime.UTC))
        .values("day", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[str, dict[str, int]] = {}
    for row in grouped:
        counts.setdefault(row["day"].isoformat(), {})[row["action"]] = row["n"]
    return counts


def _midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=datetime.UTC)


def _mutations_trend(now: datetime.datetime) -> dict[str, Any]:
    """Mutations per UTC day and action over the last days; closed days come from the cache."""
    today = now.astimezone(datetime.UTC).date()
    days = [today - datetime.timedelta(days=offset) for offset in range(TREND_DAYS - 1, -1, -1)]
    live_from = (now - CLOSED_DAY_GRACE).astimezone(datetime.UTC).date()
    closed = [day for day in days if day < live_from]
    keys = {day: _day_cache_key(day) for day in closed}
    cached = cache.get_many(keys.values())
    missing = [day for day in closed if keys[day] not in cached]
    counts = {day.isoformat(): cached[keys[day]] for day in closed if keys[day] in cached}
    if missing:
        fresh = _counts_by_day(_midnight(missing[0]), _midnight(live_from))
        computed = {day: fresh.get(day.isoformat(), {}) for day in closed if day >= missing[0]}
        cache.set_many(
            {keys[day]: value for day, value in computed.items()}, timeout=(TREND_DAYS + 2) * 86400
        )
        counts.update({day.isoformat(): value for day, value in computed.items()})
    counts.update(_counts_by_day(_midnight(live_from), None))
    actions = sorted({action for per_day in counts.values() for action in per_day})
    labels = [day.isoformat() for day in days]
    return {
        "days": labels,
        "series": {action: [counts.get(label, {}).get(action, 0) for label in labels] for action in actions},
    }


# -- queue --------------------------------------------------------------------------------


def _harness(row, now: datetime.datetime) -> dict[str, Any]:
    minimum = float(settings.ATOCORE_HARNESS_MIN_PASS_RATE)
    value = row["value"] if row is not None else None
    if not isinstance(value, Mapping):
        return {"ran": False, "pass_rate": None, "min_pass_rate": minimum, "below": None, "stale": True}
    passed, total = _as_int(value.get("passed")), _as_int(value.get("total"))
    rate = value.get("pass_rate", value.get("rate"))
    rate = float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) else None
    if rate is None and passed is not None and total:
        rate = passed / total
    if rate is not None and 1 < rate <= 100:  # an older writer stored a percentage
        rate /= 100
    when = _first_time(value, ("recorded_at", "time", "timestamp", "ran_at", "at")) or parse_time(
        row["updated_at"]
    )
    return {
        "ran": True,
        "pass_rate": round(rate, 4) if rate is not None else None,
        "passed": passed,
        "total": total,
        "recorded_at": _iso(when),
        "min_pass_rate": minimum,
        "below": rate < minimum if rate is not None else None,
        "stale": when is None or now - when > HARNESS_STALE_AFTER,
    }


def _queue(harness_row, now: datetime.datetime) -> dict[str, Any]:
    maximum = int(settings.ATOCORE_CANDIDATE_QUEUE_MAX)
    cap = max(QUEUE_COUNT_CAP, QUEUE_CAP_FACTOR * maximum)
    candidates = _candidate_count(cap)
    return {
        "candidates": candidates,
        "candidates_capped": candidates >= cap,  # "at least this many"
        "candidates_max": maximum,
        "candidates_over": candidates > maximum,
        "harness": _harness(harness_row, now),
    }
