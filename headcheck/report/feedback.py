"""What recruiters said about the verdicts (the server's ``feedback`` table): counts per label,
the photos marked wrong, and the flagged share with and without them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from ..store import Store
from .stats import Proportion, proportion


class Labelled(Protocol):
    sha256: str
    label: str


@dataclass(frozen=True)
class FeedbackSummary:
    rows: list[dict[str, int | str]]  # per label: photos answered, marked wrong, confirmed
    disputed: int  # flagged photos marked wrong by at least one key
    flagged: Proportion | None  # every flagged photo
    undisputed: Proportion | None  # flagged photos nobody marked wrong


def feedback_summary(store: Store, labels: Mapping[int, Labelled]) -> FeedbackSummary | None:
    """None when the store has no feedback table (no server ever ran on it)."""
    if "feedback" not in store.db.table_names():
        return None
    by_sha = {r.sha256: r for r in labels.values()}
    keys: dict[str, dict[str, int]] = {}
    for sha, label, n in store.db.execute(
            "SELECT sha256, label, count(DISTINCT coalesce(key_id, '')) FROM feedback "
            "GROUP BY sha256, label"):
        keys.setdefault(sha, {})[label] = int(n)
    rows = []
    for label in ("synthetic", "composited", "reused", "none"):
        shas = [s for s in keys if s in by_sha and by_sha[s].label == label]
        rows.append({"label": label, "photos": len(shas),
                     "wrong": sum(1 for s in shas if keys[s].get("false_positive")),
                     "confirmed": sum(1 for s in shas if keys[s].get("confirmed"))})
    n = len(labels)
    flagged = sum(1 for r in labels.values() if r.label != "none")
    disputed = sum(int(row["wrong"]) for row in rows if row["label"] != "none")
    return FeedbackSummary(rows, int(disputed), proportion(flagged, n) if n else None,
                           proportion(flagged - int(disputed), n) if n else None)
