"""The /v1 endpoints: each parses, delegates to a service and shapes the answer."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.exceptions import HTTPException

from headcheck import __version__

from . import lookups
from .auth import Client, authorize
from .errors import problems
from .schemas import (
    SHA256_PATTERN,
    FeedbackIn,
    FeedbackOut,
    HashLookupsIn,
    HashLookupsOut,
    HealthOut,
    HttpUrlText,
    LookupOut,
    LookupUrlIn,
    PhotoOut,
    ProfileName,
    StatsOut,
)
from .services import services_of
from .upload import OPENAPI_BODY, read_upload

router = APIRouter(prefix="/v1")
Authorized = Annotated[Client, Depends(authorize)]


def require_json(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise HTTPException(415, f"send JSON (application/json), not {media or 'no content type'}")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


@router.post("/lookup", response_model=LookupOut, openapi_extra=OPENAPI_BODY,
             responses=problems(400, 401, 413, 415, 422, 429, 503))
async def lookup(
    request: Request, _: Authorized,
    page_url: Annotated[HttpUrlText | None, Query(description="Page the photo was seen on.")]
    = None,
    image_url: Annotated[HttpUrlText | None, Query(description="Where the image came from.")]
    = None,
    name: Annotated[ProfileName | None, Query(
        description="The profile name the photo was shown under on page_url.")] = None,
) -> dict[str, Any]:
    """Verdict for an uploaded image: raw body (image/*) or multipart with a file ``image``."""
    svc = services_of(request)
    data, page, image, name = await read_upload(request, page_url, image_url,
                                                svc.settings.max_request_bytes, name)
    return await lookups.lookup(svc, data, page, image, name)


@router.post("/lookup-url", response_model=LookupOut, dependencies=[Depends(require_json)],
             responses=problems(400, 401, 413, 415, 422, 429, 502, 503, 504))
async def lookup_url(body: LookupUrlIn, request: Request, _: Authorized) -> dict[str, Any]:
    """Verdict for an image the server fetches itself (public http(s) addresses only)."""
    svc = services_of(request)
    data = await svc.fetcher.fetch(body.image_url)
    return await lookups.lookup(svc, data, body.page_url, body.image_url, body.name or None)


@router.post("/lookup-hashes", response_model=HashLookupsOut,
             dependencies=[Depends(require_json)], responses=problems(400, 401, 415, 422, 429))
async def lookup_hashes(body: HashLookupsIn, request: Request, _: Authorized) -> dict[str, Any]:
    """Verdicts for photos by sha256, for bytes the store already holds (no upload, no analysis):
    a page of avatars in one request; the unknown ones are then sent to /v1/lookup."""
    asked = [(p.sha256, p.page_url, p.name or None) for p in body.photos]
    found = await lookups.lookup_hashes(services_of(request), asked)
    return {"results": [{"sha256": sha, "known": v is not None, "verdict": v}
                        for (sha, _p, _n), v in zip(asked, found, strict=True)]}


@router.get("/photos/{sha256}", response_model=PhotoOut,
            responses=problems(401, 404, 422, 429))
def photo(sha256: Annotated[str, Path(pattern=SHA256_PATTERN)], request: Request,
          _: Authorized) -> dict[str, Any]:
    """What the store knows about a photo: sightings, signals, verified matches, verdict."""
    found = services_of(request).records.photo(sha256.lower())
    if found is None:
        raise HTTPException(404, f"no photo with sha256 {sha256.lower()} in the store")
    return found


@router.post("/feedback", response_model=FeedbackOut, status_code=201,
             dependencies=[Depends(require_json)],
             responses=problems(400, 401, 413, 415, 422, 429))
def feedback(body: FeedbackIn, request: Request, client: Authorized) -> dict[str, Any]:
    """Record that a verdict was a false positive, or confirmed, with an optional note."""
    return services_of(request).records.add_feedback(body.sha256, body.label, body.note,
                                                     client.key_id)


@router.get("/health", response_model=HealthOut)
async def health(request: Request) -> dict[str, Any]:
    """Liveness; needs no key."""
    engine = services_of(request).engine
    status = engine.status
    return {"status": "ok", "version": __version__, "index_photos": status.photos if status else 0,
            "detectors_off": engine.detectors_off}


@router.get("/stats", response_model=StatsOut, responses=problems(401, 429))
def stats(request: Request, _: Authorized) -> dict[str, Any]:
    """Store counts, index size and age, cache use."""
    svc = services_of(request)
    status = svc.engine.status
    assert status is not None  # set before the app serves
    now = time.time()
    return {
        **svc.records.counts(),
        "index": {"photos": status.photos, "entries": status.entries, "bytes": status.nbytes,
                  "last_photo_id": status.last_photo_id, "built_seconds": status.built_seconds,
                  "checked_at": _iso(status.checked_at), "changed_at": _iso(status.changed_at),
                  "age_seconds": round(now - status.checked_at, 3)},
        "cache": {"entries": len(svc.cache), "hits": svc.cache.hits, "misses": svc.cache.misses},
        "pending_lookups": svc.engine.pending,
        "uptime_seconds": round(now - svc.started, 3),
    }
