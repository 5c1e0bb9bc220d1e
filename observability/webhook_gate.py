"""Whether an alert may be posted now: storm control, rate limits, a hook that is gone.

The gate lives in project state ``atocore/alert_webhook/gate`` so that every process
shares it, and is changed under a row lock together with the webhook's health row.
Should the database fail, a process-local gate takes over, so that a storm is still
held back while the database is down.

Gate value: ``{"fingerprint": <url hash>, "rate_limited_until": <epoch> | None,
"backoff_until": <epoch> | None, "disabled": {...} | None, "keys": {<dedup key>: {"posted": <epoch>, "suppressed": n,
"seen": <epoch>}}}``.
"""

import copy
import datetime
import threading
import time
from dataclasses import dataclass
from typing import Any

import structlog

from observability import sink_health
from observability.alert_record import SinkOutcome
from observability.state_rows import update_rows
from observability.webhook_delivery import Delivery

GATE_KEY = ("alert_webhook", "gate")
HEALTH_KEY = (sink_health.CATEGORY, "webhook")
KEYS_MAX = 200
# After a send that timed out or failed (connection, 5xx), no posts for this long (or
# for the cooldown, if shorter): a dead hook costs one deadline per backoff, not per alert.
FAILURE_BACKOFF = 30.0
RELEASED_ON = frozenset({"rate_limited", "timeout", "connection", "server_error", "error"})
NAME = "webhook"

logger = structlog.get_logger("observability.alerts")
_local_gate: dict[str, Any] = {}
_local_lock = threading.Lock()


@dataclass(frozen=True)
class Decision:
    send: bool
    status: str = ""  # when not sending: suppressed, rate_limited, backoff or disabled
    suppressed: int = 0  # repeats of this key held back since its last post
    detail: str = ""


def decide(gate: dict, *, fingerprint: str, key: str, now: float, cooldown: float) -> Decision:
    """Whether to post an alert with dedup ``key`` now; updates ``gate`` (pure otherwise)."""
    if gate.get("fingerprint") != fingerprint:  # a new URL starts with a clean slate
        gate.update(fingerprint=fingerprint, rate_limited_until=None, backoff_until=None, disabled=None)
    keys = gate.setdefault("keys", {})
    entry = keys.get(key) if isinstance(keys.get(key), dict) else {"posted": None, "suppressed": 0}
    entry["seen"] = now
    keys[key] = entry
    hold = None
    if gate.get("disabled"):
        status = gate["disabled"].get("status")
        hold = Decision(
            False, "disabled", detail=f"the hook answered HTTP {status}; change the setting to retry"
        )
    elif (gate.get("rate_limited_until") or 0) > now:
        hold = Decision(
            False, "rate_limited", detail=f"rate limited for {gate['rate_limited_until'] - now:.1f} s"
        )
    elif (gate.get("backoff_until") or 0) > now:
        hold = Decision(
            False, "backoff", detail=f"the last send failed; next try in {gate['backoff_until'] - now:.1f} s"
        )
    elif entry.get("posted") is not None and now - entry["posted"] < cooldown:
        hold = Decision(False, "suppressed", detail=f"posted {now - entry['posted']:.0f} s ago")
    if hold is not None:
        entry["suppressed"] = int(entry.get("suppressed") or 0) + 1
        return hold
    suppressed = int(entry.get("suppressed") or 0)
    keys[key] = {"posted": now, "suppressed": 0, "seen": now}
    _prune(keys, now=now, cooldown=cooldown)
    return Decision(True, suppressed=suppressed)


def after_delivery(
    gate: dict,
    *,
    fingerprint: str,
    delivery: Delivery,
    now: float,
    url: str,
    key: str = "",
    carried: int = 0,
    cooldown: float = 0.0,
) -> None:
    """Remember a 429 until its Retry-After, a failure for the backoff, a gone hook until
    the URL changes. An alert that did not get through is counted as held back, so the
    next post of its key reports it, and that post is not held for the cooldown."""
    if gate.get("fingerprint") != fingerprint:
        gate.update(fingerprint=fingerprint, rate_limited_until=None, backoff_until=None, disabled=None)
    if delivery.outcome == "sent":
        gate.update(rate_limited_until=None, backoff_until=None)
        return
    if delivery.outcome == "rate_limited":
        gate["rate_limited_until"] = now + (delivery.retry_after or 0.0)
    elif delivery.outcome in RELEASED_ON:
        gate["backoff_until"] = now + min(FAILURE_BACKOFF, cooldown)
    if delivery.gone:
        gate["disabled"] = {"status": delivery.status, "since": _iso(now), "url": url}
    if key and (delivery.gone or delivery.outcome in RELEASED_ON):
        entry = gate.setdefault("keys", {}).get(key) or {}
        gate["keys"][key] = {
            "posted": None,
            "suppressed": carried + 1 + int(entry.get("suppressed") or 0),
            "seen": now,
        }


def _prune(keys: dict, *, now: float, cooldown: float) -> None:
    for key in [
        k for k, e in keys.items() if not e.get("suppressed") and now - (e.get("posted") or 0) >= cooldown
    ]:
        del keys[key]
    if len(keys) > KEYS_MAX:
        for key in sorted(keys, key=lambda k: keys[k].get("seen") or 0)[: len(keys) - KEYS_MAX]:
            del keys[key]


def view(gate: dict, url: str) -> dict:
    """The gate as the webhook's health row shows it."""
    until = gate.get("rate_limited_until")
    return {
        "url": url,
        "rate_limited_until": _iso(until) if until and until > time.time() else None,
        "backoff_until": _iso(gate["backoff_until"])
        if (gate.get("backoff_until") or 0) > time.time()
        else None,
        "disabled": gate.get("disabled"),
    }


def claim(*, fingerprint: str, key: str, cooldown: float, url: str) -> Decision:
    """decide() against the shared gate (the local one when the database fails)."""
    now = time.time()
    box: list[Decision] = []

    def change(current):
        gate = copy.deepcopy(current[GATE_KEY]) if isinstance(current[GATE_KEY], dict) else {}
        decision = decide(gate, fingerprint=fingerprint, key=key, now=now, cooldown=cooldown)
        box.append(decision)
        changed = {GATE_KEY: gate}
        if not decision.send:
            health = sink_health.apply(
                current[HEALTH_KEY], NAME, SinkOutcome.skipped(decision.status), now=_dt(now)
            )
            changed[HEALTH_KEY] = {**health, **view(gate, url)}
        return changed

    try:
        update_rows([GATE_KEY, HEALTH_KEY], change)
        return box[-1]
    except Exception as exc:  # noqa: BLE001 - the local gate takes over
        logger.warning("alert_gate_unavailable", error=type(exc).__name__)
        with _local_lock:
            return decide(_local_gate, fingerprint=fingerprint, key=key, now=now, cooldown=cooldown)


def settle(
    *,
    fingerprint: str,
    delivery: Delivery,
    outcome: SinkOutcome,
    url: str,
    key: str,
    carried: int,
    cooldown: float,
) -> None:
    """Record a delivery in the gate and the webhook's health row."""
    now = time.time()
    known = {"fingerprint": fingerprint, "delivery": delivery, "now": now, "url": url}
    about_key = {"key": key, "carried": carried, "cooldown": cooldown}

    def change(current):
        gate = copy.deepcopy(current[GATE_KEY]) if isinstance(current[GATE_KEY], dict) else {}
        after_delivery(gate, **known, **about_key)
        health = sink_health.apply(current[HEALTH_KEY], NAME, outcome, now=_dt(now))
        return {GATE_KEY: gate, HEALTH_KEY: {**health, **view(gate, url)}}

    try:
        update_rows([GATE_KEY, HEALTH_KEY], change)
    except Exception as exc:  # noqa: BLE001 - the local gate takes over
        logger.warning("alert_gate_unavailable", error=type(exc).__name__)
    # The local gate always learns about 429s and gone hooks: it is what the next
    # claim falls back to if the database fails then.
    with _local_lock:
        after_delivery(_local_gate, **known, cooldown=cooldown)


def reset_local() -> None:
    """Forget the process-local gate (tests)."""
    with _local_lock:
        _local_gate.clear()


def _dt(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC)


def _iso(epoch: float) -> str:
    return _dt(epoch).isoformat(timespec="seconds")
