"""Pure functions of the webhook sink: which format a URL gets, the payloads, signatures.

Nothing here does I/O, reads settings or the clock (``now`` is a parameter), so tests
call every function directly.
"""

import datetime
import email.utils
import hashlib
import hmac
import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from observability.jsonsafe import MARKER, dumps, safe_text, to_jsonable, truncate

SCHEMA = "atocore.alert"
SCHEMA_VERSION = 1
SIGNATURE_HEADER = "X-AtoCore-Signature"
TIMESTAMP_HEADER = "X-AtoCore-Timestamp"
REDACTED = "****"

DISCORD_HOSTS = frozenset(
    f"{prefix}{domain}" for prefix in ("", "canary.", "ptb.") for domain in ("discord.com", "discordapp.com")
)
# /api/webhooks/<id>/<token> or /api/v10/webhooks/<id>/<token>
_DISCORD_PATH = re.compile(r"^(?P<prefix>/api(?:/v\d+)?/webhooks)/(?P<id>\d+)/(?P<token>[A-Za-z0-9_.-]+)/?$")

# Discord's documented embed limits.
TITLE_MAX, DESCRIPTION_MAX, FIELDS_MAX = 256, 4096, 25
FIELD_NAME_MAX, FIELD_VALUE_MAX, EMBED_TOTAL_MAX, FOOTER_MAX = 256, 1024, 6000, 2048
DASH = "-"
COLOURS = {"info": 0x3498DB, "warning": 0xE67E22, "critical": 0xE74C3C}
RETRY_AFTER_DEFAULT, RETRY_AFTER_MAX = 60.0, 3600.0


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except (ValueError, AttributeError, TypeError):
        return None
    return parts if parts.scheme in ("http", "https") and parts.hostname else None


def is_discord_url(url: str) -> bool:
    """True for https://(canary.|ptb.)discord(app).com/api[/vN]/webhooks/<id>/<token>, parsed."""
    parts = _split(url) if isinstance(url, str) else None
    return bool(
        parts
        and parts.scheme == "https"
        and parts.hostname in DISCORD_HOSTS
        and parts.username is None
        and _DISCORD_PATH.match(parts.path)
    )


def display_url(url: str) -> str:
    """The URL with its secret parts replaced: ``https://discord.com/api/webhooks/<id>/****``."""
    parts = _split(url) if isinstance(url, str) else None
    if parts is None:
        return "<not an http(s) URL>"
    host = parts.netloc.rpartition("@")[2]  # host[:port], never the user info
    match = _DISCORD_PATH.match(parts.path)
    if match:
        return f"{parts.scheme}://{host}{match['prefix']}/{match['id']}/{REDACTED}"
    if parts.path in ("", "/") and not parts.query:
        return f"{parts.scheme}://{host}/"
    return f"{parts.scheme}://{host}/{REDACTED}"


def secret_fragments(url: str) -> list[str]:
    """The pieces of ``url`` that must never be written anywhere, longest first."""
    parts = _split(url) if isinstance(url, str) else None
    if parts is None:
        return [url.strip()] if isinstance(url, str) and url.strip() else []
    found = {url.strip()}
    match = _DISCORD_PATH.match(parts.path)
    if match:
        found.add(match["token"])
    elif parts.path not in ("", "/"):
        found.add(parts.path.rstrip("/"))
        found.update(seg for seg in parts.path.split("/") if len(seg) >= 12)
    if parts.query:
        found.add(parts.query)
        found.update(value for _, value in parse_qsl(parts.query) if len(value) >= 6)
    if parts.password:
        found.add(parts.password)
    return sorted((f for f in found if len(f) >= 4), key=len, reverse=True)


def fingerprint(url: str) -> str:
    """A stable, non-reversible name for the URL (to notice that the setting changed)."""
    return hashlib.sha256(url.strip().encode("utf-8", "replace")).hexdigest()[:16]


def discord_post_url(url: str) -> str:
    """The URL with ``wait=true``, so that Discord answers with a status that shows failures."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
    query.append(("wait", "true"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def build_payload(
    url: str,
    *,
    severity: str,
    title: str,
    message: str,
    context: Mapping[str, Any] | None,
    alert_id: str = "",
    dedup_key: str = "",
    timestamp: str = "",
    suppressed: int = 0,
    original_severity: Any = None,
) -> dict:
    """A Discord embed for a Discord URL, the generic JSON body for any other."""
    if is_discord_url(url):
        return discord_payload(
            severity=severity,
            title=title,
            message=message,
            context=context,
            timestamp=timestamp,
            suppressed=suppressed,
        )
    return generic_payload(
        severity=severity,
        title=title,
        message=message,
        context=context,
        alert_id=alert_id,
        dedup_key=dedup_key,
        timestamp=timestamp,
        suppressed=suppressed,
        original_severity=original_severity,
    )


def generic_payload(
    *,
    severity: str,
    title: str,
    message: str,
    context: Mapping[str, Any] | None,
    alert_id: str = "",
    dedup_key: str = "",
    timestamp: str = "",
    suppressed: int = 0,
    original_severity: Any = None,
) -> dict:
    """The generic body: a named, versioned schema with every part of the alert."""
    body = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "id": alert_id,
        "dedup_key": dedup_key,
        "severity": severity,
        "title": title,
        "message": message,
        "context": dict(context or {}),
        "timestamp": timestamp,
        "suppressed": suppressed,
    }
    if original_severity is not None:
        body["original_severity"] = original_severity
    return body


def discord_payload(
    *,
    severity: str,
    title: str,
    message: str,
    context: Mapping[str, Any] | None,
    timestamp: str = "",
    suppressed: int = 0,
) -> dict:
    """One embed within Discord's limits; mentions in it ping nobody."""
    footer = f"AtoCore · {severity}"
    if suppressed:
        footer += f" · {suppressed} repeat{'s' if suppressed != 1 else ''} suppressed since the last post"
    embed: dict[str, Any] = {
        "title": truncate(title or DASH, TITLE_MAX),
        "description": truncate(message or DASH, DESCRIPTION_MAX),
        "color": COLOURS.get(severity, COLOURS["info"]),
        "footer": {"text": truncate(footer, FOOTER_MAX)},
    }
    if timestamp:
        embed["timestamp"] = timestamp
    budget = EMBED_TOTAL_MAX - len(embed["title"]) - len(embed["footer"]["text"])
    if len(embed["description"]) > budget:
        embed["description"] = truncate(embed["description"], budget)
    embed["fields"] = _fields(context or {}, budget - len(embed["description"]))
    return {"embeds": [embed], "allowed_mentions": {"parse": []}}


def _fields(context: Mapping[str, Any], budget: int) -> list[dict]:
    """Context as embed fields, in order, until the field count or the character budget runs out."""
    items = list(context.items())
    fields: list[dict] = []
    for index, (key, value) in enumerate(items):
        left = len(items) - index
        room = FIELDS_MAX - len(fields)
        if room == 1 and left > 1 or budget < 40:
            marker = {
                "name": MARKER,
                "value": f"{left} more context field{'s' if left != 1 else ''} not shown",
            }
            if len(marker["name"]) + len(marker["value"]) <= budget:
                fields.append({**marker, "inline": False})
            break
        name = truncate(safe_text(key) or DASH, min(FIELD_NAME_MAX, budget // 4))
        text = _field_text(value)
        # Keep room for a marker field after this one.
        text = truncate(text, max(1, min(FIELD_VALUE_MAX, budget - len(name) - 40)))
        fields.append({"name": name, "value": text, "inline": len(text) <= 40})
        budget -= len(name) + len(text)
    return fields


def _field_text(value: Any) -> str:
    if value is None or value == "":
        return DASH
    text = value if isinstance(value, str) else dumps(to_jsonable(value), ensure_ascii=False)
    return text if text.strip() else DASH


def encode(payload: dict) -> bytes:
    """The exact bytes sent: compact strict JSON in UTF-8."""
    return dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``"<timestamp>." + body``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def retry_after_seconds(
    headers: Mapping[str, str], body: bytes, *, now: datetime.datetime | None = None
) -> float:
    """Seconds to wait after a 429: the larger of Retry-After (seconds or HTTP date) and
    Discord's body ``retry_after`` (seconds); a default when neither says; capped."""
    found: list[float] = []
    header = _header(headers, "retry-after")
    if header:
        try:
            found.append(float(header))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(header)
                found.append((when - (now or datetime.datetime.now(datetime.UTC))).total_seconds())
            except (TypeError, ValueError, IndexError):
                pass
    try:
        data = json.loads(body or b"null")
        if isinstance(data, dict) and isinstance(data.get("retry_after"), int | float):
            found.append(float(data["retry_after"]))
    except (ValueError, UnicodeDecodeError):
        pass
    found = [value for value in found if math.isfinite(value)]
    if not found:
        return RETRY_AFTER_DEFAULT
    return min(max(max(found), 0.0), RETRY_AFTER_MAX)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value.strip()
    return ""
