"""Per-image signals: small value objects that detectors return and the judge reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The verdict kinds a signal can support. "authentic" is deliberately not one of them.
SYNTHETIC = "synthetic"
COMPOSITED = "composited"
REUSED = "reused"


@dataclass(frozen=True)
class Signal:
    """One finding about one image.

    name: a stable identifier of the detector and finding (e.g. ``c2pa.ai_generated``).
    kind: the verdict kind it supports (``synthetic``, ``composited`` or ``reused``).
    score: 0..1, how strongly it supports that kind.
    detail: one sentence a person can read.
    evidence: the raw facts behind it (metadata values, distances), for tools.
    """

    name: str
    kind: str
    score: float
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
