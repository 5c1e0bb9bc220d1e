"""Throttles whose rates are read from settings on every request (so tests can change them)."""

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class _LiveRate:
    scope: str

    def get_rate(self) -> str | None:
        return settings.REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}).get(self.scope)


class AnonThrottle(_LiveRate, AnonRateThrottle):
    """Anonymous callers, by address (they only ever reach a 401)."""


class UserThrottle(_LiveRate, UserRateThrottle):
    """Authenticated callers, by user."""


class FailedAuthThrottle(_LiveRate, AnonRateThrottle):
    """Bad credentials, by address, at the anonymous rate: token guessing is slowed down.

    DRF authenticates before it throttles, so a request with a bad token never reached
    AnonThrottle; the authenticator below counts its failures here instead.
    """

    scope = "anon"
    cache_format = "throttle_failed_auth_%(ident)s"

    def get_cache_key(self, request, view):
        # Not request.user: it is being authenticated right now (that would recurse).
        return self.cache_format % {"ident": self.get_ident(request)}


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle = FailedAuthThrottle()
            if not throttle.allow_request(request, None):
                raise exceptions.Throttled(throttle.wait()) from None
            raise
