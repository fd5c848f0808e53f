"""StyleGAN geometry: FFHQ-aligned generators put the eyes at nearly fixed image coordinates
(the reference and its threshold live in ``headcheck.geometry``)."""

from __future__ import annotations

from ..geometry import stylegan_signal
from ..signals import SYNTHETIC, Signal
from .base import DetectorInput


class StyleGanGeometry:
    name = "geometry.stylegan"
    kind = SYNTHETIC
    version = "1"
    needs = frozenset({"face", "landmarks"})

    def detect(self, inp: DetectorInput) -> list[Signal]:
        sig = stylegan_signal(inp.face, inp.image.width, inp.image.height)
        return [sig] if sig else []
