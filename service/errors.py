"""JSON errors for API callers: ``{"error": {"code": ..., "message": <Chinese text>}}``."""
from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error_body(error.code, error.message), status_code=error.status,
                            headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(item.get("loc", ())), "msg": item.get("msg", "")}
                   for item in error.errors()]
        return JSONResponse(error_body("invalid_request", "请求格式不正确", details=details),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        messages = {400: "请求内容无法解析，请检查格式", 404: "找不到这个地址",
                    405: "不支持这种请求方法"}
        return JSONResponse(error_body(f"http_{error.status_code}",
                                       messages.get(error.status_code, str(error.detail))),
                            status_code=error.status_code)
