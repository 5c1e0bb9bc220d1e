"""The one place that builds HTTP clients: explicit timeouts, no redirects, no ambient config."""

import functools
import ssl

import certifi
import httpx

USER_AGENT = "AtoCore-Ops alerts/1"


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Built once: loading the CA bundle costs ~20 ms, too much for every alert.
    return ssl.create_default_context(cafile=certifi.where())


def make_async_client(*, timeout: float) -> httpx.AsyncClient:
    """An AsyncClient whose every phase (connect, write, read, pool) is bounded by ``timeout``.

    Redirects are not followed (a webhook that redirects is misconfigured, and a redirect
    could carry the body elsewhere); proxies, .netrc and certificate paths from the
    environment are ignored (``trust_env=False``); no connection is kept alive.
    """
    seconds = max(float(timeout), 0.001)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(connect=seconds, read=seconds, write=seconds, pool=seconds),
        follow_redirects=False,
        trust_env=False,
        verify=_ssl_context(),
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=0),
    )
