"""Provenance: what the file's own metadata (C2PA, IPTC, EXIF/XMP, PNG text) says about how it
was made. The readers live in ``headcheck.provenance``; this is their detector face."""

from __future__ import annotations

from ..provenance import provenance_signals
from ..signals import SYNTHETIC, Signal
from .base import DetectorInput


class ProvenanceDetector:
    name = "provenance"
    kind = SYNTHETIC
    version = "2"  # 2: Gemini image model ids and product names, Imagen-N ids
    keeps = frozenset({"1"})  # 2 only added names: what 1 found, 2 finds too
    needs = frozenset({"metadata"})

    def detect(self, inp: DetectorInput) -> list[Signal]:
        return provenance_signals(inp.image)
