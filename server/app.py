"""``create_app(settings)``: the FastAPI app, its middleware and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from headcheck import __version__

from . import errors
from .engine_thread import EngineThread
from .guard import Resolver
from .limits import BodyLimit
from .loopback import LoopbackGuard
from .routes import router
from .services import Services
from .settings import Settings

log = logging.getLogger("headcheck.server")


async def keep_index_current(engine: EngineThread, every: float) -> None:
    """Index what a crawl adds to the same database, every few seconds, for as long as we run."""
    while True:
        await asyncio.sleep(every)
        try:
            added = await engine.refresh()
        except Exception:  # a locked or busy database: the next round tries again
            log.exception("index refresh failed")
            continue
        if added:
            log.info("indexed %d new photos", added)


def create_app(settings: Settings, *, resolve: Resolver | None = None) -> FastAPI:
    """``resolve`` replaces DNS resolution for fetched URLs (tests)."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[dict[str, Services]]:
        services = await Services.start(settings, resolve)
        refresher = asyncio.create_task(keep_index_current(services.engine,
                                                           settings.refresh_seconds))
        try:
            yield {"services": services}
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            await services.close()

    app = FastAPI(title="headcheck lookup API", version=__version__, lifespan=lifespan,
                  docs_url="/docs", openapi_url="/openapi.json", redoc_url=None,
                  description="Signals that a profile headshot is synthetic, composited or "
                              "reused, with their evidence. A label of `none` means no signal "
                              "was found, never that a photo is authentic.")
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes,
                       max_inflight_bytes=settings.max_inflight_bytes)
    if not settings.api_keys:  # keyless (loopback only): no rebinding, no cross-site posts
        app.add_middleware(LoopbackGuard, bound_host=settings.host)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Headcheck-Client"],
                           max_age=600)
    errors.install(app)
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def root() -> dict[str, str]:
        """A person who opens the bare address learns where to go."""
        return {"service": "headcheck lookup API", "version": __version__,
                "docs": "/docs", "openapi": "/openapi.json", "health": "/v1/health",
                "lookup": "POST /v1/lookup"}

    return app
