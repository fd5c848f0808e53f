"""Scrapy's FilesPipeline, keeping the original bytes of every headshot (so provenance metadata
survives), plus HTTP revalidation of expired files.

FilesPipeline stores a file under the hash of its URL and, within ``FILES_EXPIRES`` days, reuses
it without asking the site. Past that it downloads again. Profile sites often keep the URL when
the avatar changes, so an expired file is revalidated instead: the request carries the validators
the site sent with the stored copy (``ETag``, ``Last-Modified``); 304 means unchanged (nothing
downloaded, the copy's clock restarts), 200 brings the new avatar, which overwrites the copy at
the same path and, having a new sha256, becomes a new photo in the store.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FilesPipeline, FSFilesStore
from scrapy.pipelines.media import FileException, FileInfo, MediaPipeline
from twisted.internet.defer import Deferred

from .budget import IMAGE

VALIDATORS = {"ETag": "If-None-Match", "Last-Modified": "If-Modified-Since"}


class _NoDuplicateTraceback(logging.Filter):
    """FilesPipeline logs a failed download as one warning line (status, URL, referring page);
    MediaPipeline then logs the same failure again with a traceback. Keep the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], FileException))


_media_log = logging.getLogger("scrapy.pipelines.media")
if not any(isinstance(f, _NoDuplicateTraceback) for f in _media_log.filters):
    _media_log.addFilter(_NoDuplicateTraceback())


class HeadshotFilesPipeline(FilesPipeline):
    def __init__(self, store_uri: str, *, crawler: Crawler) -> None:
        super().__init__(store_uri, crawler=crawler)
        if not isinstance(self.store, FSFilesStore):
            raise ValueError(f"FILES_STORE must be a local folder (analysis reads the original "
                             f"bytes from it), not {store_uri!r}")
        self.basedir = Path(self.store.basedir)

    def get_media_requests(self, item: Any, info: MediaPipeline.SpiderInfo) -> list[Request]:
        # Avatars are often served from a CDN on another domain.
        return [Request(u, callback=NO_CALLBACK, meta={"allow_offsite": True, IMAGE: True})
                for u in getattr(item, "file_urls", [])]

    def media_to_download(self, request: Request, info: MediaPipeline.SpiderInfo, *,
                          item: Any = None) -> Deferred[FileInfo | None]:
        dfd = super().media_to_download(request, info, item=item)
        return dfd.addCallback(self._revalidate, request, info, item)

    def _revalidate(self, result: FileInfo | None, request: Request,
                    info: MediaPipeline.SpiderInfo, item: Any) -> FileInfo | None:
        """The parent returns None to download; if a copy exists, make it a conditional GET."""
        if result is None:
            path = self.file_path(request, info=info, item=item)
            if (self.basedir / path).is_file():
                for header, value in _read_validators(self.basedir / path).items():
                    request.headers[VALIDATORS[header]] = value
        return result

    async def media_downloaded(self, response: Response, request: Request,
                               info: MediaPipeline.SpiderInfo, *, item: Any = None) -> FileInfo:
        path = self.file_path(request, response=response, info=info, item=item)
        if response.status == 304 and (self.basedir / path).is_file():
            os.utime(self.basedir / path)  # unchanged: trust the copy for FILES_EXPIRES again
            self.inc_stats("revalidated")
            return {"url": request.url, "path": path, "checksum": None, "status": "revalidated"}
        result = await super().media_downloaded(response, request, info, item=item)
        _write_validators(self.basedir / path, response)
        return result


def _sidecar(file: Path) -> Path:
    return file.with_name(file.name + ".http.json")


def _read_validators(file: Path) -> dict[str, str]:
    try:
        data = json.loads(_sidecar(file).read_text())
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if k in VALIDATORS and isinstance(v, str)}


def _write_validators(file: Path, response: Response) -> None:
    found = {k: response.headers[k].decode("latin-1") for k in VALIDATORS if k in response.headers}
    side = _sidecar(file)
    if found:
        side.write_text(json.dumps(found))
    elif side.exists():
        side.unlink()
