"""Sink 4: ATOCORE_ALERT_WEBHOOK, if set: a Discord embed or the generic JSON body.

The HTTP call never runs inside a database transaction that could still roll back:
inside ``atomic()`` it waits for the commit (``transaction.on_commit``) and the
result's ``sinks["webhook"]`` reads ``deferred`` until then; otherwise it runs now.
"""

import functools
import time
from dataclasses import dataclass

import structlog
from django.conf import settings
from django.db import transaction

from observability import webhook_delivery, webhook_gate, webhooks
from observability.alert_record import FAILURE, NOT_ATTEMPTED, AlertRecord, AlertResult, SinkOutcome
from observability.jsonsafe import safe_text
from observability.redaction import Redactor

NAME = "webhook"
FORMATS = ("auto", "discord", "generic")
logger = structlog.get_logger("observability.alerts")


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str
    timeout: float
    cooldown: float
    discord: bool

    @classmethod
    def from_settings(cls) -> "WebhookConfig | None":
        """The settings as they are now; None when no webhook is configured."""
        url = configured_url()
        if not url:
            return None
        fmt = str(getattr(settings, "ATOCORE_ALERT_WEBHOOK_FORMAT", "auto") or "auto").strip().lower()
        return cls(
            url=url,
            secret=str(getattr(settings, "ATOCORE_ALERT_WEBHOOK_SECRET", "") or ""),
            timeout=_number(getattr(settings, "ATOCORE_ALERT_WEBHOOK_TIMEOUT", 5.0), 5.0),
            cooldown=_number(getattr(settings, "ATOCORE_ALERT_COOLDOWN", 600.0), 600.0),
            discord=webhooks.is_discord_url(url) if fmt not in FORMATS[1:] else fmt == "discord",
        )


def configured_url() -> str:
    url = getattr(settings, "ATOCORE_ALERT_WEBHOOK", "") or ""
    return url.strip() if isinstance(url, str) else ""


def _number(value, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number >= 0 else default


def send(record: AlertRecord, result: AlertResult) -> SinkOutcome:
    config = WebhookConfig.from_settings()
    if config is None:
        return SinkOutcome("not_configured", kind=NOT_ATTEMPTED)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(functools.partial(deliver, config, record, result), robust=True)
        return SinkOutcome("deferred", kind=NOT_ATTEMPTED)
    return deliver(config, record, result)


def deliver(config: WebhookConfig, record: AlertRecord, result: AlertResult) -> SinkOutcome:
    """Claim, post, settle; writes the outcome into ``result`` and the AlertEvent. Never raises."""
    scrub = Redactor(config.url, config.secret)
    try:
        outcome = _deliver(config, record, scrub)
    except Exception as exc:  # noqa: BLE001 - one sink failing never stops the caller
        outcome = SinkOutcome.failed("error", scrub(f"{type(exc).__name__}: {safe_text(exc)}"))
        logger.warning("alert_webhook_failed", reason="error", error=outcome.detail)
    result.sinks[NAME] = outcome.status
    if outcome.kind == FAILURE:
        result.errors[NAME] = outcome.detail
    else:
        result.errors.pop(NAME, None)
    _update_event(result)
    return outcome


def _deliver(config: WebhookConfig, record: AlertRecord, scrub: Redactor) -> SinkOutcome:
    shown = webhooks.display_url(config.url)
    fingerprint = webhooks.fingerprint(config.url)
    decision = webhook_gate.claim(
        fingerprint=fingerprint, key=record.dedup_key, cooldown=config.cooldown, url=shown
    )
    if not decision.send:
        logger.info("alert_webhook_held", reason=decision.status, dedup_key=record.dedup_key, url=shown)
        return SinkOutcome.skipped(decision.status, decision.detail)
    url, body, headers = request_for(config, record, suppressed=decision.suppressed)
    delivery = webhook_delivery.post(url, body, headers, deadline=config.timeout)
    detail = scrub(delivery.detail)
    if delivery.outcome == "sent":
        outcome = SinkOutcome("sent")
        logger.info("alert_webhook_sent", url=shown, status=delivery.status, seconds=delivery.seconds)
    else:
        if delivery.gone:
            detail += "; the hook is gone: no more posts until ATOCORE_ALERT_WEBHOOK changes"
        elif delivery.outcome == "rate_limited":
            detail += f"; no posts for {delivery.retry_after:g} s"
        outcome = SinkOutcome.failed(delivery.outcome, f"{shown}: {detail}")
        logger.warning(
            "alert_webhook_failed",
            url=shown,
            reason=delivery.outcome,
            status=delivery.status,
            requests=delivery.requests,
            seconds=delivery.seconds,
            error=detail,
        )
    webhook_gate.settle(
        fingerprint=fingerprint,
        delivery=delivery,
        outcome=outcome,
        url=shown,
        key=record.dedup_key,
        carried=decision.suppressed,
        cooldown=config.cooldown,
    )
    return outcome


def request_for(config: WebhookConfig, record: AlertRecord, *, suppressed: int) -> tuple[str, bytes, dict]:
    """The URL, the exact body bytes and the headers of the POST."""
    common = {
        "severity": record.severity,
        "title": record.title,
        "message": record.message,
        "context": record.context,
        "timestamp": record.timestamp,
        "suppressed": suppressed,
    }
    headers = {"Content-Type": "application/json"}
    if config.discord:
        body = webhooks.encode(webhooks.discord_payload(**common))
        return webhooks.discord_post_url(config.url), body, headers
    payload = webhooks.generic_payload(
        **common,
        alert_id=record.alert_id,
        dedup_key=record.dedup_key,
        original_severity=record.original_severity,
    )
    body = webhooks.encode(payload)
    if config.secret:
        stamp = int(time.time())
        headers[webhooks.TIMESTAMP_HEADER] = str(stamp)
        headers[webhooks.SIGNATURE_HEADER] = webhooks.sign(config.secret, stamp, body)
    return config.url, body, headers


def _update_event(result: AlertResult) -> None:
    if result.event_id is None:
        return
    try:
        from observability.models import AlertEvent

        AlertEvent.objects.filter(pk=result.event_id).update(
            sinks=dict(result.sinks), sink_errors=dict(result.errors)
        )
    except Exception as exc:  # noqa: BLE001
        logger.warning("alert_event_update_failed", error=type(exc).__name__)
