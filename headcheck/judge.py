"""The verdict: a pure function from signals and verified matches to a label and its reasons.

Labels: synthetic, composited, reused or none. "none" means no signal was found, never that the
photo is authentic.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .confidence import CONFIDENCE, Confidence
from .identity import Seen, identities, name_tokens, site_of, unique_pages
from .relations import SAME_CONTEXT, SAME_PHOTO
from .signals import COMPOSITED, KINDS, REUSED, Signal
from .suppress import NO_SUPPRESSION, Suppression
from .suppress import SIGNAL as ACCEPTED

if TYPE_CHECKING:  # the judge reads matches but must not load what finds them (models, index)
    from .match import Match

LABELS = (*KINDS, "none")
MAX_LISTED = 20  # matches listed per reason; the detail gives the full count
MANY_SITES = 4  # without names, one photo on this many unrelated sites is still a reuse tell


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
    headline: str = ""  # one sentence a recruiter understands
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


def _seen(m: Match) -> list[Seen]:
    return m.seen or [Seen(p) for p in m.pages]


def composite_reason(matches: list[Match], conf: Confidence = CONFIDENCE) -> Reason | None:
    sib = [m for m in matches if m.relation == SAME_CONTEXT]
    if not sib:
        return None
    pages = {p for m in sib for p in m.pages}
    best = max(sib, key=lambda m: m.dense.context_corr)
    score = conf.composite(best.dense.context_corr, len(sib))
    names = sorted({s.name for m in sib for s in m.seen if s.name})
    shown = f" (shown as {', '.join(names[:3])}{', ...' if len(names) > 3 else ''})" if names \
        else ""
    detail = (f"the same body and backdrop pixels as {_plural(len(sib), 'other photo')} under a "
              f"different face{shown}, seen on {_plural(len(pages), 'page')}; "
              f"the fine detail around the face correlates at {best.dense.context_corr:.2f}")
    return Reason(COMPOSITED, "match.same_context", detail, score,
                  [m.to_dict() for m in sorted(sib, key=lambda m: -m.dense.context_corr)
                   [:MAX_LISTED]], len(pages),
                  headline=f"Same body and backdrop as {_plural(len(sib), 'other photo')} "
                           "with a different face",
                  evidence={"photos": len(sib), "pages": len(pages), "names": names,
                            "context_corr": round(best.dense.context_corr, 3),
                            "context_area": best.dense.context_area})


# Copies of one photo (re-encoded, resized, cropped, overlaid) keep their face pixels: 98% of the
# evaluation corpus's verified copies correlate at 0.99 or more there. Two frames of one shoot
# (the same person a second apart, neutral then smiling) reach 0.93-0.98 at the dense patch's
# 16 px per eye distance, enough to pass as the same photo (docs/benchmarks.md, "Frames of one
# shoot"); below this level the reason says it may be such a frame rather than claim one photo.
# Matched without a face, the whole window speaks instead: 90% of copies at 0.99 or more, the
# frames 0.81-0.99.
COPY_FACE_CORR = 0.99
# The evidence keys that carry that agreement where it is under a copy's.
FRAME_EVIDENCE = ("face_corr", "window_corr")


def same_photo_words(same: list[Match]) -> tuple[str, str, tuple[str, float] | None]:
    """How to name what ``same`` (SAME_PHOTO matches) share: the phrase for the detail, the
    headline's, and (evidence key, correlation) where the pixels agree less than a copy's:
    the face's (``face_corr``), or without a face the whole window's (``window_corr``)."""
    faced = [m.dense.core_corr for m in same if m.dense.core_area > 0]
    whole = [m.dense.context_corr for m in same if m.dense.core_area == 0
             and m.dense.context_area > 0]
    face_key, window_key = FRAME_EVIDENCE
    best = (face_key, max(faced)) if faced else (window_key, max(whole)) if whole else None
    if best and best[1] < COPY_FACE_CORR:
        return "the same photo, or a frame of the same shoot,", "Same or near-identical photo", best
    return "the same photo", "Same photo", None


def reuse_reason(matches: list[Match], own_seen: list[Seen], query: Seen | None,
                 conf: Confidence = CONFIDENCE) -> Reason | None:
    """The same photo under different identities is reuse; under one identity it is information
    (score 0); with no names known, pages decide as before, and the reason says so."""
    same = [m for m in matches if m.relation == SAME_PHOTO]
    seen = [*own_seen, *(s for m in same for s in _seen(m)), *([query] if query else [])]
    pages = unique_pages(seen)
    if len(pages) < 2:
        return None
    people = identities(s.name for s in seen)
    named_pages = {s.page for s in seen if name_tokens(s.name)}
    sites = {site_of(p) for p in pages}
    copies = f" (as {_plural(len(same), 'other file')})" if same else ""
    evidence: dict[str, Any] = {
        "page_urls": pages[:MAX_LISTED], "page_count": len(pages), "sites": len(sites),
        "identities": len(people), "names": [g[0] for g in people][:MAX_LISTED],
        "first_seen": min((s.first_seen for s in seen if s.first_seen), default=None)}
    listed = [m.to_dict() for m in same[:MAX_LISTED]]
    what, short, below = same_photo_words(same)
    if below is not None:
        key, corr = below
        evidence[key] = round(corr, 3)
        where = "face pixels" if key == FRAME_EVIDENCE[0] else "pixels (no face found)"
        copies += (f"; the {where} agree at {corr:.2f}, where copies of one photo mostly agree "
                   f"at {COPY_FACE_CORR} or more")
    if len(people) >= 2:
        shown = ", ".join(f'"{g[0]}"' for g in people[:4]) + (", ..." if len(people) > 4 else "")
        return Reason(REUSED, "match.same_photo", f"{what} is shown under "
                      f"{len(people)} different names ({shown}) on {len(pages)} pages{copies}",
                      conf.reuse(len(people)), listed, len(pages),
                      headline=f"{short} used by {len(people)} differently named profiles",
                      evidence=evidence)
    if people and len(named_pages) == len(pages):
        return Reason(REUSED, "match.same_photo.same_identity",
                      f"{what} appears on {len(pages)} pages, all under the name "
                      f'"{people[0][0]}": one person\'s own photo on several profiles is normal',
                      0.0, listed, len(pages),
                      headline=f"Also on {_plural(len(pages) - 1, 'other page')} under the "
                               "same name", evidence=evidence)
    if len(sites) >= MANY_SITES:
        return Reason(REUSED, "match.same_photo.many_sites",
                      f"{what} appears on {len(pages)} pages across {len(sites)} "
                      f"unrelated sites{copies}", conf.reuse_sites(len(sites)), listed,
                      len(pages), headline=f"{short} on {len(sites)} unrelated sites",
                      evidence=evidence)
    unknown = "no profile names are known" if not people else \
        "profile names are known for only some of them"
    return Reason(REUSED, "match.same_photo", f"{what} appears on {len(pages)} distinct "
                  f"pages{copies}; {unknown}, so whether they are one person cannot be told",
                  conf.reuse_unnamed(len(pages)), listed, len(pages),
                  headline=f"{short} on {len(pages)} pages (names unknown)", evidence=evidence)


def judge(signals: list[Signal], matches: list[Match], own_pages: list[str] | None = None,
          query_page: str | None = None, own_seen: list[Seen] | None = None,
          query_name: str | None = None, conf: Confidence = CONFIDENCE,
          suppressed: Suppression = NO_SUPPRESSION) -> Verdict:
    """``own_seen`` (sightings with names) supersedes ``own_pages`` (pages only);
    ``suppressed`` is what an operator accepted as false for this photo (``headcheck.suppress``).
    """
    dropped = [m for m in matches if not suppressed.keeps(m)]
    matches = [m for m in matches if suppressed.keeps(m)]
    # Any detector's signal of a verdict kind. A score-0 signal (the diffusion probe's "unsure",
    # unreadable content credentials) is kept as a score-0 reason: information a person can read,
    # which never changes the label (only reasons with a score flag).
    reasons = [Reason(s.kind, s.name, s.detail, s.score, headline=s.headline or s.detail,
                      evidence=s.evidence) for s in signals if s.kind in KINDS and s.score >= 0]
    own = own_seen if own_seen is not None else [Seen(p) for p in own_pages or []]
    query = Seen(query_page, query_name) if query_page else None
    for r in (composite_reason(matches, conf), reuse_reason(matches, own, query, conf)):
        if r:
            reasons.append(r)
    reasons = [suppressed.silenced(r) if r.score > 0 and suppressed.silences(r) else r
               for r in reasons]
    if dropped:
        reasons.append(_dropped_reason(dropped, suppressed))
    flagging = [r for r in reasons if r.score > 0]
    if not flagging:
        return Verdict("none", 0.0, reasons)
    reasons.sort(key=lambda r: (-r.score, KINDS.index(r.kind)))
    top = reasons[0]
    return Verdict(top.kind, top.score, reasons)


def _dropped_reason(dropped: list[Match], s: Suppression) -> Reason:
    """Information that relations were left out because an operator accepted them as false."""
    kinds = sorted({COMPOSITED if m.relation == SAME_CONTEXT else REUSED for m in dropped})
    return Reason(kinds[0], ACCEPTED,
                  f"{_plural(len(dropped), 'relation')} to other photos accepted as false "
                  f"positives by {s.reviewer} on {s.decided_at[:10]}: not counted", 0.0,
                  [m.to_dict() for m in dropped[:MAX_LISTED]],
                  headline="Reviewed: a link to other photos was marked wrong and accepted; "
                           "not counted",
                  evidence={"relations": len(dropped), "reviewer": s.reviewer,
                            "decided_at": s.decided_at})
