"""Fetch an image a client names by URL, within limits: http(s) only, through the SSRF guard,
redirects followed one hop at a time (each hop's scheme checked here, its address by the guard),
an overall deadline, a byte limit and an image content type."""

from __future__ import annotations

import anyio
import httpx

from headcheck.netguard import Unresolvable, check_url

from .guard import GuardedBackend, GuardedTransport, Resolver
from .settings import Settings

REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """Fetching failed; ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Fetcher:
    def __init__(self, settings: Settings, resolve: Resolver) -> None:
        self.timeout = settings.fetch_timeout_seconds
        self.max_bytes = settings.fetch_max_bytes
        self.max_redirects = settings.fetch_max_redirects
        backend = GuardedBackend(settings.fetch_allow_networks, resolve)
        self._client = httpx.AsyncClient(
            transport=GuardedTransport(backend), trust_env=False, follow_redirects=False,
            timeout=httpx.Timeout(self.timeout),
            # identity: a compressed body could expand past the byte limit before it is counted
            headers={"User-Agent": settings.fetch_user_agent, "Accept": "image/*",
                     "Accept-Encoding": "identity"})

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str) -> bytes:
        """The image bytes at ``url``; raises FetchError (with the API status) or Refused."""
        try:
            with anyio.fail_after(self.timeout):
                return await self._follow(httpx.URL(url))
        except TimeoutError:
            raise FetchError(504, f"image_url did not answer within {self.timeout:g} s") from None
        except Unresolvable as exc:
            raise FetchError(422, f"image_url: {exc}") from None
        except httpx.InvalidURL as exc:
            raise FetchError(422, f"image_url is not a valid URL: {exc}") from None
        except httpx.TimeoutException:
            raise FetchError(504, "image_url timed out") from None
        except httpx.HTTPError as exc:
            raise FetchError(502, f"could not fetch image_url: {type(exc).__name__}") from None

    async def _follow(self, url: httpx.URL) -> bytes:
        for _ in range(self.max_redirects + 1):
            check_url(str(url))
            async with self._client.stream("GET", url) as resp:
                if resp.status_code in REDIRECTS and "location" in resp.headers:
                    url = url.join(resp.headers["location"])
                    continue
                if resp.status_code != 200:
                    raise FetchError(502, f"image_url answered HTTP {resp.status_code}")
                return await self._read_image(resp)
        raise FetchError(422, f"image_url redirected more than {self.max_redirects} times")

    async def _read_image(self, resp: httpx.Response) -> bytes:
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        if not ctype.startswith("image/"):
            raise FetchError(422, f"image_url is not an image (content type {ctype or 'none'})")
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FetchError(422, f"image at image_url is {declared} bytes, the limit is "
                                  f"{self.max_bytes}")
        body = bytearray()
        async for chunk in resp.aiter_raw():
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchError(422, f"image at image_url exceeds {self.max_bytes} bytes")
        return bytes(body)
