"""Detectors as plug-ins: the interface (``base``) and the list of those that run
(``registry``). See docs/design.md, "Adding a detector"."""

from .base import Detector, DetectorInput
from .registry import registered

__all__ = ["Detector", "DetectorInput", "registered"]
