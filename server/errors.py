"""Every failure answers JSON ``{"detail": "..."}`` with a 4xx status that says whose fault it
was; a 5xx means the server itself (or, for 502/504, the site an image was fetched from) failed."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from headcheck.errors import ImageError

from .engine_thread import Busy
from .fetch import FetchError
from .guard import Refused
from .schemas import Problem

log = logging.getLogger("headcheck.server")

_IMAGE_STATUS = {"too_large": 413, "not_image": 415, "unsupported": 415}


def image_error_status(kind: str) -> int:
    return _IMAGE_STATUS.get(kind, 422)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses a route can answer."""
    text = {400: "Malformed request, or a URL the server refuses to fetch",
            401: "Missing or unknown API key", 404: "Not found",
            413: "Body or image too large", 415: "Not a supported image or content type",
            422: "Invalid input, or an image that cannot be analysed",
            429: "Rate limit exceeded (see Retry-After)",
            502: "The image's site failed", 503: "Too many lookups waiting (see Retry-After)",
            504: "The image's site timed out"}
    return {s: {"model": Problem, "description": text[s]} for s in statuses}


def _json(status: int, detail: str, headers: dict[str, str] | None = None,
          errors: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Never echo the input back: it may be huge, or hold what a client should not see again.
        errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        if any(e["type"] == "json_invalid" for e in errors):
            return _json(400, "the request body is not valid JSON", errors=errors)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        return _json(422, f"{where}: {first['msg']}" if where else first["msg"], errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _json(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def gone(_: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client stopped sending mid-body: nobody reads this answer, but it is no server
        # error to log with a traceback.
        return _json(400, "the client disconnected before sending the whole body")

    @app.exception_handler(ImageError)
    async def bad_image(_: Request, exc: ImageError) -> JSONResponse:
        return _json(image_error_status(exc.kind), f"cannot analyse the image: {exc}")

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        return _json(400, f"image_url refused: {exc}")

    @app.exception_handler(FetchError)
    async def fetch_failed(_: Request, exc: FetchError) -> JSONResponse:
        return _json(exc.status, str(exc))

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy) -> JSONResponse:
        return _json(503, f"server busy: {exc}; retry shortly", headers={"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json(500, "internal error")
