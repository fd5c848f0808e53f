"""Stored photos' verdicts from the tables, through the pure ``judge``: in bulk (a few queries
per chunk of photos, no face models loaded) for reports and ``headcheck flagged``, or one at a
time for ``Headcheck.stored_verdict``, by the same code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from .dense import NO_SCORE, DenseScore
from .feedback import suppressions
from .identity import Seen, unique_pages
from .judge import Verdict, judge
from .match import Match
from .signals import Signal
from .stale import demote
from .store import Store
from .suppress import NO_SUPPRESSION
from .verify import Verification

CHUNK = 2000  # photos a round of queries; bounds memory on stores with millions of photos


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


def _pages(store: Store, ids: Iterable[int]) -> dict[int, list[Page]]:
    """Distinct pages per photo, ordered as ``Store.pages`` orders them (oldest first)."""
    out: dict[int, list[Page]] = {}
    for pid, rows in store.page_firsts(ids).items():
        # stable: ties keep page_url order
        out[pid] = sorted((Page(url, seen) for url, seen in rows),
                          key=lambda p: p.first_seen or "")
    return out


def current_versions() -> dict[str, str]:
    """The installed detectors' versions (``detectors.registry.versions``): the stored signals
    of any other version count for nothing (``headcheck.stale``)."""
    from .detectors.registry import versions

    return versions()


def _chunk_verdicts(store: Store, photos: list[tuple],
                    versions: Mapping[str, str]) -> list[PhotoVerdict]:
    lo, hi = photos[0][0], photos[-1][0]
    signals = _signals(store, lo, hi, versions)
    matches = store.match_rows_between(lo, hi)
    others = {m[0] for rows in matches.values() for m in rows}
    pages = _pages(store, {*(p[0] for p in photos), *others})
    seen = store.seen({*(p[0] for p in photos), *others})  # chunked by the store
    shas = store.sha256_of(others)
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


def _signals(store: Store, lo: int, hi: int, versions: Mapping[str, str]
             ) -> dict[int, list[Signal]]:
    """The stored signals of photos ``lo``..``hi``, those of a detector version other than
    ``versions`` (or unknown) turned into notes, unless the installed detector keeps that
    version's findings (``registry.keeps``)."""
    from .detectors.registry import keeps

    signals = store.signals_between(lo, hi)
    sources = store.signal_sources_between(lo, hi)
    kept = keeps()
    return {pid: demote(sigs, sources.get(pid, {}), versions, kept)
            for pid, sigs in signals.items()}


def stored_signals(store: Store, photo_id: int,
                   versions: Mapping[str, str] | None = None) -> list[Signal]:
    """One stored photo's signals, read as the bulk verdicts read them (stale ones as notes;
    ``versions``: the detectors' current versions, by default the installed ones)."""
    return _signals(store, photo_id, photo_id,
                    current_versions() if versions is None else versions).get(photo_id, [])


def stored_matches(store: Store, photo_id: int) -> list[Match]:
    """The verified relations of one stored photo, in both directions, with the other photos'
    pages."""
    rows = store.match_rows(photo_id)
    shas = store.sha256_of(r["other"] for r in rows)
    seen = store.seen(r["other"] for r in rows)
    return [_match(r["other"], shas[r["other"]],
                   [r["relation"], r["region"], r["distance"], r["inliers"], r["face_inliers"],
                    r["face_distance"], r["dense"]], seen[r["other"]]) for r in rows]


def photo_verdict(store: Store, photo_id: int,
                  versions: Mapping[str, str] | None = None) -> PhotoVerdict | None:
    """One stored photo's verdict, by the same path as the bulk one."""
    head = store.photo_head(photo_id)
    return _chunk_verdicts(store, [head], current_versions() if versions is None
                           else versions)[0] if head else None


def iter_verdicts(store: Store, chunk: int = CHUNK,
                  on_chunk: Callable[[int], None] | None = None,
                  versions: Mapping[str, str] | None = None) -> Iterator[PhotoVerdict]:
    """Every stored photo with its verdict and pages, in id order; ``on_chunk(n)`` after each
    chunk of n photos (for a progress bar). A signal stored by another version of its detector
    than ``versions`` (default: the installed ones) is a note, not a flag (``headcheck.stale``)."""
    versions = current_versions() if versions is None else versions
    last = 0
    while True:
        photos = store.photo_heads(last, chunk)
        if not photos:
            return
        yield from _chunk_verdicts(store, photos, versions)
        last = photos[-1][0]
        if on_chunk:
            on_chunk(len(photos))
