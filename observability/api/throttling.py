"""Throttles whose rates are read from settings on every request (so tests can change them)."""

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _LiveRate:
    scope: str

    def get_rate(self) -> str | None:
        return settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get(self.scope)


class AnonThrottle(_LiveRate, AnonRateThrottle):
    """Anonymous callers, by address (they only ever reach a 401)."""


class UserThrottle(_LiveRate, UserRateThrottle):
    """Authenticated callers, by user."""
