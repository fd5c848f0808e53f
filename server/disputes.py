"""Disputed verdicts: a photo that enough people (distinct API keys) marked wrong keeps its label,
but its confidence is halved and a reason says so, so nobody mistakes it for an undisputed one."""

from __future__ import annotations

from typing import Any

SIGNAL = "feedback.disputed"


def with_feedback(out: dict[str, Any], wrong: int, confirmed: int, after: int
                  ) -> dict[str, Any]:
    """The lookup answer with ``feedback`` counts (distinct keys) and ``disputed``; a flagged
    verdict marked wrong by ``after`` keys or more is disputed."""
    out = {**out, "feedback": {"false_positive": wrong, "confirmed": confirmed},
           "disputed": False}
    if out.get("label") in (None, "none") or wrong < after:
        return out
    people = f"{wrong} {'person' if wrong == 1 else 'people'}"
    reason = {
        "kind": out["label"], "signal": SIGNAL, "score": 0.0, "matches": [], "page_count": 0,
        "detail": f"disputed: {people} marked this verdict wrong ({confirmed} confirmed it)",
        "headline": f"Disputed: {people} marked this finding wrong; look again before you rely "
                    "on it.",
        "evidence": {"false_positive": wrong, "confirmed": confirmed, "dispute_after": after},
    }
    return {**out, "disputed": True, "confidence": round(out["confidence"] / 2, 3),
            "reasons": [*out["reasons"], reason]}
