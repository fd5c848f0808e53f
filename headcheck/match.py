"""Candidates from the Hamming index, then verification on the pixels, then identity.

The hash stage is tuned for recall and is never evidence by itself: at a million photos, even a
1% per-pair false-match rate is ten thousand false candidates. Every candidate is verified with
local features in the face frame; "different face" is decided by dlib's identity embedding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .analyze import Analysis, Analyzer
from .face import SAME_FACE_DISTANCE, decode_chip, face_distance
from .index import RegionIndex
from .relations import SAME_CONTEXT, SAME_PHOTO
from .store import Store
from .verify import Verification, verify

# Candidate radii (bits) per hash kind, chosen for recall in bench/evaluate.py.
RADIUS = {"context": 18, "background": 16, "face": 14, "image": 14, "pdq": 70}
MAX_VERIFY = 48  # candidates verified per lookup, nearest first
# Verification: keypoints that agree with one near-identity transform.
MIN_CONTEXT_INLIERS = 10  # off the face: the shared body and backdrop
# On the face core: the same face pixels. Different people can reach ~10 here, because the
# frame puts every pair of eyes in the same place (measured: p99.9 9 on the corpus), so this is
# never enough alone: "same photo" also needs agreement around the face (below).
MIN_FACE_INLIERS = 12
# The same photo also agrees off the face, unless its frame holds little besides the face (a
# tight close-up); otherwise it is one face pasted on two bodies, which is not "the same photo".
MIN_SAME_PHOTO_CONTEXT = 3
# ... or agrees on hairline, ears and jaw, which a pasted face leaves from the other photo (an
# overlay or ring crop can hide the body). Measured: pasted faces <= 11, same photos mostly 20+.
MIN_SAME_PHOTO_MARGIN = 16



@dataclass
class Match:
    photo_id: int
    sha256: str
    relation: str  # SAME_PHOTO or SAME_CONTEXT
    region: str  # the hash kind that proposed it
    distance: int
    verification: Verification
    face_distance: float | None
    pages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "region": self.region, "distance": self.distance,
                "pages": self.pages, "relation": self.relation,
                "inliers": self.verification.inliers,
                "face_inliers": self.verification.face_inliers,
                "face_distance": None if self.face_distance is None
                else round(self.face_distance, 3)}


def candidates(q: Analysis, index: RegionIndex, exclude: set[int]) -> dict[int, tuple[str, int]]:
    """Photo id -> (kind, distance) of its nearest hash, over every usable query hash."""
    probes: dict[str, list[str]] = {}
    for region in ("context", "background", "face"):
        h = q.regions.get(region)
        if h is not None and h.usable:
            probes[region] = [h.hash, h.mirror]
    if q.image.pdq_quality >= 50:
        probes["image"] = [q.image.phash, q.image.phash_mirror]
        probes["pdq"] = [q.image.pdq, q.image.pdq_mirror]
    best: dict[int, tuple[str, int]] = {}
    for kind, hashes in probes.items():
        radius = RADIUS[kind]
        # hash and mirror in one scan of the index
        for hits in index.query_many(kind, hashes, radius):
            for pid, dist in hits:
                if pid in exclude:
                    continue
                old = best.get(pid)
                if old is None or dist / radius < old[1] / RADIUS[old[0]]:
                    best[pid] = (kind, dist)
    return best


class Matcher:
    def __init__(self, analyzer: Analyzer, store: Store, index: RegionIndex) -> None:
        self.analyzer, self.store, self.index = analyzer, store, index

    def find(self, q: Analysis) -> list[Match]:
        own = self.store.photo_id(q.sha256)
        cands = candidates(q, self.index, {own} if own is not None else set())
        ranked = sorted(cands.items(), key=lambda kv: kv[1][1] / RADIUS[kv[1][0]])[:MAX_VERIFY]
        if not ranked:
            return []
        q_emb: np.ndarray | None = None
        shas = self.store.sha256_of(pid for pid, _ in ranked)
        out: list[Match] = []
        for pid, (kind, dist) in ranked:
            stored = self.store.features(pid)
            frame_bound = q.face is not None
            v = verify(q.features, stored, frame_bound)
            if v.inliers + v.face_inliers < MIN_CONTEXT_INLIERS and q.mirror_features:
                vm = verify(q.mirror_features, stored, frame_bound)
                if vm.inliers + vm.face_inliers > v.inliers + v.face_inliers:
                    v = vm
            ctx = min(q.features.off_face, stored.off_face)
            relation, fd, q_emb = self._relation(q, pid, v, q_emb, ctx)
            if relation:
                out.append(Match(pid, shas[pid], relation, kind, dist, v, fd))
        pages = self.store.pages(m.photo_id for m in out)
        for m in out:
            m.pages = pages[m.photo_id]
        return out

    def _relation(self, q: Analysis, pid: int, v: Verification, q_emb: np.ndarray | None,
                  ctx: int) -> tuple[str | None, float | None, np.ndarray | None]:
        if not needs_identity(v, q.face is not None):
            return decide(v, None, q.face is not None, ctx), None, q_emb
        if q.chip is None:
            return None, None, q_emb
        if q_emb is None:
            q_emb = self.analyzer.models.embed_chip(decode_chip(q.chip))
        c_emb = self.store.embedding(pid, self.analyzer.models)
        fd = None if c_emb is None else face_distance(q_emb, c_emb)
        return decide(v, fd, True, ctx), fd, q_emb


def needs_identity(v: Verification, has_face: bool) -> bool:
    """Only a verified context whose face pixels differ needs the (costly) identity check."""
    return (has_face and v.inliers + v.face_inliers >= MIN_CONTEXT_INLIERS
            and v.face_inliers < MIN_FACE_INLIERS)


def decide(v: Verification, face_dist: float | None, has_face: bool,
           context_keypoints: int = 300) -> str | None:
    """The relation two photos have, from verification and identity: a pure function."""
    if v.inliers + v.face_inliers < MIN_CONTEXT_INLIERS:
        return None
    if not has_face:
        return SAME_PHOTO  # no face frame: the pixels agree across the whole image
    if v.face_inliers >= MIN_FACE_INLIERS:
        agrees = (v.inliers >= MIN_SAME_PHOTO_CONTEXT or v.margin_inliers >= MIN_SAME_PHOTO_MARGIN
                  or context_keypoints < 30)  # a close-up: no context to compare
        return SAME_PHOTO if agrees else None
    if face_dist is None:
        return None  # cannot tell whether the face differs: no claim
    if face_dist < SAME_FACE_DISTANCE:
        return SAME_PHOTO
    if v.inliers >= MIN_CONTEXT_INLIERS:
        return SAME_CONTEXT
    return None
