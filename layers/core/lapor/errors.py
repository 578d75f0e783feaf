"""Errors the API answers with, in the design's shape: ``{"error": {"code", "message", "details"?}}``."""

from __future__ import annotations

from typing import Any


class LaporError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details
        self.status = status or self.status

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class NotFound(LaporError):
    status = 404
    code = "not_found"


class Unprocessable(LaporError):
    status = 422
    code = "validation_error"


class Conflict(LaporError):
    status = 409
    code = "conflict"


class Forbidden(LaporError):
    status = 403
    code = "forbidden"
