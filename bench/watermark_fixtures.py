"""Writes tests/fixtures/watermark/: a CC0 stock portrait marked by the reference encoder
(``invisible-watermark`` 0.2.0, bench only; see bench/watermark_eval.py) the way three pipelines
do it, so the tests check the detector against the package's own output, not against itself.

    python bench/watermark_fixtures.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from watermark_eval import mark_copy, rgb_of  # noqa: E402

from headcheck.detectors.watermark import MARKS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HOST = ROOT / "tests" / "fixtures" / "diffusion" / "real_interfaces_009.jpg"
OUT = ROOT / "tests" / "fixtures" / "watermark"

# (file, the mark's ``where``, format, save options)
FIXTURES = (
    ("sdxl_diffusers.png", "diffusers StableDiffusionXLWatermarker (SDXL pipelines)", "PNG", {}),
    ("sd2_scripts_q95.jpg", "Stability-AI/stablediffusion scripts/txt2img.py", "JPEG",
     {"quality": 95}),
    ("invokeai_node.webp", "invoke-ai/InvokeAI backend/image_util/invisible_watermark.py",
     "WEBP", {"lossless": True}),
)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    rgb = rgb_of(HOST)
    for name, where, fmt, kw in FIXTURES:
        mark = next(m for m in MARKS if m.where == where)
        Image.fromarray(mark_copy(rgb, mark)).save(OUT / name, fmt, **kw)
        print(OUT / name)


if __name__ == "__main__":
    main()
