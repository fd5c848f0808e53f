"""API keys (``Authorization: Bearer``) and the per-key rate limit, as one route dependency.

With no keys configured (allowed on loopback only) every caller is "local" and is rate-limited by
its address. Keys are compared in constant time; only a short fingerprint of a key is ever stored.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from .services import services_of

bearer = HTTPBearer(auto_error=False, description="An API key from the server's settings.")


@dataclass(frozen=True)
class Client:
    key_id: str  # "local" without keys, else a fingerprint of the key (never the key)


def key_id(key: str) -> str:
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _spend(request: Request, bucket: str) -> None:
    svc = services_of(request)
    wait = svc.limiter.take(bucket)
    if wait is not None:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            429, f"rate limit of {svc.settings.rate_per_minute:g} requests a minute exceeded; "
                 f"retry in {seconds} s", headers={"Retry-After": str(seconds)})


async def authorize(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Client:
    keys = services_of(request).settings.key_values()
    address = f"addr:{request.client.host if request.client else 'unknown'}"
    if not keys:
        _spend(request, address)
        return Client("local")
    given = creds.credentials.encode() if creds else b""
    # Compare with every key, so the time taken does not tell which one nearly matched.
    matched = [hmac.compare_digest(given, k.encode()) for k in keys]
    if creds is None or not any(matched):
        _spend(request, address)  # failed attempts count against the caller's address
        if creds is None:
            raise HTTPException(401, "an API key is required: send 'Authorization: Bearer "
                                     "<key>'", headers={"WWW-Authenticate": "Bearer"})
        raise HTTPException(401, "unknown API key",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    client = Client(key_id(creds.credentials))
    _spend(request, client.key_id)
    return client
