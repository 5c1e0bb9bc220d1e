"""OpenAPI post-processing: every operation documents the one error shape it can return."""

ERROR_COMPONENT = "Error"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "invalid"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Per field, what is wrong with it (400 only).",
                    "additionalProperties": {},
                },
                "memory_id": {"type": "string", "description": "409 only."},
                "current_status": {"type": "string", "description": "409 only."},
                "action": {"type": "string", "description": "409 only."},
            },
        }
    },
}
_COMMON = {
    "400": "Invalid parameters or body (`fields` says which).",
    "401": "No or bad credentials.",
    "403": "Authenticated, without the permission this needs.",
    "404": "No such object, or a malformed id.",
    "405": "Method not allowed here.",
    "406": "The Accept header asks for a format this does not produce.",
    "429": "Throttled; Retry-After says when to come back.",
}
_WITH_BODY = {
    "409": "An illegal lifecycle move: the memory's current status does not allow the action.",
    "415": "The body is not JSON.",
}
UNAUTHENTICATED_PATHS = ("/healthz", "/readyz")


def add_error_responses(result, generator, request, public):
    """drf-spectacular POSTPROCESSING_HOOK: add the Error component and the error responses."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path, operations in result.get("paths", {}).items():
        if path in UNAUTHENTICATED_PATHS:
            continue
        for method, operation in operations.items():
            codes = dict(_COMMON)
            if method in ("post", "put", "patch"):
                codes.update(_WITH_BODY)
            responses = operation.setdefault("responses", {})
            for code, description in codes.items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
    return result
