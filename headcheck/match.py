"""Candidates from the Hamming index, then verification on the pixels, then identity.

The hash stage is tuned for recall and is never evidence by itself: at a million photos, even a
1% per-pair false-match rate is ten thousand false candidates. Every candidate is verified with
local features in the face frame; "different face" is decided by dlib's identity embedding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .analyze import Analysis, Analyzer
from .dense import NO_SCORE, DensePatch, DenseScore, compare
from .face import SAME_FACE_DISTANCE, decode_chip, face_distance
from .features import Features
from .hashkinds import KINDS
from .identity import Seen, unique_pages
from .index import RegionIndex
from .relations import SAME_CONTEXT, SAME_PHOTO
from .store import Store
from .verify import Verification, verify

# Candidate radii (bits) per probed hash kind, in probe order (rows of hashkinds.KINDS).
RADIUS = {k.name: k.radius for k in KINDS if k.radius is not None}
MAX_VERIFY = 48  # candidates verified per lookup, nearest first
# Keypoints only propose: enough of them must agree with one near-identity transform before the
# pixels are compared densely (headcheck.dense), which alone can say "shared pixels".
MIN_CONTEXT_INLIERS = 10
MIN_FACE_INLIERS = 12  # kept for tools that read it; "same photo" is decided densely now
STRONG_KEYPOINTS = 40  # a plain (unmirrored) match this strong needs no mirror check


@dataclass(frozen=True)
class Thresholds:
    """Dense agreement needed for each claim; chosen by margin in bench/evaluate.py (see
    docs/benchmarks.md for the three distributions they separate)."""

    min_keypoints: int = MIN_CONTEXT_INLIERS  # keypoint inliers before any dense comparison
    # Shared body and backdrop: band-pass correlation over the context, on enough texture.
    context_corr: float = 0.88
    context_area: int = 150  # textured pixels (at 16 px per eye distance)
    # The same face pixels: eyes, nose and mouth correlate (different faces framed on the same
    # eyes correlate too, up to the figure in docs/benchmarks.md, so this sits well above it).
    core_corr: float = 0.93
    core_area: int = 60
    # An overlay (ring, banner) or a tight crop can hide the body: then hairline, ears and jaw
    # must agree as well as the face.
    margin_corr: float = 0.78
    margin_area: int = 60
    # ...and with no shared context pixels to back them, the face pixels must agree as a copy's
    # do: two photos of one person from one shoot (same light, hair and make-up, another pose
    # or backdrop) reach 0.93-0.96 there, copies behind a ring or banner 0.99 or more
    # (docs/benchmarks.md, "Frames of one shoot").
    core_corr_alone: float = 0.98
    # With no face frame, the pixels must agree across the window; where an overlay (a profile
    # ring and its filled corners) covers part of it, this share of the textured area must still
    # agree pixel by pixel in its neighbourhood (different people on one backdrop: at most 0.25).
    agree_share: float = 0.5
    agree_area: int = 800


THRESHOLDS = Thresholds()



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
    dense: DenseScore = NO_SCORE
    seen: list[Seen] = field(default_factory=list)  # the other photo's sightings, with names

    def to_dict(self) -> dict:
        return {"sha256": self.sha256, "region": self.region, "distance": self.distance,
                "pages": self.pages, "relation": self.relation,
                "names": sorted({s.name for s in self.seen if s.name}),
                "inliers": self.verification.inliers,
                "face_inliers": self.verification.face_inliers,
                "dense": self.dense.to_dict(),
                "face_distance": None if self.face_distance is None
                else round(self.face_distance, 3)}


def candidates(q: Analysis, index: RegionIndex, exclude: set[int]) -> dict[int, tuple[str, int]]:
    """Photo id -> (kind, distance) of its nearest hash, over every usable query hash."""
    hits = []
    for kind, hashes in probes(q):
        _, ids, dist = index.hits(kind, hashes, RADIUS[kind])  # hash and mirror in one scan
        hits.append((kind, zip(ids.tolist(), dist.tolist(), strict=True)))
    return merge(hits, exclude)


def probes(q: Analysis) -> list[tuple[str, list[str]]]:
    """The kinds a lookup probes, in probe order, each with its hash and mirror."""
    out = []
    for kind in KINDS:
        if kind.radius is None:
            continue
        if kind.window is not None:
            h = q.regions.get(kind.name)
            if h is not None and h.usable:
                out.append((kind.name, [h.hash, h.mirror]))
        elif q.image.pdq_quality >= kind.min_quality:  # a flat picture's hashes say little
            out.append((kind.name, [getattr(q.image, kind.column),
                                    getattr(q.image, f"{kind.column}_mirror")]))
    return out


def merge(hits: list[tuple[str, Iterable[tuple[int, int]]]], exclude: set[int]
          ) -> dict[int, tuple[str, int]]:
    """Hit by hit in probe order (``hits``: each kind's (photo id, distance) in its scan order,
    query, distance, id), a photo keeps the hit with the least distance over its kind's radius;
    a tie keeps the first (the earlier kind). The dict is in the order photos were first met,
    which ranking keeps among equal ratios. (A merge in array operations, sorts and one dict at
    the end, gives the same answers no faster: ``bench/index_bench.py --scan``.)"""
    best: dict[int, tuple[str, int]] = {}
    for kind, found in hits:
        radius = RADIUS[kind]
        for pid, d in found:
            if pid in exclude:
                continue
            old = best.get(pid)
            if old is None or d / radius < old[1] / RADIUS[old[0]]:
                best[pid] = (kind, d)
    return best


@dataclass
class Evidence:
    """What verification found for one candidate, before any decision."""

    photo_id: int
    region: str
    distance: int
    verification: Verification
    dense: DenseScore
    face_distance: float | None
    mirrored: bool = False  # verified through the query's mirror image


class Matcher:
    def __init__(self, analyzer: Analyzer, store: Store, index: RegionIndex,
                 thresholds: Thresholds = THRESHOLDS) -> None:
        self.analyzer, self.store, self.index = analyzer, store, index
        self.thresholds = thresholds

    def find(self, q: Analysis) -> list[Match]:
        th = self.thresholds
        has_face = q.face is not None
        out: list[Match] = []
        for e in self.examine(q, lambda v, d: needs_identity(v, d, has_face, th)):
            relation = decide(e.verification, e.dense, e.face_distance, has_face, th,
                              e.mirrored)
            if relation:
                out.append(Match(e.photo_id, "", relation, e.region, e.distance,
                                 e.verification, e.face_distance, dense=e.dense))
        shas = self.store.sha256_of(m.photo_id for m in out)
        seen = self.store.seen(m.photo_id for m in out)
        for m in out:
            m.sha256 = shas[m.photo_id]
            m.seen = seen[m.photo_id]
            m.pages = unique_pages(m.seen)
        return out

    def examine(self, q: Analysis, wants_identity: Callable[[Verification, DenseScore], bool]
                ) -> list[Evidence]:
        """Verify the nearest hash candidates (keypoints, then dense pixels) and, where
        ``wants_identity`` says so, measure the identity distance of the two faces."""
        own = self.store.photo_id(q.sha256)
        cands = candidates(q, self.index, {own} if own is not None else set())
        ranked = sorted(cands.items(), key=lambda kv: kv[1][1] / RADIUS[kv[1][0]])[:MAX_VERIFY]
        q_emb: np.ndarray | None = None
        q_dense = DensePatch.from_bytes(q.dense)
        out: list[Evidence] = []
        for pid, (kind, dist) in ranked:
            v, mirrored = verify_both(q, self.store.features(pid))
            d = NO_SCORE
            if v.inliers + v.face_inliers >= self.thresholds.min_keypoints:
                d = dense_score(q_dense, DensePatch.from_bytes(self.store.dense(pid)), v,
                                mirrored, q.face is not None)
            fd = None
            if q.chip is not None and wants_identity(v, d):
                if q_emb is None:
                    q_emb = self.analyzer.models.embed_chip(decode_chip(q.chip))
                c_emb = self.store.embedding(pid, self.analyzer.models)
                fd = None if c_emb is None else face_distance(q_emb, c_emb)
            out.append(Evidence(pid, kind, int(dist), v, d, fd, mirrored))
        return out


def verify_both(q: Analysis, stored: Features) -> tuple[Verification, bool]:
    """Keypoint verification of the query as it is and, when that finds too little, of its
    mirror image (a flipped re-post). Returns the better one and whether it was the mirror."""
    frame_bound = q.face is not None
    v = verify(q.features, stored, frame_bound)
    # A face is nearly symmetric, so a mirrored copy can reach the gate unmirrored through the
    # face alone, misaligned everywhere else: unless the plain match is strong, try the mirror.
    if v.inliers + v.face_inliers < STRONG_KEYPOINTS and q.mirror_features:
        vm = verify(q.mirror_features, stored, frame_bound)
        if vm.inliers + vm.face_inliers > v.inliers + v.face_inliers:
            return vm, True
    return v, False


def dense_score(q: DensePatch | None, other: DensePatch | None, v: Verification,
                mirrored: bool, has_face: bool) -> DenseScore:
    """Dense agreement of two photos' context windows, aligned by the keypoint transform."""
    if q is None or other is None:
        return NO_SCORE  # analysed before dense patches existed: no pixel claim possible
    if mirrored:
        q = q.mirrored()
    m = None if v.matrix is None else np.asarray(v.matrix, np.float64).reshape(2, 3)
    return compare(q, other, m, has_face)


def context_shared(d: DenseScore, th: Thresholds = THRESHOLDS) -> bool:
    return d.context_area >= th.context_area and d.context_corr >= th.context_corr


def face_pixels_shared(d: DenseScore, th: Thresholds = THRESHOLDS) -> bool:
    return d.core_area >= th.core_area and d.core_corr >= th.core_corr


def margin_shared(d: DenseScore, th: Thresholds = THRESHOLDS) -> bool:
    return d.margin_area >= th.margin_area and d.margin_corr >= th.margin_corr


def locally_shared(d: DenseScore, th: Thresholds = THRESHOLDS) -> bool:
    return d.agree_area >= th.agree_area and d.agree_share >= th.agree_share


def needs_identity(v: Verification, d: DenseScore, has_face: bool,
                   th: Thresholds = THRESHOLDS) -> bool:
    """Only shared context pixels under different face pixels need the (costly) identity check."""
    return (has_face and v.inliers + v.face_inliers >= th.min_keypoints
            and context_shared(d, th) and not face_pixels_shared(d, th))


def decide(v: Verification, d: DenseScore, face_dist: float | None, has_face: bool,
           th: Thresholds = THRESHOLDS, mirrored: bool = False) -> str | None:
    """The relation two photos have, from keypoints, dense pixel agreement and identity: a pure
    function. Keypoints only gate; shared pixels decide; identity may only say "different".
    ``mirrored``: the query was matched as its mirror image."""
    if v.inliers + v.face_inliers < th.min_keypoints:
        return None
    if not has_face:  # no face frame: the pixels must agree across the whole window
        if context_shared(d, th):
            return SAME_PHOTO
        # Local agreement alone (an overlay spoiling the rest) does not do for a mirror image:
        # a frontal, centred portrait agrees with another's mirror image in places, and two
        # men in one white T-shirt before one backdrop reached 0.53 that way (docs/benchmarks.md,
        # "Frames of one shoot"); the corpus's ring and banner copies are not mirrored.
        return SAME_PHOTO if locally_shared(d, th) and not mirrored else None
    if face_pixels_shared(d, th):
        # The face and what surrounds it: the body and backdrop, or, where an overlay (a ring,
        # a banner) or a tight crop hides those, the hairline, ears and jaw, which a pasted face
        # leaves from the other photo, with the face agreeing as only a copy's does.
        if context_shared(d, th):
            return SAME_PHOTO
        if margin_shared(d, th) and d.core_corr >= th.core_corr_alone:
            return SAME_PHOTO
        return None  # one face on two bodies, or one person's two photos: no claim
    if not context_shared(d, th):
        return None  # a shared style (backdrop, framing, suit) is not shared pixels
    if face_dist is not None and face_dist >= SAME_FACE_DISTANCE:
        return SAME_CONTEXT  # the same body and backdrop under another person's face
    return None  # the same person re-shot or retouched, or identity unknown: no claim
