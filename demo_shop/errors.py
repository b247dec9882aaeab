"""JSON errors of the shop API: ``{"error": {"code", "message"}}``."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


class ShopApiError(Exception):
    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class NotFound(ShopApiError):
    status = 404


class Unauthorized(ShopApiError):
    status = 401


class Conflict(ShopApiError):
    """The request is well-formed but the order's state does not allow it."""
    status = 409


class Invalid(ShopApiError):
    status = 422


class TooManyRequests(ShopApiError):
    status = 429


def _body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def install(app: FastAPI) -> None:
    @app.exception_handler(ShopApiError)
    async def _shop_error(request: Request, error: ShopApiError) -> JSONResponse:
        return JSONResponse(_body(error.code, error.message), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        where = ", ".join(".".join(str(p) for p in item.get("loc", ())) for item in error.errors())
        return JSONResponse(_body("invalid_request", f"请求参数不正确: {where}"), status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse(_body(f"http_{error.status_code}", str(error.detail)),
                            status_code=error.status_code)
