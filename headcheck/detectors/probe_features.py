"""What a diffusion probe's head reads: its features spec ("face,wide", "cls:7-9,wcls:6-8", ...),
parsed once, and one photo's encoder outputs from which a head's input vector is built."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import clip_encoder

PROBE_FILE = "data/diffusion_probe.json"

# What a head reads (its JSON "features"): parts side by side, comma-joined, in the order named.
# "face": the face square's final embedding; "face+mirror": its mean with the mirrored square's;
# "wide": the wider square's; "cls:<blocks>" / "wcls:<blocks>": the raw CLS tokens of the face
# (wider) square after those blocks (0-based; "7-9", "8", "4+6+9" or "all", increasing), 768 floats
# each. FEATURES lists the specs without tokens that probes up to v5.1 read.
FEATURES = ("face", "face+mirror", "face,wide", "face+mirror,wide")
EMBEDDING_PARTS = ("face", "face+mirror", "wide")
TOKEN_PARTS = ("cls", "wcls")


@dataclass(frozen=True)
class Part:
    name: str  # one of EMBEDDING_PARTS or TOKEN_PARTS
    blocks: tuple[int, ...] = ()  # a token part's blocks, increasing

    @property
    def wide(self) -> bool:
        """Whether it comes from the wider square's encoder pass."""
        return self.name in ("wide", "wcls")

    @property
    def width(self) -> int:
        return (clip_encoder.CLS_DIM * len(self.blocks) if self.name in TOKEN_PARTS
                else clip_encoder.EMBED_DIM)


@dataclass(frozen=True)
class Features:
    """A parsed features spec (``parse_features``)."""

    spec: str
    parts: tuple[Part, ...]

    @property
    def width(self) -> int:
        return sum(p.width for p in self.parts)

    @property
    def reads_wide(self) -> bool:
        return any(p.wide for p in self.parts)

    def blocks(self, name: str) -> set[int]:
        return {b for p in self.parts if p.name == name for b in p.blocks}

    @property
    def token_blocks(self) -> list[int]:
        """The blocks of every token part: those its probe's ``encoder_check.cls`` records
        (``clip_encoder.reference_tokens(spec.token_blocks)``)."""
        return sorted(self.blocks("cls") | self.blocks("wcls"))

    def face_index(self) -> slice | np.ndarray:
        """Where the parts of the face square's pass sit in the weights: a slice where they come
        first (as in "face,wide": the gate's arithmetic then is what it always was)."""
        idx, at = [], 0
        for p in self.parts:
            if not p.wide:
                idx.extend(range(at, at + p.width))
            at += p.width
        return slice(0, len(idx)) if idx == list(range(len(idx))) else np.asarray(idx)

    def vector(self, passes: Passes, wide: bool = True) -> np.ndarray:
        """The head's input (``wide`` False: the face square's parts only)."""
        vs = [passes.part(p) for p in self.parts if wide or not p.wide]
        if not vs:  # "wcls:6-8" without ``wide``: nothing of the face square
            return np.zeros(0, np.float32)
        return vs[0] if len(vs) == 1 else np.concatenate(vs)  # one part: the array itself


def _blocks(text: str) -> tuple[int, ...]:
    if text == "all":
        return tuple(range(clip_encoder.BLOCKS))
    out: list[int] = []
    for piece in text.split("+"):
        a, dash, b = piece.partition("-")
        lo, hi = int(a), int(b) if dash else int(a)
        out += range(lo, hi + 1)
    if not out or out != sorted(set(out)) or not 0 <= out[0] <= out[-1] < clip_encoder.BLOCKS:
        raise ValueError(text)
    return tuple(out)


@lru_cache(maxsize=64)
def parse_features(spec: str) -> Features:
    """A features spec (see FEATURES above), or ValueError naming it."""
    parts: list[Part] = []
    try:
        for piece in spec.split(","):
            name, colon, blocks = piece.partition(":")
            if colon and name in TOKEN_PARTS:
                parts.append(Part(name, _blocks(blocks)))
            elif not colon and name in EMBEDDING_PARTS:
                parts.append(Part(name))
            else:
                raise ValueError(piece)
    except ValueError:
        parts = []
    names = [p.name for p in parts]
    if not parts or len(set(names)) != len(names) or {"face", "face+mirror"} <= set(names):
        raise ValueError(f"{PROBE_FILE} reads features this detector cannot make: {spec!r}")
    return Features(spec, tuple(parts))


@dataclass
class Passes:
    """One photo's encoder outputs, each crop's pass run at most once: the face square's final
    embedding and CLS tokens (by block), the mean of its and the mirrored square's embedding,
    the wider square's embedding and tokens (None / empty where no head reads them)."""

    face: np.ndarray
    face_tokens: dict[int, np.ndarray] = field(default_factory=dict)
    mirrored: np.ndarray | None = None
    wide: np.ndarray | None = None
    wide_tokens: dict[int, np.ndarray] = field(default_factory=dict)

    def part(self, p: Part) -> np.ndarray:
        if p.name in TOKEN_PARTS:
            tokens = self.face_tokens if p.name == "cls" else self.wide_tokens
            return np.concatenate([tokens[b] for b in p.blocks])
        out = {"face": self.face, "face+mirror": self.mirrored, "wide": self.wide}[p.name]
        if out is None:
            raise RuntimeError(f"the {p.name} features were not computed")
        return out
