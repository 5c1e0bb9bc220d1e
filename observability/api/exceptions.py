"""One error shape for every API response: ``{"error": {"code", "message", "fields"?}}``.

The DRF exception handler covers the views; ``not_found`` and ``server_error`` are the
project's handler404/handler500, so that URLs no view matches answer in the same shape
(the admin keeps Django's HTML pages).
"""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, ValidationError
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from memories.errors import IllegalTransition, InvalidMemoryData


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def exception_handler(exc, context):
    if isinstance(exc, IllegalTransition):
        return Response(
            error_body(
                "illegal_transition",
                str(exc),
                memory_id=str(exc.memory_id),
                current_status=exc.from_status,
                action=exc.action,
            ),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, InvalidMemoryData):
        return Response(
            error_body("invalid", str(exc), fields={exc.field: [exc.message]}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            error_body("request_too_large", f"the request body is over {limit} bytes"),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, ObjectDoesNotExist | Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = error_body("invalid", "the request has invalid fields", fields=fields)
    else:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = error_body(str(code), str(detail))
    return response


def _is_admin_page(request) -> bool:
    return request.path.startswith("/admin/") and not request.path.startswith("/admin/audit/")


def not_found(request, exception=None):
    """handler404: JSON outside the admin pages."""
    if _is_admin_page(request):
        return defaults.page_not_found(request, exception)
    message = f"no route {request.path}"
    if not request.path.endswith("/") and _has_route(request.path + "/"):
        message += f" (the API's paths end with a slash: {request.path}/)"
    return JsonResponse(error_body("not_found", message), status=404)


def _has_route(path: str) -> bool:
    try:
        return resolve(path).func is not not_found
    except Resolver404:
        return False


def server_error(request):
    """handler500: JSON outside the admin pages; the traceback goes to the log, never the client."""
    if _is_admin_page(request):
        return defaults.server_error(request)
    return JsonResponse(
        error_body("server_error", "an unexpected error; the request id is in the X-Request-ID header"),
        status=500,
    )
