"""Make the bundled sample set: a handful of profile photos that exercise every verdict.

    python data/sample/make_sample.py

Writes data/sample/images/ and data/sample/pages.csv (path,page_url,profile), reproducibly,
from data/faces/ with the corpus generator's own composite and transform functions. The page
URLs are on the reserved example.org domain: nothing is fetched.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FACES = ROOT / "data" / "faces"
SITE = "https://people.example.org/profile/"
XMP_AI = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
    b' Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
    b'trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>'
)


def _corpus():  # noqa: ANN202 - the module
    spec = importlib.util.spec_from_file_location("corpus", ROOT / "bench" / "corpus.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["corpus"] = mod
    spec.loader.exec_module(mod)
    return mod


def _jpeg(rgb: np.ndarray, quality: int = 88, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality, **kw)
    return buf.getvalue()


def main() -> int:
    c = _corpus()
    from headcheck.face import FaceModels
    from headcheck.load import load_image

    models = FaceModels()

    def load(rel: str) -> tuple[np.ndarray, object]:
        rgb = load_image((FACES / rel).read_bytes()).array()
        return rgb, models.find_face(rgb)

    out = HERE / "images"
    out.mkdir(exist_ok=True)
    rows: list[tuple[str, str, str]] = []

    def put(name: str, data: bytes, profile: str) -> None:
        (out / name).write_bytes(data)
        rows.append((f"images/{name}", SITE + profile, profile.replace("-", " ").title()))

    # 1. A stock template under three pasted faces (and the stock photo itself on a stock site).
    tpl, tface = load("real/images/large_4452457288@2x.jpg")
    put("stock-template.jpg", _jpeg(tpl), "stock-photo-4452457288")
    for i, donor in enumerate(("stylegan2/images/sfhq_011.jpg", "stylegan2/images/sfhq_024.jpg",
                               "stylegan2/images/sfhq_036.jpg")):
        d, dface = load(donor)
        rng = np.random.default_rng(100 + i)
        data, _ = c.reexport(c.composite(tpl, tface, d, dface), rng)
        put(f"composite-{i + 1}.jpg", data, ["dana-whitfield", "marc-oyelaran", "lena-brandt"][i])
    # 2. One photo reused under four names, as profile sites re-encode it.
    orig, oface = load("real/images/large_3788426000@2x.jpg")
    put("reused-original.jpg", _jpeg(orig), "sam-keller")
    for i, (t, who) in enumerate((("resize_200", "samuel-k"), ("mirror", "s-keller-consulting"),
                                  ("ring", "keller-sam"))):
        data, ext, _ = c.apply_transform(orig, t, np.random.default_rng(200 + i), oface)
        put(f"reused-{t}.{ext}", data, who)
    # 3. StyleGAN faces (held-out half: not used to fit the geometry reference).
    for n, who in (("013", "jordan-hale"), ("015", "priya-natarajan")):
        put(f"stylegan-{n}.jpg", (FACES / f"stylegan2/images/sfhq_{n}.jpg").read_bytes(), who)
    # 4. Text-to-image headshots that say so in their metadata.
    rgb, _ = load("diffusion/images/t2i_FLUX1_pro_011.jpg")
    put("declared-iptc.jpg", _jpeg(rgb, xmp=XMP_AI), "alex-moreau")
    rgb, _ = load("diffusion/images/t2i_SDXL_090.jpg")
    exif = Image.Exif()
    exif[0x0131] = "Midjourney v6"
    put("declared-exif.jpg", _jpeg(rgb, exif=exif.tobytes()), "chris-tanaka")
    # 5. Photos with nothing to report.
    for pid, who in (("3936813347", "maria-santos"), ("4530910556", "tom-becker"),
                     ("3377864339", "howie-le")):
        put(f"plain-{pid}.jpg", (FACES / f"real/images/large_{pid}@2x.jpg").read_bytes(), who)
    with (HERE / "pages.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "page_url", "profile"])
        w.writerows(rows)
    print(f"wrote {len(rows)} images and pages.csv to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
