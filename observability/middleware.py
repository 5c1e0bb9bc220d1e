"""Per-request context: a request id on every log line and audit row, the ambient actor."""

import re
import uuid

from observability.context import audit_context, request_context

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Binds ``request_id`` (the caller's X-Request-ID when sane, else a new one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        with request_context(request_id):
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


class AmbientActorMiddleware:
    """The actor for saves that bypass the services during this request (the safety net).

    Admin pages are triage staff's channel; everything else is the HTTP API. DRF
    authenticates inside the view, so API views pass their user to the services.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        actor = (
            "human-triage"
            if request.path.startswith("/admin/") and not request.path.startswith("/admin/audit/")
            else "api-http"
        )
        user = getattr(request, "user", None)
        name = user.get_username() if user is not None and user.is_authenticated else ""
        with audit_context(actor=actor, user=name):
            return self.get_response(request)
