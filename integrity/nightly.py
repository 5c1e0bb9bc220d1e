"""The nightly pipeline: expiry, auto-promotion, the integrity scan, pipeline alerts.

Each step is the management command cron would run, called with ``--json``; a step
that fails is reported and the next one still runs. Integrity findings (exit 1) are
the scan doing its job, not a failure of the night.
"""

import json
import time
from dataclasses import dataclass
from io import StringIO

import structlog
from django.core.management import call_command
from django.core.management.base import CommandError

from integrity.runner import EXIT_FINDINGS

logger = structlog.get_logger(__name__)

STEPS = ("expire_stale_candidates", "auto_promote", "integrity_check", "pipeline_alerts")
# Exit codes of a step that still count as success.
SUCCESS_CODES = {"integrity_check": {0, EXIT_FINDINGS}}


@dataclass
class StepOutcome:
    name: str
    ok: bool
    exit_code: int
    summary: str
    output: dict | None
    duration_ms: float

    def as_dict(self) -> dict:
        return {
            "step": self.name,
            "ok": self.ok,
            "exit_code": self.exit_code,
            "summary": self.summary,
            "output": self.output,
            "duration_ms": self.duration_ms,
        }


def run_nightly(steps: tuple[str, ...] = STEPS) -> list[StepOutcome]:
    """Run every step in order, whatever happened to the ones before."""
    return [_run_step(name) for name in steps]


def _run_step(name: str) -> StepOutcome:
    started = time.perf_counter()
    buffer = StringIO()
    code, error = 0, ""
    try:
        call_command(name, json=True, stdout=buffer)
    except CommandError as exc:
        code, error = exc.returncode, str(exc)
    except Exception as exc:  # a broken step must not stop the night
        code, error = 1, f"{type(exc).__name__}: {exc}"
        logger.exception("nightly_step_crashed", step=name)
    duration = round((time.perf_counter() - started) * 1000, 3)
    output = _parse(buffer.getvalue())
    ok = code in SUCCESS_CODES.get(name, {0})
    summary = _summarise(name, output) if output is not None else error or "no output"
    if not ok and error:
        summary = f"{summary}; {error}" if output is not None else error
    return StepOutcome(name, ok, code, summary, output, duration)


def _parse(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _summarise(name: str, output: dict) -> str:
    if name == "expire_stale_candidates":
        return f"expired {output.get('expired')} stale candidates"
    if name == "auto_promote":
        return f"promoted {output.get('promoted')} candidates"
    if name == "integrity_check":
        if output.get("status") == "locked":
            return "another integrity run holds the lock"
        return (
            f"run {output.get('run_id')}: {output.get('total_findings')} findings, "
            f"{output.get('errors')} failed checks"
        )
    if name == "pipeline_alerts":
        harness, queue = output.get("harness", {}), output.get("candidate_queue", {})
        return (
            f"harness {harness.get('status')}, candidate queue {queue.get('size')} "
            f"({queue.get('status')}), {output.get('alerts')} alert(s)"
        )
    return "done"
