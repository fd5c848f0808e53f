"""Disputed verdicts: a photo that enough people (distinct API keys) marked wrong since its last
review keeps its label, but its confidence is halved and a reason says so, so nobody mistakes it
for an undisputed one. The rule lives in the core (``headcheck.feedback``), shared with
``headcheck check --json``; an operator's review (``headcheck feedback``) closes a dispute."""

from __future__ import annotations

from headcheck.feedback import DISPUTED as SIGNAL
from headcheck.feedback import with_feedback

__all__ = ["SIGNAL", "with_feedback"]
