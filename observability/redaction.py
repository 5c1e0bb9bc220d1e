"""Keep the webhook URL's token (and the signing secret) out of everything we write."""

from functools import lru_cache

from django.conf import settings

from observability.webhooks import REDACTED, display_url, secret_fragments


class Redactor:
    """Replaces every secret fragment of the configured webhook in a text."""

    def __init__(self, url: str = "", secret: str = ""):
        self.url = url.strip() if isinstance(url, str) else ""
        found = set(secret_fragments(self.url)) if self.url else set()
        if isinstance(secret, str) and len(secret) >= 4:
            found.add(secret)
        self._fragments = sorted(found, key=len, reverse=True)
        self._display = display_url(self.url) if self.url else ""

    def __call__(self, text: str) -> str:
        if not self._fragments or not isinstance(text, str):
            return text
        if self.url and self.url in text:
            text = text.replace(self.url, self._display)
        for fragment in self._fragments:
            if fragment in text:
                text = text.replace(fragment, REDACTED)
        return text


@lru_cache(maxsize=8)
def _cached(url: str, secret: str) -> Redactor:
    return Redactor(url, secret)


def current() -> Redactor:
    """The redactor for the webhook settings as they are now."""
    url = getattr(settings, "ATOCORE_ALERT_WEBHOOK", "") or ""
    secret = getattr(settings, "ATOCORE_ALERT_WEBHOOK_SECRET", "") or ""
    return _cached(url if isinstance(url, str) else "", secret if isinstance(secret, str) else "")
