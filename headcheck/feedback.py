"""The feedback loop in the store: what recruiters said about verdicts (the server's ``feedback``
table), the operator's reviews (``feedback_reviews``) and what an accepted false positive
suppresses (``suppressions``, read by every verdict through ``headcheck.suppress``).

Everything is keyed by sha256, not by photo id, so re-indexing (or forgetting and indexing the
same bytes again) keeps a review. One key counts once per photo: its latest answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .judge import Verdict
from .relations import SAME_CONTEXT, SAME_PHOTO
from .signals import REUSED
from .store import Store, now_iso
from .suppress import NO_SUPPRESSION, Suppression

FALSE_POSITIVE, CONFIRMED = "false_positive", "confirmed"
ACCEPTED, REJECTED = "accepted", "rejected"
DISPUTED = "feedback.disputed"


@dataclass(frozen=True)
class Counts:
    """Distinct keys per answer (each key's latest), all time and since the last review."""

    false_positive: int = 0
    confirmed: int = 0
    pending_false_positive: int = 0  # since the latest review: only these can dispute
    pending_confirmed: int = 0
    notes: tuple[str, ...] = ()
    review: dict[str, Any] | None = None  # the latest: decision, reviewer, decided_at, ...

    def as_json(self) -> dict[str, int]:
        return {FALSE_POSITIVE: self.false_positive, CONFIRMED: self.confirmed}


NO_COUNTS = Counts()


def latest_reviews(store: Store, sha256s: Iterable[str] | None = None
                   ) -> dict[str, dict[str, Any]]:
    """The latest review per photo (all photos when ``sha256s`` is None)."""
    rows = store.review_rows(sha256s)
    return {r[0]: {"decision": r[1], "reviewer": r[2], "decided_at": r[3], "note": r[4] or "",
                   "feedback_upto": r[5]} for r in rows}


def feedback_counts(store: Store, sha256s: Iterable[str] | None = None) -> dict[str, Counts]:
    """Per photo with feedback (all of them when ``sha256s`` is None): each key's latest answer
    counts once; answers given before the photo's latest review are no longer pending."""
    rows = store.feedback_rows(sha256s)
    reviews = latest_reviews(store, {r[0] for r in rows})
    latest: dict[str, dict[str, tuple[str, int]]] = {}
    notes: dict[str, list[str]] = {}
    for sha, label, key, fid, note in rows:
        latest.setdefault(sha, {})[key] = (label, int(fid))
        if note:
            notes.setdefault(sha, []).append(note)
    out = {}
    for sha, by_key in latest.items():
        review = reviews.get(sha)
        since = int(review["feedback_upto"]) if review else 0  # feedback ids it saw
        answers = list(by_key.values())
        out[sha] = Counts(
            sum(1 for lab, _ in answers if lab == FALSE_POSITIVE),
            sum(1 for lab, _ in answers if lab == CONFIRMED),
            sum(1 for lab, t in answers if lab == FALSE_POSITIVE and t > since),
            sum(1 for lab, t in answers if lab == CONFIRMED and t > since),
            tuple(notes.get(sha, [])[-5:]), review)
    return out


def with_feedback(out: dict[str, Any], counts: Counts, after: int) -> dict[str, Any]:
    """A verdict's JSON with ``feedback`` counts (distinct keys) and ``disputed``: a flagged
    verdict that ``after`` keys or more marked wrong since its last review keeps its label, but
    its confidence is halved and a reason says so."""
    out = {**out, "feedback": counts.as_json(), "disputed": False}
    wrong = counts.pending_false_positive
    if out.get("label") in (None, "none") or wrong < after:
        return out
    people = f"{wrong} {'person' if wrong == 1 else 'people'}"
    reason = {
        "kind": out["label"], "signal": DISPUTED, "score": 0.0, "matches": [], "page_count": 0,
        "detail": f"disputed: {people} marked this verdict wrong ({counts.confirmed} "
                  "confirmed it)",
        "headline": f"Disputed: {people} marked this finding wrong; look again before you rely "
                    "on it.",
        "evidence": {FALSE_POSITIVE: wrong, CONFIRMED: counts.confirmed,
                     "dispute_after": after},
    }
    return {**out, "disputed": True, "confidence": round(out["confidence"] / 2, 3),
            "reasons": [*out["reasons"], reason]}


def suppressions(store: Store, sha256s: Iterable[str]) -> dict[str, Suppression]:
    """What accepted false positives suppress for each of these photos (both ends of a
    suppressed relation see it)."""
    wanted = sorted(set(sha256s))
    if not wanted:
        return {}
    found: dict[str, dict[str, Any]] = {}

    def add(sha: str, other: str | None, what: str, who: str, when: str) -> None:
        s = found.setdefault(sha, {"others": set(), "findings": set(), "who": "", "when": ""})
        if other:
            s["others"].add(other)
        else:
            s["findings"].add(what)
        if when >= s["when"]:
            s["who"], s["when"] = who, when

    want = set(wanted)
    # A row may come twice (its two ends in two chunks): adding is idempotent.
    for sha, other, what, who, when in store.suppression_rows(wanted):
        if sha in want:
            add(sha, other, what, who, when)
        if other in want:
            add(other, sha, what, who, when)
    return {sha: Suppression(frozenset(s["others"]), frozenset(s["findings"]), s["who"],
                             s["when"]) for sha, s in found.items()}


def suppression(store: Store, sha256: str) -> Suppression:
    return suppressions(store, [sha256]).get(sha256, NO_SUPPRESSION)


@dataclass
class Decision:
    sha256: str
    decision: str
    reviewer: str
    decided_at: str
    suppressed: list[dict[str, str | None]] = field(default_factory=list)


def _suppressed_by(sha256: str, verdict: Verdict) -> list[dict[str, str | None]]:
    """What accepting this verdict as wrong suppresses: the relations behind a composite
    reason, and the photo's own findings (a detector's signal; reuse, for every copy)."""
    rows: list[dict[str, str | None]] = []
    for r in verdict.reasons:
        if r.score <= 0:
            continue
        if r.signal == "match.same_context":
            rows += [{"sha256": sha256, "other_sha256": m["sha256"], "what": SAME_CONTEXT}
                     for m in r.matches if m.get("relation") == SAME_CONTEXT]
        elif r.kind == REUSED:
            rows.append({"sha256": sha256, "other_sha256": None, "what": REUSED})
            rows += [{"sha256": m["sha256"], "other_sha256": None, "what": REUSED}
                     for m in r.matches if m.get("relation") == SAME_PHOTO]
        else:
            rows.append({"sha256": sha256, "other_sha256": None, "what": r.signal})
    return rows


def review(store: Store, sha256: str, decision: str, verdict: Verdict, reviewer: str,
           note: str | None = None) -> Decision:
    """Record the operator's decision on a photo's feedback. Accepting a false positive stores
    what the current verdict rests on as suppressed (for good); rejecting keeps the flag and
    ends the dispute raised so far (later feedback can raise it again)."""
    if decision not in (ACCEPTED, REJECTED):
        raise ValueError(f"decision is {ACCEPTED!r} or {REJECTED!r}, not {decision!r}")
    when = now_iso()
    rows = _suppressed_by(sha256, verdict) if decision == ACCEPTED else []
    store.record_review({"sha256": sha256, "decision": decision, "reviewer": reviewer,
                         "decided_at": when, "note": note, "label": verdict.label}, rows)
    return Decision(sha256, decision, reviewer, when, rows)
