"""Request size limits, enforced before and while the body is read (chunked bodies included): each
request's own, and the total of the bodies all requests in flight hold (so many large uploads at
once cannot take the server's memory: past the total, callers are told to retry)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")


class InFlightFull(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(503, f"the server holds {limit} bytes of uploads already; retry "
                              "shortly", headers={"Retry-After": "1"})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, max_inflight_bytes: int | None = None
                 ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_inflight = max_inflight_bytes or 4 * max_bytes
        self.inflight = 0  # bytes reserved by requests in flight (one event loop: no lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await JSONResponse({"detail": "invalid Content-Length header"}, 400)(
                    scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await JSONResponse({"detail": str(BodyTooLarge(self.max_bytes).detail)}, 413,
                                   headers={"Connection": "close"})(scope, receive, send)
                return
        received = reserved = 0

        def reserve(upto: int) -> None:
            nonlocal reserved
            if upto <= reserved:
                return
            if self.inflight + upto - reserved > self.max_inflight:
                raise InFlightFull(self.max_inflight)
            self.inflight += upto - reserved
            reserved = upto

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # An HTTPException: FastAPI passes it through its body parsing unchanged.
                    raise BodyTooLarge(self.max_bytes)
                reserve(received)  # a chunked body reserves as it arrives
            return message

        try:
            if declared:
                try:
                    reserve(int(declared))
                except InFlightFull as exc:
                    await JSONResponse({"detail": exc.detail}, 503, headers={
                        **(exc.headers or {}), "Connection": "close"})(scope, receive, send)
                    return
            await self.app(scope, limited, send)
        finally:
            self.inflight -= reserved
