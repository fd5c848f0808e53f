"""Per-image signals: small value objects that detectors return and the judge reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The verdict kinds a signal can support. "authentic" is deliberately not one of them.
SYNTHETIC = "synthetic"
COMPOSITED = "composited"
REUSED = "reused"
KINDS = (SYNTHETIC, COMPOSITED, REUSED)  # strongest claim first, to break score ties


@dataclass(frozen=True)
class Signal:
    """One finding about one image.

    name: a stable identifier of the detector and finding (e.g. ``c2pa.ai_generated``).
    kind: the verdict kind it supports (``synthetic``, ``composited`` or ``reused``).
    score: 0..1, how strongly it supports that kind; 0 is information only and never sways
        a verdict.
    detail: one sentence with the technical particulars (fields, distances).
    evidence: the raw facts behind it (metadata values, distances, names, links), for tools;
        JSON-serialisable.
    headline: one plain sentence a recruiter understands, without jargon.
    """

    name: str
    kind: str
    score: float
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)
    headline: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["headline"] = self.headline or self.detail  # rows stored before headlines existed
        return d
