"""Secrets out of text shown to people: webhook URLs are credentials (their token never shows)."""

import re
from typing import Any

from observability import redaction
from observability.webhooks import REDACTED, display_url

_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def _shown(url: str) -> str:
    if url.endswith(REDACTED):  # already redacted (the configured webhook, below)
        return url
    shown = display_url(url)
    return shown if shown.startswith(("http://", "https://")) else f"{url.split('://', 1)[0]}://{REDACTED}"


def redact(text: Any) -> str:
    """Text with the configured webhook's secrets removed (as the alert sinks remove them) and
    the path and query of every other URL hidden too: any URL in an error may be a credential."""
    text = redaction.current()("" if text is None else str(text))
    return _URL.sub(lambda m: _shown(m.group(0)), text)
