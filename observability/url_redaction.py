"""Secrets out of text shown to people: webhook URLs are credentials (their token never shows)."""

import re
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_WEBHOOK_PATH = re.compile(r"^(/api(?:/v\d+)?/webhooks/[^/]+/)[^/?#]+")


def redact_url(url: str) -> str:
    """A URL without its secrets: a webhook token becomes ****, any other path and query too."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "****"
    port = _safe_port(parts)
    base = f"{parts.scheme}://{parts.hostname or ''}{f':{port}' if port else ''}"
    match = _WEBHOOK_PATH.match(parts.path)
    if match:
        return f"{base}{match.group(1)}****"
    return f"{base}/****" if parts.path.strip("/") or parts.query else base


def _safe_port(parts) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def redact(text: Any) -> str:
    """Text with every URL in it redacted, and the configured webhook URL removed outright."""
    text = "" if text is None else str(text)
    secret = getattr(settings, "ATOCORE_ALERT_WEBHOOK", "") or ""
    if secret:
        text = text.replace(secret, redact_url(secret))
        # The token alone (last path segment) is as secret as the whole URL.
        token = urlsplit(secret).path.rstrip("/").rsplit("/", 1)[-1]
        if len(token) >= 8:
            text = text.replace(token, "****")
    return _URL.sub(lambda m: redact_url(m.group(0)), text)
