"""What a store holds that is worth a look, as a person reads it: one finding per group of related
photos (a template cluster, one photo reused across profiles) or per lone flagged photo, the
profile names first, then what was found and where."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .judge import FRAME_EVIDENCE
from .store import Store
from .verdicts import PhotoVerdict, iter_verdicts

_LABEL_ORDER = {"composited": 0, "reused": 1, "synthetic": 2}
NAMES_SHOWN = 8
PAGES_SHOWN = 3


@dataclass
class Finding:
    label: str
    confidence: float
    headline: str  # the strongest member's leading reason, in plain words
    names: list[str] = field(default_factory=list)  # profile names, in order of first sighting
    pages: list[str] = field(default_factory=list)
    photos: int = 0


def findings(store: Store) -> tuple[list[Finding], int, int]:
    """(findings, flagged photos, all photos): flagged photos grouped by their cluster (photos
    joined by verified matches), strongest finding first."""
    groups: dict[tuple[str, int], list[PhotoVerdict]] = defaultdict(list)
    total = 0
    for pv in iter_verdicts(store):
        total += 1
        if pv.verdict.label == "none":
            continue
        key = ("cluster", pv.cluster_id) if pv.cluster_id is not None else ("photo", pv.photo_id)
        groups[key].append(pv)
    flagged = sum(len(g) for g in groups.values())
    names = store.profile_names([pv.photo_id for g in groups.values() for pv in g])
    out = []
    for members in groups.values():
        lead = max(members, key=lambda pv: (pv.verdict.confidence,
                                            -_LABEL_ORDER.get(pv.verdict.label, 9)))
        top = lead.verdict.reasons[0]
        # Members oldest first, so names read in the order the profiles appeared.
        members.sort(key=lambda pv: pv.first_seen or "")
        group_names = list(dict.fromkeys(n for pv in members for n in names.get(pv.photo_id, [])))
        pages = list(dict.fromkeys(p.url for pv in members for p in pv.pages))
        out.append(Finding(lead.verdict.label, lead.verdict.confidence,
                           _group_headline(lead.verdict.label, len(members), group_names, pages,
                                           _identities(members), _maybe_frames(members))
                           or getattr(top, "headline", "") or top.detail,
                           group_names, pages, len(members)))
    out.sort(key=lambda f: (_LABEL_ORDER.get(f.label, 9), -f.photos, -f.confidence))
    return out, flagged, total


def _identities(members: list[PhotoVerdict]) -> int:
    """The people the group's reuse reasons count (``evidence.identities``: names that do not
    match after normalisation), not the names as written: "Sam Keller" and "Keller Sam" are one."""
    return max((int(r.evidence.get("identities", 0)) for pv in members
                for r in pv.verdict.reasons if r.kind == "reused" and r.score > 0), default=0)


def _maybe_frames(members: list[PhotoVerdict]) -> bool:
    """Whether a member's reuse reason allows for frames of one shoot rather than one photo
    (its pixels agree less than a copy's: ``face_corr`` or ``window_corr`` in its evidence)."""
    return any(k in r.evidence for pv in members for r in pv.verdict.reasons
               if r.kind == "reused" and r.score > 0 for k in FRAME_EVIDENCE)


def _group_headline(label: str, photos: int, names: list[str], pages: list[str],
                    identities: int = 0, frames: bool = False) -> str:
    """What a group says as a whole (a member's reason speaks of "this photo")."""
    if label == "composited" and photos > 1:
        return (f"The same body and backdrop under {photos} different faces: one stock "
                "template with faces pasted in.")
    if label == "reused" and identities > 1:
        written = f" ({len(names)} as written)" if len(names) > identities else ""
        what = "One photo, or frames of one shoot," if frames else "One photo"
        return (f"{what} used on {len(pages)} pages under {identities} different "
                f"names{written}.")
    return ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_findings(items: list[Finding], flagged: int, total: int) -> str:
    """The findings as text: a heading line, then one numbered entry per finding."""
    if not items:
        return f"No photo of the {total} in the store carries a signal."
    lines = [f"{_plural(len(items), 'finding')} ({flagged} of {_plural(total, 'photo')} "
             "flagged), strongest first:"]
    for i, f in enumerate(items, start=1):
        shown = f.names[:NAMES_SHOWN]
        more = f" and {len(f.names) - len(shown)} more" if len(f.names) > len(shown) else ""
        who = ", ".join(shown) + more if shown else "(no profile names recorded)"
        lines.append(f"{i}. {f.label.capitalize()} ({f.confidence:.0%}): {who}")
        lines.append(f"   {f.headline}")
        where = ", ".join(f.pages[:PAGES_SHOWN])
        extra = f" and {len(f.pages) - PAGES_SHOWN} more" if len(f.pages) > PAGES_SHOWN else ""
        lines.append(f"   {_plural(f.photos, 'photo')} on {_plural(len(f.pages), 'page')}: "
                     f"{where}{extra}")
    return "\n".join(lines)
