"""Crawl throughput: profiles a second crawling a local site of generated profile pages, with
analysis and the store, against analysis alone over the same images, in one run.

    python bench/crawl_bench.py [--profiles 2000] [--photos 200] [--workers N]

The site (served on 127.0.0.1 by crawler/site_server.py) has listing pages and one profile page
per profile, using every extraction path in turn (JSON-LD, OpenGraph, h-card, ActivityPub, plain
img). Each profile shows one of ``--photos`` photos from data/faces/ (at most 512 px), re-encoded
at its own JPEG quality, with its number as a JPEG comment: every image is new bytes (so every one
is analysed and matched, the costly case) while the store sees the same photo reused across
profiles.

Timings of the same images, with the same number of analysis processes:
- analysis alone: the worker pool over the image bytes (no HTTP, no store);
- store alone: ``Headcheck.add_analysis`` of those analyses, one after the other, into a new
  store (matching each photo against the ones before it, then writing: the crawl's writer thread);
- crawl only: the crawl with FilesPipeline and no analysis (what Scrapy costs here);
- crawl: the full crawl, analysis and store included (what ``headcheck crawl`` costs).
Politeness is off for loopback (8 requests at a time, no AutoThrottle). Writes
bench/out/crawl_bench.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crawler.analysis_pool import analyze, default_workers, make_pool  # noqa: E402
from crawler.site_server import SiteServer  # noqa: E402
from headcheck.analyze import Analysis  # noqa: E402
from headcheck.engine import Headcheck  # noqa: E402
from headcheck.store import Sighting  # noqa: E402

FACES = ROOT / "data" / "faces"
PER_LISTING = 50
LOOPBACK = ["-s", "AUTOTHROTTLE_ENABLED=false", "-s", "DOWNLOAD_DELAY=0",
            "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8", "--log-level", "WARNING",
            "--allow-network", "127.0.0.1/32"]  # the local site: refused unless allowed


def source_photos(n: int) -> list[Image.Image]:
    files = sorted((FACES / "real" / "images").glob("large_*@2x.jpg")) + sorted(
        (FACES / "stylegan2" / "images").glob("*.jpg")) + sorted(
        (FACES / "diffusion" / "images").glob("*.jpg"))
    if len(files) < n:
        raise SystemExit(f"only {len(files)} photos in {FACES}")
    out = []
    for f in files[:n]:
        im = Image.open(f).convert("RGB")
        im.thumbnail((512, 512), Image.Resampling.LANCZOS)
        out.append(im)
    return out


def profile_page(i: int, name: str, img: str) -> tuple[str, dict[str, str]]:
    """(path, files) of profile ``i``, its extraction path chosen by ``i``."""
    kind = i % 5
    if kind == 0:
        ld = json.dumps({"@context": "https://schema.org", "@type": "Person", "name": name,
                         "image": img})
        return f"/p/{i}.html", {f"p/{i}.html": f'<script type="application/ld+json">{ld}'
                                               f"</script><h1>{name}</h1>"}
    if kind == 1:
        return f"/p/{i}.html", {f"p/{i}.html": (
            f'<meta property="og:type" content="profile"><meta property="og:title" '
            f'content="{name}"><meta property="og:image" content="{img}"><h1>{name}</h1>')}
    if kind == 2:
        return f"/p/{i}.html", {f"p/{i}.html": (
            f'<div class="h-card"><img class="u-photo" src="{img}" alt="">'
            f'<span class="p-name">{name}</span></div>')}
    if kind == 3:
        actor = json.dumps({"type": "Person", "name": name, "icon": {"url": img}})
        return f"/u/{i}", {f"u/{i}.html": '<link rel="alternate" type="application/activity+json"'
                                          f' href="/u/{i}"><h1>@{i}</h1>',
                           f"u/{i}.json": actor}
    return f"/p/{i}.html", {f"p/{i}.html": (
        f'<img class="avatar" src="{img}" alt="Photo of {name}" width="200" height="200">'
        f"<h1>{name}</h1>")}


def make_site(root: Path, profiles: int, photos: list[Image.Image]) -> list[bytes]:
    """Write the site; return the image bytes in profile order."""
    images, paths = [], []
    for i in range(profiles):
        buf = io.BytesIO()
        # The profile number as a JPEG comment: new bytes even past 26 qualities per photo.
        photos[i % len(photos)].save(buf, format="JPEG", quality=70 + (i // len(photos)) % 26,
                                     comment=f"profile {i}".encode())
        images.append(buf.getvalue())
        (root / "img").mkdir(parents=True, exist_ok=True)
        (root / "img" / f"{i}.jpg").write_bytes(images[-1])
        path, files = profile_page(i, f"Person {i}", f"/img/{i}.jpg")
        paths.append(path)
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    listings = [paths[k:k + PER_LISTING] for k in range(0, len(paths), PER_LISTING)]
    for n, chunk in enumerate(listings):
        links = "".join(f'<li><a href="{p}">profile</a></li>' for p in chunk)
        (root / "team").mkdir(exist_ok=True)
        (root / "team" / f"{n}.html").write_text(f"<ul>{links}</ul>")
    index = "".join(f'<a href="/team/{n}.html">team {n}</a> ' for n in range(len(listings)))
    (root / "index.html").write_text(f"<h1>People</h1>{index}")
    return images


def analysis_alone(images: list[bytes], workers: int) -> tuple[float, list[Analysis]]:
    pool = make_pool(workers)
    try:
        list(pool.map(analyze, images[: workers * 2]))  # workers loaded and warm, as in a crawl
        t = time.perf_counter()
        analyses = list(pool.map(analyze, images, chunksize=4))
        return time.perf_counter() - t, analyses
    finally:
        pool.shutdown()


def store_alone(analyses: list[Analysis], db: Path) -> float:
    hc = Headcheck(db)
    try:
        t = time.perf_counter()
        for i, a in enumerate(analyses):
            hc.add_analysis(a, Sighting(f"http://bench.test/p/{i}", f"http://bench.test/{i}.jpg",
                                        source="crawl"))
        return time.perf_counter() - t
    finally:
        hc.close()


def crawl(seed: str, work: Path, name: str, workers: int, *extra: str) -> dict:
    stats = work / f"{name}.json"
    cmd = [sys.executable, "-m", "crawler", seed, "--db", str(work / f"{name}.db"),
           "--depth", "2", "--workers", str(workers), "--stats", str(stats), *LOOPBACK, *extra]
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k.lower() != "http_proxy"})
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{name} crawl failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    s = json.loads(stats.read_text())["stats"]
    return {"seconds": float(s["elapsed_time_seconds"]), "wall_seconds": round(wall, 2),
            "profiles": int(s.get("headcheck/profiles", 0)),
            "photos_stored": int(s.get("headcheck/photos_new", 0))
            + int(s.get("headcheck/photos_known", 0)),
            "requests": int(s.get("downloader/request_count", 0)),
            "flagged": {k.rsplit("/", 1)[1]: v for k, v in s.items()
                        if k.startswith("headcheck/flagged/")}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profiles", type=int, default=2000)
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--workers", type=int, default=default_workers())
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "crawl_bench.json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="crawl-bench-") as tmp:
        work = Path(tmp)
        images = make_site(work / "site", args.profiles, source_photos(args.photos))
        alone, analyses = analysis_alone(images, args.workers)
        store = store_alone(analyses, work / "store-alone.db")
        with SiteServer(work / "site") as server:
            seed = server.url("/")
            no_analysis = crawl(seed, work, "crawl-only", args.workers, "-s",
                                'ITEM_PIPELINES={"crawler.files.HeadshotFilesPipeline": 100}')
            full = crawl(seed, work, "crawl", args.workers)
    if full["profiles"] != args.profiles or full["photos_stored"] != args.profiles:
        raise SystemExit(f"the crawl missed profiles: {full}")
    rate = {"analysis_alone": args.profiles / alone, "store_alone": args.profiles / store,
            "crawl_only": no_analysis["profiles"] / no_analysis["seconds"],
            "crawl": full["profiles"] / full["seconds"]}
    result = {
        "profiles": args.profiles, "distinct_photos": args.photos, "workers": args.workers,
        "cpus": os.cpu_count(), "analysis_alone_seconds": round(alone, 2),
        "store_alone_seconds": round(store, 2),
        "crawl_only": no_analysis, "crawl": full,
        "per_second": {k: round(v, 2) for k, v in rate.items()},
        "ratios": {"crawl / analysis alone": round(rate["crawl"] / rate["analysis_alone"], 3),
                   "crawl / store alone": round(rate["crawl"] / rate["store_alone"], 3),
                   "crawl only / analysis alone":
                       round(rate["crawl_only"] / rate["analysis_alone"], 3)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.profiles} profiles, {args.photos} distinct photos, {args.workers} analysis "
          f"processes on {os.cpu_count()} CPUs")
    print(f"  analysis alone:        {rate['analysis_alone']:7.1f} images/s ({alone:.1f} s)")
    print(f"  store alone:           {rate['store_alone']:7.1f} photos/s ({store:.1f} s, "
          "matching and writing, one thread)")
    print(f"  crawl, no analysis:    {rate['crawl_only']:7.1f} profiles/s "
          f"({no_analysis['seconds']:.1f} s, {no_analysis['requests']} requests)")
    print(f"  crawl with analysis:   {rate['crawl']:7.1f} profiles/s ({full['seconds']:.1f} s)")
    for name, ratio in result["ratios"].items():
        print(f"  {name}: {ratio:.2f}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
