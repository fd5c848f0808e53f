"""The one table of hash kinds: what each is cut from, how big it is, when it counts, how far a
candidate may be. Regions, fingerprint, index, match, the report and bench all read it.

Adding a region kind is one row: a window in the face frame (eye distances) and its floors. It is
then cut and hashed (``fingerprint``), stored (``region_hashes``), indexed (``index``), shown in
``analyze --json`` and the report, and, with a radius, probed by ``match.candidates``.
Whole-image kinds (no window) are read from their own columns of ``photos``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """A rectangle in frame units: u to the right, v downwards, both in eye distances."""

    u0: float
    v0: float
    u1: float
    v1: float


@dataclass(frozen=True)
class HashKind:
    name: str
    window: Window | None  # the region in the face frame; None: the whole image
    bits: int  # hash size; the index keeps bits // 64 words a code
    # Candidate radius in bits, chosen for recall in bench/evaluate.py; None: stored and indexed,
    # never probed by a lookup.
    radius: int | None
    # A region hash counts (is indexed and probed) only with this much texture (mean gradient,
    # grey levels a pixel) and this share of its window inside the image. For whole-image kinds,
    # the floor is on the photo's PDQ quality.
    min_quality: float
    min_inside: float = 0.0
    # Whole-image kinds: the ``photos`` column holding the hash (also the ``ImageHashes`` field,
    # with ``<column>_mirror`` beside it), and whether stored photos are
    # indexed whatever their PDQ quality (pHash is; a query still needs the floor to probe).
    column: str = ""
    index_any_quality: bool = False

    @property
    def words(self) -> int:
        return self.bits // 64


PDQ_MIN_QUALITY = 50  # ThreatExchange's own floor for PDQ

# Windows are symmetric in u, so a mirrored copy is the same window flipped left-right. Every kind
# stores its mirror too. Rows in probe order: a candidate found by two kinds at the same relative
# distance keeps the first.
KINDS: tuple[HashKind, ...] = (
    #        name          window                        bits radius quality inside
    HashKind("context", Window(-2.6, -2.3, 2.6, 4.2), 64, 18, 8.0, 0.6),
    HashKind("background", Window(-2.6, -2.3, 2.6, 2.3), 64, 16, 10.0, 0.5),
    HashKind("face", Window(-1.2, -1.4, 1.2, 2.0), 64, 14, 0.0, 0.7),
    HashKind("body", Window(-2.6, 2.3, 2.6, 4.2), 64, None, 8.0, 0.5),
    HashKind("image", None, 64, 14, PDQ_MIN_QUALITY, column="phash", index_any_quality=True),
    HashKind("pdq", None, 256, 70, PDQ_MIN_QUALITY, column="pdq"),
)
KIND = {k.name: k for k in KINDS}
REGION_KINDS = tuple(k for k in KINDS if k.window is not None)
IMAGE_KINDS = tuple(k for k in KINDS if k.window is None)
