"""The verdict: a pure function from signals and verified matches to a label and its reasons.

Labels: synthetic, composited, reused or none. "none" means no signal was found, never that the
photo is authentic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .relations import SAME_CONTEXT, SAME_PHOTO
from .signals import COMPOSITED, KINDS, REUSED, Signal

if TYPE_CHECKING:  # the judge reads matches but must not load what finds them (models, index)
    from .match import Match

LABELS = (*KINDS, "none")
MAX_LISTED = 20  # matches listed per reason; the detail gives the full count


@dataclass(frozen=True)
class Reason:
    kind: str
    signal: str
    detail: str
    score: float
    matches: list[dict[str, Any]] = field(default_factory=list)
    # Distinct pages behind the reason (reuse: every page the photo is on, this lookup's
    # included; composites: the pages of the other photos), for tools that count.
    page_count: int = 0
    headline: str = ""  # one plain sentence for people (the extension shows it)
    evidence: dict[str, Any] = field(default_factory=dict)  # the facts behind it, for tools


@dataclass(frozen=True)
class Verdict:
    label: str
    confidence: float
    reasons: list[Reason]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "confidence": self.confidence,
                "reasons": [asdict(r) for r in self.reasons]}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def composite_reason(matches: list[Match]) -> Reason | None:
    sib = [m for m in matches if m.relation == SAME_CONTEXT]
    if not sib:
        return None
    pages = {p for m in sib for p in m.pages}
    best = max(m.verification.inliers for m in sib)
    # More siblings and more agreeing keypoints make a shared template harder to explain away.
    score = round(min(0.97, 0.6 + 0.1 * (len(sib) - 1) + best / 250), 3)
    detail = (f"the same body and backdrop as {_plural(len(sib), 'other photo')} under a "
              f"different face (seen on {_plural(len(pages), 'page')}; up to {best} matching "
              "keypoints)")
    headline = (f"The same body and background appear under a different face in "
                f"{_plural(len(sib), 'other photo')}: this photo looks assembled from a template.")
    return Reason(COMPOSITED, "match.same_context", detail, score,
                  [m.to_dict() for m in sorted(sib, key=lambda m: -m.verification.inliers)
                   [:MAX_LISTED]], len(pages), headline,
                  {"photos": len(sib), "pages": len(pages), "max_inliers": best})


def reuse_reason(matches: list[Match], own_pages: list[str], query_page: str | None
                 ) -> Reason | None:
    same = [m for m in matches if m.relation == SAME_PHOTO]
    pages = set(own_pages) | {p for m in same for p in m.pages}
    if query_page:
        pages.add(query_page)
    if len(pages) < 2:
        return None
    score = round(min(0.97, 1 - 0.5 ** (len(pages) - 1)), 3)
    copies = f" (as {_plural(len(same), 'other file')})" if same else ""
    detail = f"the same photo appears on {len(pages)} distinct pages{copies}"
    return Reason(REUSED, "match.same_photo", detail, score,
                  [m.to_dict() for m in same[:MAX_LISTED]], len(pages),
                  f"This same photo appears on {len(pages)} different pages.",
                  {"pages": len(pages), "copies": len(same)})


def judge(signals: list[Signal], matches: list[Match], own_pages: list[str] | None = None,
          query_page: str | None = None) -> Verdict:
    # Any detector's signal of a verdict kind; score 0 is information and never a reason.
    reasons = [Reason(s.kind, s.name, s.detail, s.score, headline=s.headline or s.detail,
                      evidence=s.evidence) for s in signals if s.kind in KINDS and s.score > 0]
    for r in (composite_reason(matches), reuse_reason(matches, own_pages or [], query_page)):
        if r:
            reasons.append(r)
    if not reasons:
        return Verdict("none", 0.0, [])
    reasons.sort(key=lambda r: (-r.score, KINDS.index(r.kind)))
    top = reasons[0]
    return Verdict(top.kind, top.score, reasons)
