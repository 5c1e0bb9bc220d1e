"""POST one webhook body under one wall-clock deadline, and say what happened.

httpx's own timeouts bound each network operation, so a server that trickles a byte
at a time would never trip them; the whole send (both attempts, the response headers
and an error body) therefore runs under asyncio's deadline, which cancels the socket
operation in flight. A fresh event loop per send; a thread only when the caller's
thread already runs a loop.
"""

import asyncio
import http
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import httpx

from observability.http_client import make_async_client
from observability.jsonsafe import safe_text, truncate
from observability.webhooks import retry_after_seconds

GONE_STATUSES = frozenset({401, 403, 404, 410})
RETRYABLE = frozenset({"server_error", "connection"})
RETRY_BACKOFF = 0.05
ERROR_BODY_MAX = 4096
DETAIL_MAX = 300
# A last resort on top of the deadline, should closing a cancelled connection itself hang.
GRACE = 0.25


@dataclass(frozen=True)
class Delivery:
    outcome: str  # sent, rate_limited, client_error, server_error, connection, timeout, error
    status: int | None = None
    detail: str = ""
    retry_after: float | None = None
    gone: bool = False  # 401/403/404/410: the hook no longer exists for us
    requests: int = 0
    seconds: float = 0.0


def classify(status: int, headers: Mapping[str, str], body: bytes) -> Delivery:
    """What a response with ``status`` means for the alert (pure)."""
    if 200 <= status < 300:
        return Delivery("sent", status=status)
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    text = truncate(" ".join(body[:ERROR_BODY_MAX].decode("utf-8", "replace").split()), DETAIL_MAX)
    detail = f"HTTP {status} {reason}".strip() + (f": {text}" if text else "")
    if status == 429:
        return Delivery(
            "rate_limited", status=status, detail=detail, retry_after=retry_after_seconds(headers, body)
        )
    if 300 <= status < 400:
        return Delivery("client_error", status=status, detail=f"{detail} (redirects are not followed)")
    if 400 <= status < 500:
        return Delivery("client_error", status=status, detail=detail, gone=status in GONE_STATUSES)
    if status >= 500:
        return Delivery("server_error", status=status, detail=detail)
    return Delivery("error", status=status, detail=detail)


def post(url: str, body: bytes, headers: Mapping[str, str], *, deadline: float) -> Delivery:
    """POST ``body`` to ``url``: at most one retry (5xx, connection errors), all within
    ``deadline`` seconds of wall-clock time. Never raises."""
    start = time.monotonic()
    deadline = max(float(deadline), 0.01)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        delivery = _run(url, body, headers, deadline)
    else:
        delivery = _run_in_thread(url, body, headers, deadline)
    return replace(delivery, seconds=round(time.monotonic() - start, 4))


def _run(url: str, body: bytes, headers: Mapping[str, str], deadline: float) -> Delivery:
    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(_send(url, body, headers, deadline))
        loop.run_until_complete(asyncio.wait({task}, timeout=deadline + GRACE))
        if task.done():
            return task.result()
        task.cancel()  # abandoned after a short wait; its socket is closed with the loop
        loop.run_until_complete(asyncio.wait({task}, timeout=0.1))
        return Delivery("timeout", detail=f"no complete answer within {deadline:g} s")
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        return Delivery("error", detail=_describe(exc))
    finally:
        loop.close()


def _run_in_thread(url: str, body: bytes, headers: Mapping[str, str], deadline: float) -> Delivery:
    box: list[Delivery] = []
    worker = threading.Thread(
        target=lambda: box.append(_run(url, body, headers, deadline)), name="alert-webhook", daemon=True
    )
    worker.start()
    worker.join(deadline + GRACE + 0.2)
    return box[0] if box else Delivery("timeout", detail=f"no complete answer within {deadline:g} s")


async def _send(url: str, body: bytes, headers: Mapping[str, str], deadline: float) -> Delivery:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    client = make_async_client(timeout=deadline)
    last: Delivery | None = None
    requests = 0
    try:
        async with asyncio.timeout_at(end):
            for attempt in (1, 2):
                requests += 1
                last = await _attempt(client, url, body, headers, end)
                if last.outcome not in RETRYABLE or attempt == 2 or end - loop.time() < 4 * RETRY_BACKOFF:
                    break
                await asyncio.sleep(RETRY_BACKOFF)
    except TimeoutError:
        after = f" (after {last.detail})" if last is not None and last.detail else ""
        last = Delivery("timeout", detail=f"no complete answer within {deadline:g} s{after}")
    finally:
        try:
            async with asyncio.timeout(0.2):
                await client.aclose()
        except Exception:  # noqa: BLE001, S110 - closing is best effort
            pass
    return replace(last, requests=requests)


async def _attempt(client: httpx.AsyncClient, url: str, body: bytes, headers, end: float) -> Delivery:
    try:
        async with client.stream("POST", url, content=body, headers=dict(headers)) as response:
            if 200 <= response.status_code < 300:
                return Delivery("sent", status=response.status_code)  # the body is not needed
            data = await _read_capped(response, end)
            return classify(response.status_code, response.headers, data)
    except httpx.TimeoutException as exc:
        return Delivery("timeout", detail=_describe(exc))
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        return Delivery("connection", detail=_describe(exc))
    except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
        return Delivery("client_error", detail=_describe(exc))
    except httpx.HTTPError as exc:
        return Delivery("error", detail=_describe(exc))


async def _read_capped(response: httpx.Response, end: float) -> bytes:
    """Up to ERROR_BODY_MAX bytes of an error body, for at most a second and never past ``end``."""
    loop = asyncio.get_running_loop()
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout_at(min(end - 0.05, loop.time() + 1.0)):
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= ERROR_BODY_MAX:
                    break
    except (TimeoutError, httpx.HTTPError):
        pass  # classify what arrived
    return b"".join(chunks)[:ERROR_BODY_MAX]


def _describe(exc: BaseException) -> str:
    text = safe_text(exc, limit=DETAIL_MAX)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
