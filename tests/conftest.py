from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from headcheck.analyze import STRICT_ENV, Analyzer

# A detector that raises fails the test (and the CLI, crawler and server runs it starts),
# instead of being logged and left out as in production.
os.environ[STRICT_ENV] = "1"
# Servers analyse on their engine thread unless a test asks for worker processes (each one loads
# the face models and the diffusion encoder: seconds a server, for every server a test starts).
os.environ.setdefault("HEADCHECK_LOOKUP_WORKERS", "0")

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "data" / "faces"
REAL = FACES / "real" / "images"
STYLEGAN = FACES / "stylegan2" / "images"
DIFFUSION = FACES / "diffusion" / "images"


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer()


def real(photo_id: str, variant: str = "large@2x") -> Path:
    prefix, _, suffix = variant.partition("@")
    return REAL / f"{prefix}_{photo_id}{'@' + suffix if suffix else ''}.jpg"


def jpeg(im: Image.Image, quality: int = 90, **kw) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=quality, **kw)
    return buf.getvalue()


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()
