"""The apiserver's own error constructors and the HTTP → gRPC status code mapping.

On the wire an API error is a gRPC status: the code mapped from the Status' HTTP code,
the details string the metav1.Status JSON (the client rebuilds the APIError from it).
"""

from __future__ import annotations

import json
from typing import Any

from actors.api import errors
from actors.api.errors import APIError

# HTTP code (and reason, where one code maps to two gRPC codes) -> grpc.StatusCode name
_GRPC_CODES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    406: "INVALID_ARGUMENT",
    409: "ABORTED",
    410: "OUT_OF_RANGE",
    413: "RESOURCE_EXHAUSTED",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def grpc_code_name(status: dict[str, Any]) -> str:
    """409 AlreadyExists → ALREADY_EXISTS, 409 Conflict → ABORTED, 404 → NOT_FOUND, ..."""
    code = int(status.get("code") or 500)
    if code == 409 and status.get("reason") == "AlreadyExists":
        return "ALREADY_EXISTS"
    return _GRPC_CODES.get(code, "UNKNOWN" if code < 500 else "INTERNAL")


def status_json(err: APIError) -> str:
    return json.dumps(err.status, separators=(",", ":"))


def from_details(details: str | None) -> APIError | None:
    """The APIError a gRPC status' details carry (None if they are not a Status JSON)."""
    if not details or not details.startswith("{"):
        return None
    try:
        st = json.loads(details)
    except ValueError:
        return None
    if not isinstance(st, dict) or st.get("kind") != "Status":
        return None
    return APIError.from_status(st)


def resource_not_found() -> APIError:
    """404 for an unknown resource or subresource (what the HTTP mux answers)."""
    return APIError({"message": "the server could not find the requested resource",
                     "reason": "NotFound", "details": {}, "code": 404})


def internal_error(msg: str) -> APIError:
    return errors.internal_error(msg)


def timeout_error() -> APIError:
    """A store write whose outcome is unknown, or a store that did not answer."""
    return errors.timeout("Timeout: request did not complete within requested timeout - "
                          "context deadline exceeded", 0)


def too_large_rv(requested: int, current: int) -> APIError:
    """storage.NewTooLargeResourceVersionError: 504 with retryAfterSeconds 1."""
    e = errors.timeout(f"Too large resource version: {requested}, current: {current}", 1)
    e.status.setdefault("details", {})["causes"] = [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]
    return e


def too_old_rv(requested: int, oldest: int) -> APIError:
    """410 Expired: `too old resource version: 5 (123)`."""
    return errors.expired(f"too old resource version: {requested} ({oldest})")
