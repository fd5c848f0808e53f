"""The library's front door: analyse, index and check photos against one store.

CLI, crawler and server are thin adapters over ``Headcheck``; it owns the loaded models, the
store and the Hamming index, and keeps the index current as photos are added. The index is saved
beside the store on ``close`` (``headcheck.index``: ``<db>.index``, or ``$HEADCHECK_INDEX_FILE``)
and loaded on the next start, so a restart reads only what the store gained since.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .analyze import Analysis, Analyzer
from .detectors.registry import versions
from .feedback import suppression
from .index import RegionIndex, index_path, save_if_behind
from .judge import Verdict, judge
from .match import Match, Matcher
from .stale import stale
from .store import AddResult, Sighting, Store
from .verdicts import photo_verdict, stored_matches, stored_signals


@dataclass
class IndexResult:
    analysis: Analysis
    added: AddResult
    verdict: Verdict


@dataclass
class KnownResult:
    """``IndexResult`` for a photo stored before: no new analysis."""

    added: AddResult
    verdict: Verdict


@dataclass
class CheckResult:
    analysis: Analysis
    verdict: Verdict
    matches: list[Match]

    def to_json(self, file: str | None = None) -> dict[str, Any]:
        return {"file": file, "sha256": self.analysis.sha256, **self.verdict.to_dict(),
                "error": None}


AUTO = "auto"


class Headcheck:
    def __init__(self, db: str | Path | Store | None = None,
                 analyzer: Analyzer | None = None, thumbnails: bool = False,
                 index_file: str | Path | None = AUTO) -> None:
        """``index_file``: where the index is saved and loaded from; ``"auto"`` (the default)
        beside the store (``headcheck.index.index_path``), None: never saved."""
        self.store = db if isinstance(db, Store) else Store(db)
        self.analyzer = analyzer or Analyzer(thumbnails=thumbnails)
        self.index_file = index_path(self.store) if index_file == AUTO else (
            Path(index_file) if index_file is not None else None)
        self.index = RegionIndex.from_store(self.store, self.index_file)
        self.matcher = Matcher(self.analyzer, self.store, self.index)
        # The current version of every detector, by name (the installed ones, and this
        # analyser's): a stored signal of another version is a note in stored verdicts.
        self.versions = {**versions(), **self.analyzer.versions()}

    def close(self) -> None:
        """Save the index when the saved copy is missing or behind, then close the store."""
        try:
            save_if_behind(self.index, self.index_file, self.store)
        finally:
            self.store.close()

    def refresh(self) -> int:
        """Pick up photos that another process (a crawl) added to the store."""
        return self.index.refresh(self.store)

    def add(self, data: bytes, sighting: Sighting) -> IndexResult:
        """Analyse, match against the store, then store photo, sighting and matches."""
        a = self.analyzer.analyze_bytes(data, lookup=True)
        return self.add_analysis(a, sighting)

    def add_analysis(self, a: Analysis, sighting: Sighting) -> IndexResult:
        """Match and store under one write lock: photo, sighting, matches and cluster commit
        together, and a photo another writer is storing at the same time is either matched
        (it committed first) or matches this one (it commits after)."""
        with self.store.transaction():
            known = self.store.photo_id(a.sha256)
            matches = []
            if known is None:
                self.index.refresh(self.store)  # what other writers committed meanwhile
                matches = self.matcher.find(a)
            added = self.store.add(a, sighting)
            if matches:
                self.store.record_matches(added.photo_id, [_match_row(m) for m in matches])
                self.store.join_clusters(added.photo_id, [m.photo_id for m in matches])
        self.index.refresh(self.store)
        return IndexResult(a, added, self.stored_verdict(added.photo_id))

    def add_known(self, sha256: str, sighting: Sighting) -> KnownResult | None:
        """Record a sighting of bytes the store holds (analysed by this version, and by this
        version of each detector that ran on them) without analysing them again: a re-crawl's
        photos cost a lookup, not an analysis. None when the store does not hold them so, and
        ``add`` must analyse the photo (which replaces stale signals)."""
        own = self.store.current_photo_id(sha256)
        if own is None or self.stale(own):
            return None
        return KnownResult(self.store.add_sighting(own, sighting), self.stored_verdict(own))

    def stale(self, photo_id: int) -> bool:
        """Whether the stored photo was analysed by another version of a detector this analyser
        runs, or by versions not recorded: where its bytes are at hand, analyse it again
        (``add``); ``headcheck.stale``."""
        ran, installed = self.store.photo_analysed_by(photo_id)
        return stale(ran, self.analyzer.versions(), installed)

    def check(self, data: bytes, page_url: str | None = None,
              profile_name: str | None = None) -> CheckResult:
        """Verdict for a photo against the store, without storing anything; ``profile_name``
        is the name the photo is shown under on ``page_url`` (reuse is judged by identities)."""
        return self.check_analysis(self.analyzer.analyze_bytes(data, lookup=True), page_url,
                                   profile_name)

    def check_analysis(self, a: Analysis, page_url: str | None = None,
                       profile_name: str | None = None) -> CheckResult:
        """``check`` for a photo analysed already (``lookup=True``; by a worker process, say)."""
        self.index.refresh(self.store)
        matches = self.matcher.find(a)
        own = self.store.photo_id(a.sha256)
        own_seen = self.store.seen([own])[own] if own is not None else []
        if own is not None:
            # A stored photo also has the relations found when it, or a later photo, was indexed.
            seen = {m.photo_id for m in matches}
            matches += [m for m in self.stored_matches(own) if m.photo_id not in seen]
        return CheckResult(a, judge(a.signals, matches, query_page=page_url, own_seen=own_seen,
                                    query_name=profile_name,
                                    suppressed=suppression(self.store, a.sha256)), matches)

    def check_stored(self, sha256: str, page_url: str | None = None,
                     profile_name: str | None = None) -> Verdict | None:
        """``check``'s verdict for bytes the store already holds (analysed by this version), from
        the stored signals and relations: no decoding, no face models. None when the store does
        not hold them, and ``check`` must analyse the photo. A signal stored by another version
        of its detector is a note here, not a flag (``headcheck.stale``)."""
        own = self.store.current_photo_id(sha256)
        if own is None:
            return None
        # The same readers as the stored verdicts (one path for signals read back).
        return judge(stored_signals(self.store, own, self.versions), self.stored_matches(own),
                     query_page=page_url, own_seen=self.store.seen([own])[own],
                     query_name=profile_name, suppressed=suppression(self.store, sha256))

    def stored_matches(self, photo_id: int) -> list[Match]:
        return stored_matches(self.store, photo_id)

    def stored_verdict(self, photo_id: int) -> Verdict:
        pv = photo_verdict(self.store, photo_id, self.versions)
        if pv is None:
            raise KeyError(f"no stored photo {photo_id}")
        return pv.verdict


def _match_row(m: Match) -> dict[str, Any]:
    return {"other_id": m.photo_id, "relation": m.relation, "region": m.region,
            "distance": m.distance, "inliers": m.verification.inliers,
            "face_inliers": m.verification.face_inliers, "face_distance": m.face_distance,
            "dense": json.dumps(m.dense.to_dict())}
