"""Units beside the photo: profiles (studies of fake accounts count accounts, not pictures), the
sightings behind every figure as a CSV, and the synthetic photos to check by eye."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..store import Store
from .clusters import Member, load_members

SYNTHETIC = "synthetic"


@dataclass(frozen=True)
class ProfileRow:
    """One profile page, labelled by the strongest finding among the photos seen on it."""

    page_url: str
    name: str | None
    label: str
    confidence: float
    photos: int


class Labelled(Protocol):
    """The slice of a report PhotoRow this module reads."""

    label: str
    confidence: float


def profile_rows(store: Store, labels: Mapping[int, Labelled]) -> list[ProfileRow]:
    """Every page a photo was seen on, as a profile: its label is that of its most confident
    flagged photo, else "none"."""
    photos: dict[str, set[int]] = defaultdict(set)
    names: dict[str, str] = {}
    for page, pid, name in store.page_photo_names():
        photos[page].add(pid)
        if name and page not in names:
            names[page] = str(name)
    out = []
    for page, ids in photos.items():
        flagged = [labels[i] for i in ids if i in labels and labels[i].label != "none"]
        best = max(flagged, key=lambda r: r.confidence, default=None)
        out.append(ProfileRow(page, names.get(page), best.label if best else "none",
                              best.confidence if best else 0.0, len(ids)))
    return sorted(out, key=lambda p: p.page_url)


def write_sightings(store: Store, labels: Mapping[int, Labelled], path: Path) -> str:
    """One row per sighting (photo on a page): what every count in the report is made of."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sha256", "label", "page_url", "profile_name", "image_url", "source",
                    "first_seen", "last_seen", "times_seen"])
        for pid, sha, page, name, image, source, first, last, times in store.sighting_export():
            row = labels.get(int(pid))
            w.writerow([sha, row.label if row else "", page, name or "", image, source or "",
                        first, last, times])
    return path.name


def synthetic_members(store: Store, labels: Mapping[int, Labelled], limit: int,
                      with_thumbs: bool) -> tuple[list[Member], int]:
    """The most confident synthetic photos (thumbnail, sightings) and how many there are."""
    ids = sorted((i for i, r in labels.items() if r.label == SYNTHETIC),
                 key=lambda i: (-labels[i].confidence, i))
    members = load_members(store, ids[:limit], with_thumbs)
    return [members[i] for i in ids[:limit] if i in members], len(ids)
