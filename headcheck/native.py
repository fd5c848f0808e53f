"""headcheck/_hamming.c, the one compiled part: built in place by setup.py where a C compiler is,
loaded here once with ctypes. Each user checks for the function it needs (a build from an older
checkout may lack one) and falls back to a library with the same answers: faiss for the index's
scan, OpenCV for descriptor matching."""

from __future__ import annotations

import ctypes
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def library() -> ctypes.CDLL | None:
    for path in sorted(Path(__file__).parent.glob("_hamming*.so")):
        try:
            return ctypes.CDLL(str(path))
        except OSError:
            continue
    return None


def function(name: str) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """The named function of the built library, or None (not built, or built without it)."""
    lib = library()
    return getattr(lib, name, None) if lib is not None else None
