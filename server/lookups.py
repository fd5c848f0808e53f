"""One lookup: cache, else analysis and matching on the engine thread; optionally recorded."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from headcheck.analyze import Analysis
from headcheck.engine import Headcheck
from headcheck.load import sha256_hex
from headcheck.store import Sighting

from .services import Services


def _sighting(page_url: str, image_url: str | None) -> Sighting:
    return Sighting(page_url=page_url, image_url=image_url or "", source="lookup")


async def lookup(svc: Services, data: bytes, page_url: str | None,
                 image_url: str | None) -> dict[str, Any]:
    """The check JSON (``headcheck check --json``'s shape) plus ``cached``."""
    sha = await run_in_threadpool(sha256_hex, data)  # 10 MB take ~20 ms: not on the loop
    key = (sha, page_url or "")
    # Privacy by default: a lookup is a sighting only when the settings say so and it names a page.
    record = svc.settings.record_lookups and page_url is not None
    hit = svc.cache.get(key, svc.engine.index_version)
    if hit is not None:
        out, analysis = hit
        if record:
            await svc.engine.run(
                lambda hc: hc.add_analysis(analysis, _sighting(page_url, image_url)))
        return {**out, "cached": True}

    def work(hc: Headcheck) -> tuple[dict[str, Any], Analysis, int]:
        res = hc.check(data, page_url=page_url)
        if record:
            hc.add_analysis(res.analysis, _sighting(page_url, image_url))
        return res.to_json(None), res.analysis, hc.index.last_photo_id

    out, analysis, version = await svc.engine.run(work)
    svc.cache.put(key, version, (out, analysis))
    return {**out, "cached": False}
