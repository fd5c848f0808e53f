"""Which detectors run: the built-ins, listed here, then third-party ones from the entry-point
group ``headcheck.detectors`` (``name = "package.module:DetectorClass"`` in their pyproject).

Adding a built-in detector is one new module in this package and one line in ``BUILTIN``.
Each entry names a Detector class (instantiated once, with no arguments) or a ready instance.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from importlib.metadata import entry_points
from typing import Any

from ..signals import KINDS
from .base import NEEDS, Detector

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "headcheck.detectors"

BUILTIN: tuple[str, ...] = (
    "headcheck.detectors.provenance:ProvenanceDetector",
    "headcheck.detectors.stylegan:StyleGanGeometry",
    "headcheck.detectors.diffusion:DiffusionDetector",
    "headcheck.detectors.watermark:WatermarkDetector",
)


class DetectorError(Exception):
    """A detector that cannot be registered (bad spec, missing attribute, invalid fields)."""


def load(spec: str) -> Detector:
    """``module:attr`` -> a checked Detector instance."""
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise DetectorError(f"detector spec {spec!r} is not 'module:attribute'")
    obj: Any = getattr(importlib.import_module(module), attr)
    return check(obj() if isinstance(obj, type) else obj)


def check(det: Any) -> Detector:
    if not isinstance(det, Detector):
        raise DetectorError(f"{det!r} lacks name, kind, version, needs or detect()")
    if det.kind not in KINDS:
        raise DetectorError(f"detector {det.name!r}: kind {det.kind!r} is not one of {KINDS}")
    if not set(det.needs) <= NEEDS:
        raise DetectorError(f"detector {det.name!r}: unknown needs {set(det.needs) - NEEDS}")
    return det


def plugins(strict: bool = False) -> list[Detector]:
    """Detectors installed by other packages. One that fails to load is logged and left out,
    so a broken plug-in cannot stop analysis (``strict`` raises instead, for tests)."""
    out = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            out.append(load(ep.value))
        except Exception:
            if strict:
                raise
            log.exception("detector plug-in %s (%s) not loaded", ep.name, ep.value)
    return out


# Detector names to leave out, comma-separated: an operator's knob for a latency-bound server on a
# slow machine (the diffusion probe's CLIP pass costs ~0.1 s a face on idle cores, seconds on a
# crowded one).
DISABLE_ENV = "HEADCHECK_DISABLE_DETECTORS"


def registered(strict: bool = False) -> list[Detector]:
    """Every detector that runs, built-ins first; names are unique."""
    off = {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}
    return [d for d in _all(strict) if d.name not in off]


def versions(strict: bool = False) -> dict[str, str]:
    """Every installed detector's version, by name: those turned off by ``DISABLE_ENV`` too (the
    signals they stored are as current as their code); the stored verdicts set aside signals of
    any other version (``headcheck.stale``)."""
    return {d.name: str(d.version) for d in _all(strict)}


@functools.cache  # read for every chunk of stored verdicts; the installed detectors stay put
def keeps() -> dict[str, frozenset[str]]:
    """Per installed detector, the earlier versions whose stored signals still count (its
    optional ``keeps``): a version that only added findings leaves the earlier flags standing,
    while the photos are still analysed again where their bytes come (``headcheck.stale``)."""
    return {d.name: frozenset(map(str, k)) for d in _all(False) if (k := getattr(d, "keeps", ()))}


def _all(strict: bool) -> list[Detector]:
    dets = [load(spec) for spec in BUILTIN]
    if len({d.name for d in dets}) < len(dets):
        raise DetectorError("two built-in detectors share a name")
    for d in plugins(strict):
        if d.name in {x.name for x in dets}:
            if strict:
                raise DetectorError(f"two detectors are named {d.name!r}")
            log.error("detector plug-in %r left out: the name is taken", d.name)
            continue
        dets.append(d)
    return dets
