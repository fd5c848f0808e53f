from __future__ import annotations

import atexit
import importlib.util
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

from headcheck.analyze import STRICT_ENV, Analyzer

# A detector that raises fails the test (and the CLI, crawler and server runs it starts),
# instead of being logged and left out as in production.
os.environ[STRICT_ENV] = "1"
# Servers analyse on their engine thread unless a test asks for worker processes (each one loads
# the face models and the diffusion encoder: seconds a server, for every server a test starts).
os.environ.setdefault("HEADCHECK_LOOKUP_WORKERS", "0")
# Encoder sessions are cached in a folder of this run (and its subprocesses), not the user's:
# each run starts cold, so building and saving them is exercised too.
if "HEADCHECK_CACHE_DIR" not in os.environ:
    os.environ["HEADCHECK_CACHE_DIR"] = tempfile.mkdtemp(prefix="headcheck-cache-")
    atexit.register(shutil.rmtree, os.environ["HEADCHECK_CACHE_DIR"], ignore_errors=True)

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "data" / "faces"
REAL = FACES / "real" / "images"
STYLEGAN = FACES / "stylegan2" / "images"
DIFFUSION = FACES / "diffusion" / "images"


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    return Analyzer()


def bench_script(stem: str, name: str | None = None) -> ModuleType:
    """A script of bench/ loaded as a module (``name``, default its stem), registered in
    sys.modules (dataclasses look their module up) with bench/ on the path (the scripts
    import each other by name)."""
    if str(ROOT / "bench") not in sys.path:
        sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location(name or stem, ROOT / "bench" / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


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


# Probe v5.1 as it shipped (its file kept beside the detector's fixtures): the guard, the wide
# pass's gate and the near-eyes rule, which the shipped probe (v6) does not use, stay tested on
# the probe that has them.
PREVIOUS_PROBE = ROOT / "tests" / "fixtures" / "diffusion" / "probe_v5.1.json"


@pytest.fixture
def previous_probe(monkeypatch: pytest.MonkeyPatch):
    """The diffusion detector runs probe v5.1 for this test (its encoder caches cleared before
    and after); returns it."""
    import json

    from headcheck.detectors import diffusion

    def clear() -> None:
        diffusion.kernels_cosine.cache_clear()
        diffusion.encoder_kernels.cache_clear()

    pr = diffusion.load_probe(json.loads(PREVIOUS_PROBE.read_text()))
    monkeypatch.setattr(diffusion, "probe", lambda: pr)
    clear()
    yield pr
    clear()
