"""What the app holds while it runs, created in the lifespan and reached through request.state."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from starlette.requests import Request

from .cache import LookupCache
from .engine_thread import EngineThread
from .fetch import Fetcher
from .guard import Resolver, system_resolve
from .migrations import migrate
from .ratelimit import RateLimiter
from .records import Records
from .settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: EngineThread
    records: Records
    fetcher: Fetcher
    cache: LookupCache
    limiter: RateLimiter
    started: float = field(default_factory=time.time)

    @classmethod
    async def start(cls, settings: Settings, resolve: Resolver | None = None) -> Services:
        engine = EngineThread(settings.db, settings.max_pending, settings.workers())
        await engine.start()  # creates the store (and its core schema) if it is new
        records = Records(settings.db)
        await engine.run(lambda hc: migrate(hc.store.db), queue=False)
        return cls(settings, engine, records, Fetcher(settings, resolve or system_resolve),
                   LookupCache(settings.cache_entries, settings.cache_seconds),
                   RateLimiter(settings.rate_per_minute, settings.rate_burst))

    async def close(self) -> None:
        await self.fetcher.aclose()
        await self.engine.close()
        self.records.close()


def services_of(request: Request) -> Services:
    return request.state.services
