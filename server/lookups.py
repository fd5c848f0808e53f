"""One lookup: cache, else analysis (in a worker process) and matching on the engine thread;
optionally recorded.
Also lookups by sha256 alone, answered from the stored analysis of bytes the store holds."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from headcheck.analyze import Analysis
from headcheck.engine import Headcheck
from headcheck.feedback import NO_COUNTS
from headcheck.load import sha256_hex
from headcheck.store import Sighting

from .disputes import with_feedback
from .services import Services


async def _disputed(svc: Services, outs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Feedback counts and dispute, read fresh for every answer (cached ones too)."""
    counts = await run_in_threadpool(svc.records.feedback_keys, [o["sha256"] for o in outs])
    after = svc.settings.dispute_after
    return [with_feedback(o, counts.get(o["sha256"], NO_COUNTS), after) for o in outs]


def _sighting(page_url: str, image_url: str | None, name: str | None) -> Sighting:
    return Sighting(page_url=page_url, image_url=image_url or "", profile_name=name,
                    source="lookup")


async def lookup(svc: Services, data: bytes, page_url: str | None,
                 image_url: str | None, name: str | None = None) -> dict[str, Any]:
    """The check JSON (``headcheck check --json``'s shape) plus ``cached``."""
    sha = await run_in_threadpool(sha256_hex, data)  # 10 MB take ~20 ms: not on the loop
    # An operator's review may suppress what a cached verdict rests on: it is part of the key.
    reviewed = await run_in_threadpool(svc.records.reviews_version)
    key = (sha, page_url or "", name or "", str(reviewed))
    # Privacy by default: a lookup is a sighting only when the settings say so and it names a page.
    record = svc.settings.record_lookups and page_url is not None
    hit = svc.cache.get(key, svc.engine.index_version)
    if hit is not None:
        out, analysis = hit
        if record:
            await svc.engine.run(
                lambda hc: hc.add_analysis(analysis, _sighting(page_url, image_url, name)))
        return (await _disputed(svc, [{**out, "cached": True}]))[0]

    def work(hc: Headcheck, a: Analysis) -> tuple[dict[str, Any], Analysis, int]:
        res = hc.check_analysis(a, page_url=page_url, profile_name=name)
        if record:
            hc.add_analysis(a, _sighting(page_url, image_url, name))
        return res.to_json(None), a, hc.index.version

    out, analysis, version = await svc.engine.lookup(data, work)
    svc.cache.put(key, version, (out, analysis))
    return (await _disputed(svc, [{**out, "cached": False}]))[0]


async def lookup_hashes(svc: Services, photos: list[tuple[str, str | None, str | None]]
                        ) -> list[dict[str, Any] | None]:
    """Per (sha256, page_url, name): the verdict from the stored analysis of those bytes (as the
    stored verdicts of ``headcheck flagged``, with this page and name), or None when the store
    does not hold them (the caller then sends the image). One trip to the engine thread."""

    def work(hc: Headcheck) -> list[dict[str, Any] | None]:
        out: list[dict[str, Any] | None] = []
        for sha, page, name in photos:
            v = hc.check_stored(sha, page_url=page, profile_name=name)
            out.append(None if v is None else
                       {"file": None, "sha256": sha, **v.to_dict(), "error": None,
                        "cached": False})
        return out

    found = await svc.engine.run(work)
    known = iter(await _disputed(svc, [v for v in found if v is not None]))
    return [None if v is None else next(known) for v in found]
