"""Confidence of a verdict: the precision measured for its kind of evidence, not a hand formula.

Each figure is the 95% lower bound (Wilson) of the precision that ``bench/evaluate.py`` measured
on the test half of the corpus for claims with that much evidence (see docs/benchmarks.md,
"Confidence"). More evidence never lowers a score; a claim the evaluation could not measure gets
the lowest measured figure of its kind.
"""

from __future__ import annotations

from dataclasses import dataclass


def wilson_lower(successes: int, n: int, z: float = 1.96) -> float:
    """95% lower bound of a binomial proportion (0 when nothing was measured)."""
    if n <= 0:
        return 0.0
    p = successes / n
    den = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * ((p * (1 - p) + z * z / (4 * n)) / n) ** 0.5
    return max(0.0, (centre - spread) / den)


def _banded(bands: tuple[tuple[int, float], ...], strength: int) -> float:
    """The figure of the highest band whose floor ``strength`` reaches."""
    out = bands[0][1]
    for floor, value in bands:
        if strength >= floor:
            out = value
    return out


@dataclass(frozen=True)
class Confidence:
    """Measured precision lower bounds by evidence band: (floor of the band, confidence)."""

    # Composite claims by the context correlation of the best sibling (in hundredths). Measured
    # on the test half of seed 7 (bench/evaluate.py): below 0.94 14/14 true (lower bound 0.785),
    # 0.94-0.97 24/24 (0.862), 0.97 and up 1,283/1,283 (0.997).
    composite_bands: tuple[tuple[int, float], ...] = ((0, 0.785), (94, 0.862), (97, 0.997))
    # Each further verified sibling is another photo on the same template: no precision figure
    # is measured per sibling count, so none is added.
    composite_siblings_bonus: float = 0.0
    # "Same photo" pairs on the test half: 5,382/5,382 true (lower bound 0.999). Reuse under
    # different names rests on that and on reading two names as two people, which no data here
    # measures (a nickname, a maiden name): that part is a judgement, not a measurement, held at
    # 0.7, the level of a generator named in free metadata text, so a reason that needs no
    # reading of names leads.
    same_photo: float = 0.999
    names_factor: float = 0.7
    # Without names (or on many sites under one), whether the pages are one person cannot be
    # measured at all: the claim is kept below even odds so it never reads as certain.
    unnamed_factor: float = 0.5
    cap: float = 0.99

    def composite(self, best_corr: float, siblings: int) -> float:
        base = _banded(self.composite_bands, round(100 * best_corr))
        bonus = self.composite_siblings_bonus * min(3, max(0, siblings - 1))
        return round(min(self.cap, base + bonus), 3)

    def reuse(self, identities: int) -> float:
        return round(min(self.cap, self.same_photo * self.names_factor), 3)

    def reuse_sites(self, sites: int) -> float:
        return round(min(self.cap, self.same_photo * self.unnamed_factor), 3)

    def reuse_unnamed(self, pages: int) -> float:
        return round(min(self.cap, self.same_photo * self.unnamed_factor), 3)


CONFIDENCE = Confidence()
