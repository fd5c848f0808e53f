"""What recruiters said about the verdicts (the server's ``feedback`` table, read through
``headcheck.feedback``: each key's latest answer counts once per photo): counts per label, the
photos to review with their thumbnails, and the flagged share with and without disputed ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..feedback import feedback_counts
from ..store import Store
from .stats import Proportion, proportion

REVIEW_SHOWN = 48  # photos listed for review, disputed first


class Labelled(Protocol):
    sha256: str
    label: str


@dataclass(frozen=True)
class Answered:
    photo_id: int
    sha256: str
    label: str
    wrong: int  # keys whose latest answer is "wrong"
    confirmed: int
    pending_wrong: int  # of those, given since the operator's last review
    notes: tuple[str, ...]
    review: dict[str, Any] | None  # the latest: decision, reviewer, decided_at


@dataclass(frozen=True)
class FeedbackSummary:
    rows: list[dict[str, int | str]]  # per label: photos answered, marked wrong, confirmed
    disputed: int  # flagged photos marked wrong since their last review
    flagged: Proportion | None  # every flagged photo
    undisputed: Proportion | None  # flagged photos nobody disputes
    photos: list[Answered] = field(default_factory=list)  # for review, disputed first
    answered_total: int = 0


def feedback_summary(store: Store, labels: Mapping[int, Labelled]) -> FeedbackSummary | None:
    """None when the store has no feedback table (no server ever ran on it)."""
    if "feedback" not in store.db.table_names():
        return None
    ids = {r.sha256: pid for pid, r in labels.items()}
    counts = {sha: c for sha, c in feedback_counts(store).items() if sha in ids}
    answered = [Answered(ids[sha], sha, labels[ids[sha]].label, c.false_positive, c.confirmed,
                         c.pending_false_positive, c.notes, c.review)
                for sha, c in counts.items()]
    rows = []
    for label in ("synthetic", "composited", "reused", "none"):
        part = [a for a in answered if a.label == label]
        rows.append({"label": label, "photos": len(part),
                     "wrong": sum(1 for a in part if a.wrong),
                     "confirmed": sum(1 for a in part if a.confirmed)})
    n = len(labels)
    flagged = sum(1 for r in labels.values() if r.label != "none")
    disputed = sum(1 for a in answered if a.label != "none" and a.pending_wrong)
    answered.sort(key=lambda a: (a.label == "none", -a.pending_wrong, -a.wrong, -a.confirmed,
                                 a.photo_id))
    return FeedbackSummary(rows, disputed, proportion(flagged, n) if n else None,
                           proportion(flagged - disputed, n) if n else None,
                           answered[:REVIEW_SHOWN], len(answered))
