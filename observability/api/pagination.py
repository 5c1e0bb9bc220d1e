"""Keyset ("cursor") pagination on (time, id).

A page ends at its last row's (time, id); the next page starts strictly after that pair.
New rows written meanwhile never shift a page, so pages neither skip nor repeat rows,
which offset pagination (and DRF's offset-within-cursor) cannot promise. One query per
page: page_size + 1 rows are read to know whether a next page exists.
"""

import base64
import binascii
import datetime
import json
from collections import OrderedDict

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

ORDERS = ("desc", "asc")


class _PageParams(serializers.Serializer):
    cursor = serializers.CharField(required=False, max_length=500)
    page_size = serializers.IntegerField(required=False, min_value=1)
    order = serializers.ChoiceField(choices=ORDERS, required=False, default="desc")


def _encode(time_value: datetime.datetime, pk) -> str:
    raw = json.dumps([time_value.isoformat(), str(pk)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        time_text, pk = json.loads(raw)
        time_value = datetime.datetime.fromisoformat(time_text)
        if time_value.tzinfo is None or not isinstance(pk, str):
            raise ValueError("naive time or non-text id")
        time_value = time_value.astimezone(datetime.UTC)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationError({"cursor": ["is not a cursor this API issued"]}) from exc
    return time_value, pk


class KeysetPagination(BasePagination):
    """Pages ordered by ``time_field`` then ``id``; newest first unless ``order=asc``."""

    time_field = "created_at"

    @staticmethod
    def max_page_size() -> int:
        return settings.ATOCORE_API_MAX_PAGE_SIZE

    def _params(self, request) -> dict:
        params = _PageParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        values = params.validated_data
        size = values.get("page_size", settings.ATOCORE_API_PAGE_SIZE)
        if size > self.max_page_size():
            raise ValidationError({"page_size": [f"must be at most {self.max_page_size()}"]})
        return {**values, "page_size": size}

    def paginate_queryset(self, queryset, request, view=None):
        params = self._params(request)
        self.request, self.order, self.page_size = request, params["order"], params["page_size"]
        field, desc = self.time_field, self.order == "desc"
        queryset = queryset.order_by(f"-{field}", "-id") if desc else queryset.order_by(field, "id")
        if "cursor" in params:
            queryset = self._after_cursor(queryset, params["cursor"], desc=desc)
        rows = list(queryset[: self.page_size + 1])
        self.has_next = len(rows) > self.page_size
        self.rows = rows[: self.page_size]
        return self.rows

    def _after_cursor(self, queryset, cursor: str, *, desc: bool):
        time_value, pk = _decode(cursor)
        field, op = self.time_field, "lt" if desc else "gt"
        after = Q(**{f"{field}__{op}": time_value}) | Q(**{field: time_value, f"id__{op}": pk})
        # The redundant bound lets the database range-scan the (time, id) index.
        bound = Q(**{f"{field}__{op}e": time_value})
        try:
            return queryset.filter(bound & after)
        except (DjangoValidationError, ValueError, TypeError) as exc:  # an id of the wrong kind
            raise ValidationError({"cursor": ["is not a cursor this API issued"]}) from exc

    def _next_link(self) -> str | None:
        if not self.has_next:
            return None
        last = self.rows[-1]
        cursor = _encode(getattr(last, self.time_field), last.pk)
        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)

    def get_paginated_response(self, data):
        return Response(OrderedDict([("next", self._next_link()), ("results", data)]))

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The cursor from a previous page's `next` link.",
                "schema": {"type": "string"},
            },
            {
                "name": "page_size",
                "in": "query",
                "required": False,
                "description": "Rows per page.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size(),
                    "default": settings.ATOCORE_API_PAGE_SIZE,
                },
            },
            {
                "name": "order",
                "in": "query",
                "required": False,
                "description": "Newest first (desc, the default) or oldest first (asc).",
                "schema": {"type": "string", "enum": list(ORDERS), "default": "desc"},
            },
        ]
