"""Request and response bodies: what /openapi.json publishes and the tests hold the API to."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

Label = Literal["synthetic", "composited", "reused", "none"]
FeedbackLabel = Literal["false_positive", "confirmed"]
SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"
MAX_URL = 2048
MAX_NAME = 200


def _http_url(value: str) -> str:
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an absolute http or https URL")
    return value


HttpUrlText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URL),
                        AfterValidator(_http_url)]
# A person's name as a page shows it; surrounding space dropped, an empty one means none. No
# markup or data structure ({ } [ ] < >): never part of a name, and a sign of a malformed field.
ProfileName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME,
                                               pattern=r"^[^{}\[\]<>]*$")]
Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN),
                   AfterValidator(str.lower)]


class Problem(BaseModel):
    detail: str = Field(description="What was wrong, in words.")
    errors: list[dict[str, Any]] | None = Field(
        None, description="For invalid input: where and why, per field.")


class MatchOut(BaseModel):
    sha256: str
    region: str = Field(description="The hash that proposed the match.")
    distance: int
    pages: list[str]
    names: list[str] = Field(default_factory=list,
                             description="Profile names the other photo was seen under.")
    relation: Literal["same_photo", "same_context"]
    inliers: int
    face_inliers: int
    dense: dict[str, float] = Field(
        default_factory=dict, description="Per zone (context, core, margin): correlation of the "
        "fine detail of the two aligned photos and the textured area it rests on; over the "
        "whole window, the textured area whose neighbourhood agrees (agree_area) and its share "
        "(agree_share); the pixel evidence behind the relation.")
    face_distance: float | None


class ReasonOut(BaseModel):
    kind: str
    signal: str
    detail: str
    score: float
    matches: list[MatchOut]
    page_count: int = Field(0, ge=0, description="Distinct pages behind the reason (reuse: "
                            "every page the photo is on, this lookup's included)")
    headline: str = Field("", description="One plain sentence for people, without jargon.")
    evidence: dict[str, Any] = Field(
        default_factory=dict, description="The facts behind the reason (numbers, names, "
        "links), by key; the keys depend on `signal`.")


class Verdict(BaseModel):
    label: Label
    confidence: float = Field(ge=0, le=1)
    reasons: list[ReasonOut]


class FeedbackCounts(BaseModel):
    false_positive: int
    confirmed: int


class LookupOut(Verdict):
    """The object ``headcheck check --json`` prints, plus whether the cache answered."""

    file: None = Field(None, description="Always null here (kept for the CLI's shape).")
    sha256: str
    error: None = None
    cached: bool = Field(description="Answered from the cache of recent lookups.")
    disputed: bool = Field(False, description="Marked wrong (false_positive) by at least "
                           "dispute_after distinct keys: the label stays, the confidence is "
                           "halved and a feedback.disputed reason says so.")
    feedback: FeedbackCounts | None = Field(None, description="Distinct keys that marked this "
                                            "photo's verdict wrong or confirmed it.")


class LookupUrlIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "image_url": "https://example.org/img/avatars/ann-lee.jpg",
        "page_url": "https://example.org/people/ann-lee", "name": "Ann Lee"}]})
    image_url: HttpUrlText
    page_url: HttpUrlText | None = None
    name: ProfileName | None = Field(
        None, description="The profile name the photo was shown under on page_url.")


MAX_HASHES = 100


class HashLookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: Sha256
    page_url: HttpUrlText | None = None
    name: ProfileName | None = None


class HashLookupsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    photos: list[HashLookupIn] = Field(min_length=1, max_length=MAX_HASHES)


class HashLookupOut(BaseModel):
    sha256: str
    known: bool = Field(description="Whether the store holds these bytes; if not, send them "
                                    "to /v1/lookup.")
    verdict: LookupOut | None = Field(None, description="When known: the /v1/lookup answer, "
                                      "from the stored analysis.")


class HashLookupsOut(BaseModel):
    results: list[HashLookupOut] = Field(description="In the order asked.")


class SightingOut(BaseModel):
    page_url: str
    image_url: str
    profile_name: str | None
    source: str | None
    first_seen: str
    last_seen: str
    times_seen: int


class SignalOut(BaseModel):
    name: str
    kind: str
    score: float
    detail: str
    evidence: dict[str, Any]
    headline: str = Field("", description="One plain sentence for people, without jargon.")
    detector: str | None = Field(None, description="The detector that made it; null for "
                                 "signals stored before detector versions were kept.")
    detector_version: str | None = Field(
        None, description="That detector's version then; null when not recorded (or it did "
                          "not run: a not_checked note). A scored signal of a version other "
                          "than the installed one is a note in the verdict (evidence.stale).")




class PhotoOut(BaseModel):
    sha256: str
    width: int | None
    height: int | None
    format: str | None
    face: dict[str, Any] | None
    analyzed_at: str | None
    detectors: dict[str, str] | None = Field(
        None, description="The detectors that ran on the stored analysis, name -> version; "
                          "null for photos stored before detector versions were kept.")
    first_seen: str | None
    last_seen: str | None
    sightings_total: int
    sightings: list[SightingOut] = Field(description="Oldest first, at most 200.")
    signals: list[SignalOut]
    matches: dict[str, list[MatchOut]] = Field(description="Verified relations by region.")
    verdict: Verdict
    feedback: FeedbackCounts


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: Sha256
    label: FeedbackLabel
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class FeedbackOut(BaseModel):
    id: int
    sha256: str
    label: FeedbackLabel
    created_at: str
    known_photo: bool = Field(description="Whether the store holds this photo.")


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    index_photos: int
    detectors_off: dict[str, str] = Field(
        default_factory=dict,
        description="Detectors that cannot run on this server's machine, and why: lookups "
                    "carry none of their signals (normally empty).")


class IndexOut(BaseModel):
    photos: int
    entries: dict[str, int] = Field(description="Indexed hashes per kind.")
    bytes: int
    last_photo_id: int
    built_seconds: float
    checked_at: str = Field(description="When the index was last brought level with the store.")
    changed_at: str = Field(description="When it last gained photos.")
    age_seconds: float = Field(description="Seconds since checked_at.")


class CacheOut(BaseModel):
    entries: int
    hits: int
    misses: int


class StatsOut(BaseModel):
    photos: int
    sightings: int
    region_hashes: int
    signals: int
    feedback: int
    index: IndexOut
    cache: CacheOut
    pending_lookups: int
    uptime_seconds: float
