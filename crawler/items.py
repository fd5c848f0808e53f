"""What the spider yields: a headshot seen on a profile page, or a page that could not be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# How a headshot was found, in order of trust.
JSONLD = "jsonld"
OPENGRAPH = "opengraph"
HCARD = "hcard"
ACTIVITYPUB = "activitypub"
IMG = "img"
METHODS = (JSONLD, OPENGRAPH, HCARD, ACTIVITYPUB, IMG)


@dataclass
class Headshot:
    """One profile photo on one page. ``file_urls``/``files`` are FilesPipeline's fields."""

    page_url: str
    image_url: str
    how: str
    profile_name: str | None = None
    file_urls: list[str] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    # Filled in by the store pipeline.
    sha256: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if not self.file_urls:
            self.file_urls = [self.image_url]

    @property
    def key(self) -> str:
        """A sighting's identity within a crawl job (the store adds the photo's sha256)."""
        return f"{self.page_url} {self.image_url}"

    def found(self) -> dict[str, Any]:
        """What the spider found, without what the pipelines added (for the journal)."""
        return {"page_url": self.page_url, "image_url": self.image_url, "how": self.how,
                "profile_name": self.profile_name}


@dataclass
class PageError:
    """A page the crawl could not read (HTTP error, timeout, too large...)."""

    url: str
    reason: str
