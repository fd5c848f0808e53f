"""Stored photos' verdicts from the tables, through the pure ``judge``: in bulk (a few queries
per chunk of photos, no face models loaded) for reports and ``headcheck flagged``, or one at a
time for ``Headcheck.stored_verdict``, by the same code.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from .dense import NO_SCORE, DenseScore
from .feedback import suppressions
from .identity import Seen, unique_pages
from .judge import Verdict, judge
from .match import Match
from .signals import Signal
from .store import Store
from .suppress import NO_SUPPRESSION
from .verify import Verification

CHUNK = 2000  # photos a round of queries; bounds memory on stores with millions of photos
_MAX_VARS = 900  # ids per IN (...) list, under SQLite's smallest variable limit


@dataclass(frozen=True)
class Page:
    url: str
    first_seen: str | None


@dataclass
class PhotoVerdict:
    photo_id: int
    sha256: str
    cluster_id: int | None
    phash: str | None
    verdict: Verdict
    pages: list[Page] = field(default_factory=list)  # distinct pages, oldest sighting first

    @property
    def first_seen(self) -> str | None:
        seen = [p.first_seen for p in self.pages if p.first_seen]
        return min(seen) if seen else None


def in_chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), _MAX_VARS):
        yield ids[i:i + _MAX_VARS]


def _pages(store: Store, ids: Iterable[int]) -> dict[int, list[Page]]:
    """Distinct pages per photo, ordered as ``Store.pages`` orders them (oldest first)."""
    out: dict[int, list[Page]] = defaultdict(list)
    for part in in_chunks(ids):
        q = ",".join("?" * len(part))
        rows = store.db.execute(
            f"SELECT photo_id, page_url, min(first_seen) FROM sightings WHERE photo_id IN ({q}) "
            "GROUP BY photo_id, page_url ORDER BY photo_id, page_url", part).fetchall()
        for pid, url, seen in rows:
            out[int(pid)].append(Page(url, seen))
    for pages in out.values():
        pages.sort(key=lambda p: p.first_seen or "")  # stable: ties keep page_url order
    return out


def _sha256(store: Store, ids: Iterable[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in in_chunks(ids):
        out.update(store.sha256_of(part))
    return out


def _signals(store: Store, lo: int, hi: int) -> dict[int, list[Signal]]:
    out: dict[int, list[Signal]] = defaultdict(list)
    for pid, name, kind, score, detail, evidence, headline in store.db.execute(
            "SELECT photo_id, name, kind, score, detail, evidence, headline FROM signals "
            "WHERE photo_id BETWEEN ? AND ? ORDER BY photo_id, name", [lo, hi]):
        out[int(pid)].append(Signal(name, kind, score, detail, json.loads(evidence or "{}"),
                                    headline or ""))
    return out


def _match_rows(store: Store, lo: int, hi: int) -> dict[int, list[tuple]]:
    """Relations in both directions per photo, in ``Store.match_rows`` order: those the photo
    found (by the other's id), then those found of it (in the order they were stored)."""
    found: dict[int, list[tuple]] = defaultdict(list)
    found_of: dict[int, list[tuple]] = defaultdict(list)
    cols = "relation, region, distance, inliers, face_inliers, face_distance, dense"
    for row in store.db.execute(
            f"SELECT photo_id, other_id, {cols} FROM matches WHERE photo_id BETWEEN ? AND ? "
            "ORDER BY photo_id, other_id", [lo, hi]):
        found[int(row[0])].append((int(row[1]), *row[2:]))
    for row in store.db.execute(
            f"SELECT other_id, photo_id, {cols} FROM matches WHERE other_id BETWEEN ? AND ? "
            "ORDER BY other_id, rowid", [lo, hi]):
        found_of[int(row[0])].append((int(row[1]), *row[2:]))
    return {pid: found.get(pid, []) + found_of.get(pid, []) for pid in {*found, *found_of}}


def _chunk_verdicts(store: Store, photos: list[tuple]) -> list[PhotoVerdict]:
    lo, hi = photos[0][0], photos[-1][0]
    signals = _signals(store, lo, hi)
    matches = _match_rows(store, lo, hi)
    others = {m[0] for rows in matches.values() for m in rows}
    pages = _pages(store, {*(p[0] for p in photos), *others})
    seen = store.seen({*(p[0] for p in photos), *others})  # chunked by the store
    shas = _sha256(store, others)
    suppressed = suppressions(store, [p[1] for p in photos])
    out = []
    for pid, sha, cluster, phash in photos:
        ms = [_match(o, shas[o], row, seen.get(o, [])) for o, *row in matches.get(pid, [])]
        verdict = judge(signals.get(pid, []), ms, own_seen=seen.get(pid, []),
                        suppressed=suppressed.get(sha, NO_SUPPRESSION))
        out.append(PhotoVerdict(pid, sha, cluster, phash, verdict, pages.get(pid, [])))
    return out


def _match(other: int, sha: str, row: list, seen: list[Seen]) -> Match:
    rel, region, dist, inl, face_inl, fd, dense = row
    return Match(other, sha, rel, region, dist, Verification(inl, face_inl, 0, 1.0, 0.0, 0.0),
                 fd, unique_pages(seen), dense=_dense(dense), seen=seen)


def _dense(text: str | None) -> DenseScore:
    return DenseScore.from_dict(json.loads(text)) if text else NO_SCORE


def stored_signals(store: Store, photo_id: int) -> list[Signal]:
    """One stored photo's signals, read as the bulk verdicts read them."""
    return _signals(store, photo_id, photo_id).get(photo_id, [])


def stored_matches(store: Store, photo_id: int) -> list[Match]:
    """The verified relations of one stored photo, in both directions, with the other photos'
    pages."""
    rows = store.match_rows(photo_id)
    shas = store.sha256_of(r["other"] for r in rows)
    seen = store.seen(r["other"] for r in rows)
    return [_match(r["other"], shas[r["other"]],
                   [r["relation"], r["region"], r["distance"], r["inliers"], r["face_inliers"],
                    r["face_distance"], r["dense"]], seen[r["other"]]) for r in rows]


def photo_verdict(store: Store, photo_id: int) -> PhotoVerdict | None:
    """One stored photo's verdict, by the same path as the bulk one."""
    photos = store.db.execute("SELECT id, sha256, cluster_id, phash FROM photos WHERE id = ?",
                              [photo_id]).fetchall()
    return _chunk_verdicts(store, photos)[0] if photos else None


def iter_verdicts(store: Store, chunk: int = CHUNK,
                  on_chunk: Callable[[int], None] | None = None) -> Iterator[PhotoVerdict]:
    """Every stored photo with its verdict and pages, in id order; ``on_chunk(n)`` after each
    chunk of n photos (for a progress bar)."""
    last = 0
    while True:
        photos = store.db.execute(
            "SELECT id, sha256, cluster_id, phash FROM photos WHERE id > ? ORDER BY id LIMIT ?",
            [last, chunk]).fetchall()
        if not photos:
            return
        yield from _chunk_verdicts(store, photos)
        last = photos[-1][0]
        if on_chunk:
            on_chunk(len(photos))
