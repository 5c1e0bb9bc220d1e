"""Pipeline health for cron: the extraction harness pass rate and the candidate queue.

A pass rate under ATOCORE_HARNESS_MIN_PASS_RATE and a candidate queue over
ATOCORE_CANDIDATE_QUEUE_MAX are warnings, one alert each. The pass rate is read from
project state ``atocore/status/harness_result`` ({"passed": n, "total": n, ...});
without it, that part is skipped with a note.
"""

from typing import Any

from django.conf import settings

from observability import harness as harness_store
from observability.alerts import emit_alert

OK, WARNING, SKIPPED = "ok", "warning", "skipped"


def harness_status(result: Any, *, threshold: float) -> dict:
    """The harness part of the report, from the stored harness result (or None)."""
    base = {"threshold": threshold}
    if result is None:
        return {
            **base,
            "status": SKIPPED,
            "note": f"no {harness_store.SYSTEM_PROJECT}/{harness_store.CATEGORY}/{harness_store.KEY} yet",
        }
    try:
        passed, total = int(result["passed"]), int(result["total"])
    except (TypeError, KeyError, ValueError):
        return {**base, "status": WARNING, "note": f"unreadable harness result: {str(result)[:200]}"}
    if total <= 0:
        return {
            **base,
            "status": SKIPPED,
            "note": "the harness ran no cases",
            "passed": passed,
            "total": total,
        }
    rate = passed / total
    status = WARNING if rate < threshold else OK
    return {**base, "status": status, "passed": passed, "total": total, "pass_rate": round(rate, 4)}


def queue_status(size: int, *, limit: int) -> dict:
    return {"status": WARNING if size > limit else OK, "size": size, "max": limit}


def run_pipeline_alerts() -> dict:
    """Check the pipeline, emit one warning per problem, return the report."""
    from memories.selectors import candidate_queue_size

    harness = harness_status(
        harness_store.latest_harness_result(), threshold=settings.ATOCORE_HARNESS_MIN_PASS_RATE
    )
    queue = queue_status(candidate_queue_size(), limit=settings.ATOCORE_CANDIDATE_QUEUE_MAX)
    alerts = 0
    if harness["status"] == WARNING:
        alerts += 1
        if "pass_rate" in harness:
            title = f"Harness pass rate {harness['pass_rate']:.0%} is under {harness['threshold']:.0%}"
            message = f"{harness['passed']} of {harness['total']} harness cases passed"
        else:
            title, message = "Harness result unreadable", harness["note"]
        emit_alert("warning", title, message, {"harness": harness})
    if queue["status"] == WARNING:
        alerts += 1
        emit_alert(
            "warning",
            f"Candidate queue holds {queue['size']} memories (max {queue['max']})",
            "Triage is falling behind: review or reject candidates in the admin.",
            {"candidate_queue": queue},
        )
    return {"harness": harness, "candidate_queue": queue, "alerts": alerts}
