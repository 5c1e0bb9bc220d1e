"""One error shape for every API response: ``{"error": {"code", "message", "fields"?}}``."""

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from memories.errors import IllegalTransition, InvalidMemoryData


def _body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def exception_handler(exc, context):
    if isinstance(exc, IllegalTransition):
        return Response(
            _body("illegal_transition", str(exc), current_status=exc.from_status, action=exc.action),
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, InvalidMemoryData):
        return Response(
            _body("invalid", str(exc), fields={exc.field: [exc.message]}),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, ObjectDoesNotExist | Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, ValidationError):
        exc = exceptions.ValidationError(exc.messages)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        fields = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = _body("invalid", "the request has invalid fields", fields=fields)
    else:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = _body(str(code), str(detail))
    return response
