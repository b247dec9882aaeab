"""JSON errors for API callers: ``{"error": {"code": ..., "message": <Chinese text>}}``."""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


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

    @app.exception_handler(RedisError)
    async def _store_down(request: Request, error: RedisError) -> JSONResponse:
        # Redis restarting (or failing over) is an outage to wait out, not a bug: 503 asks the
        # caller to retry, and a load balancer may try another instance.
        log.warning("%s %s: Redis unavailable: %s", request.method, request.url.path,
                    type(error).__name__)
        return JSONResponse(error_body("unavailable", "服务暂时不可用，请稍后重试"),
                            status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        messages = {400: "请求内容无法解析，请检查格式", 404: "找不到这个地址",
                    405: "不支持这种请求方法"}
        return JSONResponse(error_body(f"http_{error.status_code}",
                                       messages.get(error.status_code, str(error.detail))),
                            status_code=error.status_code)
