"""Accepted false positives, as the pure judge reads them (``headcheck.feedback`` stores them).

An operator who accepts "this flag is wrong" suppresses, for good, what made it: the relations
to the other photos behind a composite reason (both photos stop counting them), or the photo's
own finding (a detector's signal, or reuse). The suppressed reason stays in the verdict as
information (score 0) naming who accepted it and when, so nothing is silently hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .signals import REUSED

if TYPE_CHECKING:
    from .judge import Reason
    from .match import Match

SIGNAL = "feedback.accepted"


@dataclass(frozen=True)
class Suppression:
    others: frozenset[str] = frozenset()  # related photos (sha256) whose relation is no evidence
    findings: frozenset[str] = frozenset()  # this photo's signal names, or "reused"
    reviewer: str = ""  # the latest acceptance touching this photo
    decided_at: str = ""

    def __bool__(self) -> bool:
        return bool(self.others or self.findings)

    def keeps(self, m: Match) -> bool:
        return m.sha256 not in self.others

    def silences(self, r: Reason) -> bool:
        return r.signal in self.findings or (r.kind == REUSED and REUSED in self.findings)

    def silenced(self, r: Reason) -> Reason:
        """The reason kept as information: score 0, saying who accepted it as wrong."""
        said = f"accepted as a false positive by {self.reviewer} on {self.decided_at[:10]}"
        return replace(r, score=0.0, detail=f"{said}: {r.detail}",
                       headline=f"Reviewed: {r.headline or r.detail} (marked wrong and "
                                "accepted; not counted)",
                       evidence={**r.evidence, "suppressed": True, "reviewer": self.reviewer,
                                 "decided_at": self.decided_at})


NO_SUPPRESSION = Suppression()
