"""How the data were gathered: crawl runs, sighting sources and dates, the thresholds in force and
software versions, so a published figure can be traced back to its method."""

from __future__ import annotations

import json
import platform
import sqlite3
from dataclasses import dataclass
from typing import Any

from .. import __version__, dense, face, geometry, match, verify
from ..analyze import ANALYSIS_VERSION
from ..hashkinds import KIND, KINDS, REGION_KINDS
from ..stale import OFF
from ..store import Store


@dataclass(frozen=True)
class CrawlRun:
    id: int
    started_at: str | None
    finished_at: str | None
    status: str | None
    seeds: list[str]
    settings: dict[str, Any]
    pages: int | None
    profiles: int | None
    photos_new: int | None
    photos_known: int | None
    errors: int | None
    software_version: str | None


@dataclass(frozen=True)
class Threshold:
    name: str
    value: str
    meaning: str


@dataclass(frozen=True)
class Gathering:
    crawls: list[CrawlRun]
    sources: list[tuple[str, int, int]]  # (source, sightings, photos)
    first_seen: str | None
    last_seen: str | None
    photos: int
    sightings: int
    pages: int
    thresholds: list[Threshold]
    versions: list[tuple[str, str]]


def _json(text: str | None, default: Any) -> Any:
    try:
        value = json.loads(text) if text else default
    except json.JSONDecodeError:
        return default
    return value if isinstance(value, type(default)) else default


def crawl_runs(store: Store) -> list[CrawlRun]:
    rows = store.crawl_rows()
    return [CrawlRun(r[0], r[1], r[2], r[3], [str(s) for s in _json(r[4], [])],
                     _json(r[5], {}), *r[6:]) for r in rows]


def thresholds() -> list[Threshold]:
    ref = geometry.reference()
    th = match.THRESHOLDS
    out = [Threshold(f"candidate radius, {k.name}", f"{k.radius} bits",
                     "Hamming distance under which a hash proposes a candidate (recall only)")
           for k in KINDS if k.radius is not None]
    out += [
        Threshold("candidates verified", str(match.MAX_VERIFY), "nearest first, per lookup"),
        Threshold("keypoint gate", f">= {th.min_keypoints}",
                  "keypoints agreeing with one near-identity transform before pixels are "
                  "compared (they align; they are never evidence alone)"),
        Threshold("shared context pixels",
                  f"correlation >= {th.context_corr:g} over >= {th.context_area} textured px",
                  "fine detail (band-pass) of body and backdrop, aligned by the keypoints, at "
                  f"{dense.PX_PER_UNIT} px per eye distance"),
        Threshold("same face pixels",
                  f"correlation >= {th.core_corr:g} over >= {th.core_area} textured px",
                  "eyes, nose and mouth: a same-photo claim needs these and the context"),
        Threshold("identity distance", f"< {face.SAME_FACE_DISTANCE}",
                  "dlib embedding distance below which two faces are the same person"),
        Threshold("transform limits",
                  f"scale {verify.MAX_SCALE_DRIFT:.0%}, rotation {verify.MAX_ANGLE_DEG:g} deg, "
                  f"shift {verify.MAX_SHIFT:g} eye distances",
                  "a verified match must be close to the identity in the face frame"),
        Threshold("ratio test / RANSAC", f"{verify.RATIO:g} / {verify.RANSAC_THRESHOLD:g}",
                  "descriptor ratio; inlier tolerance in eye distances"),
        Threshold("StyleGAN eye geometry", f"<= {ref.threshold:.2f}",
                  f"Mahalanobis distance from a reference of {ref.samples} StyleGAN faces "
                  f"(square images within {geometry.MAX_ASPECT_DEVIATION:.0%})"),
        Threshold("usable region hash",
                  ", ".join(f"{k.name} texture {k.min_quality:g} inside {k.min_inside:g}"
                            for k in REGION_KINDS),
                  "floors below which a region hash is stored but never indexed"),
        Threshold("PDQ quality", f">= {KIND['pdq'].min_quality:g}",
                  "whole-image hashes are probed only above it"),
    ]
    return out


def detector_coverage(runs: list[tuple[str, str, int]], photos: int) -> list[tuple[str, str]]:
    """One row per detector: how many stored photos each version checked, how many it applied to
    but was off for, and how many it did not check at all. A label's prevalence counts only what
    its detectors checked, so this is what the "synthetic" figure is a lower bound of."""
    by: dict[str, list[tuple[str, int]]] = {}
    for name, version, n in runs:
        by.setdefault(name, []).append((version, n))
    rows = []
    for name, seen in sorted(by.items()):
        ran = [f"v{v}: {n:,}" for v, n in seen if not v.startswith(OFF)]
        off = sum(n for v, n in seen if v.startswith(OFF))
        unchecked = photos - sum(n for _, n in seen)
        parts = ["checked " + ", ".join(ran) if ran else "checked none"]
        if off:
            parts.append(f"off on the analysing machine for {off:,}")
        parts.append(f"not checked {unchecked:,} (it did not apply, e.g. no face; it failed; or "
                     "the photo was analysed before it was installed or its version recorded)")
        rows.append((f"detector {name} (photos)", "; ".join(parts)))
    return rows


def versions(store: Store) -> list[tuple[str, str]]:
    import matplotlib

    analysis = ", ".join(f"v{v}: {n} photos" for v, n in store.analysis_versions())
    return [
        ("headcheck (this report)", __version__),
        ("analysis version (this software)", str(ANALYSIS_VERSION)),
        ("analysis versions in the store", analysis or "no photos"),
        *detector_coverage(store.detector_runs(), store.photo_count()),
        ("store schema", str(store.schema_version())),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("matplotlib", matplotlib.__version__),
    ]


def gathering(store: Store) -> Gathering:
    first, last, sightings, pages = store.sighting_span()
    return Gathering(crawl_runs(store), store.sighting_sources(), first, last,
                     store.photo_count(), sightings, pages, thresholds(), versions(store))
