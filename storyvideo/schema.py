"""What the OpenAPI schema says beyond each view: every operation documents the statuses it can
really give, in the one error envelope (``core.api.exception_handler``), and request
bodies allow no keys but their own (``StrictSerializer``)."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
        }
    },
}
WHY = {
    "400": "Invalid input; `fields` names what is wrong.",
    "401": "Not signed in.",
    "403": "Not allowed.",
    "404": "No such object (or not yours).",
    "405": "Method not allowed.",
    "409": "Not possible in the object's present state.",
    "413": "The request body is too large.",
    "415": "Unsupported media type.",
    "429": "Throttled or over a quota; `Retry-After` says when to try again.",
}
UNSAFE = ("400", "401", "403", "404", "409", "413", "415", "429")
SAFE = ("400", "401", "403", "404", "429")
# Operations that take no credentials (revoking a token takes the token: it may answer 401).
ANONYMOUS = {("/api/v1/health", "get"), ("/api/v1/auth/token", "post"), ("/api/v1/auth/signup", "post")}
EXTRA = {  # "render it first"
    "/api/v1/projects/{project_id}/exports/{fmt}": ("409",),
    "/api/v1/projects/{project_id}/check": ("409",),
}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR
    for name, component in components.items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False  # StrictSerializer refuses unknown keys
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            statuses: tuple[str, ...] = (SAFE if method == "get" else UNSAFE) + EXTRA.get(path, ())
            if (path, method) in ANONYMOUS:
                statuses = tuple(s for s in statuses if s not in ("401", "404", "409"))
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(status, {"description": WHY[status], "content": reference})
    return result
