"""Browser extension: time from a profile photo's load event to its badge, in Chromium, against a
real `headcheck serve` on 127.0.0.1 (the store holds the sample profiles).

Three cases, each a new <img> on a page the extension runs on:
- first lookup: bytes nobody has seen (a sample photo with a unique tail after the JPEG's end)
  under a new URL: the worker downloads the image, the server analyses and matches it;
- cached by URL: a URL the extension answered before (its storage.session cache);
- cached by sha256: the same bytes under a new URL: downloaded and hashed, not sent.

Then whole pages of 10 and 30 avatars added at once, timed from the first image's load event to
the first and to the last badge, on a fresh extension cache:
- photos the store holds (as on a page a crawl has seen): asked by hash, in one batch;
- new bytes (the baseline, measured in the same run): every photo uploaded and analysed.

    .venv/bin/python bench/extension_bench.py [--runs 12] [--page-runs 3]

Prints median, p90 and max per case. Aim: cached < 300 ms, first lookup < 1 s, a page's last
badge within 1 s when the store holds its photos.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.extension_support import (  # noqa: E402
    API_KEY,
    configure,
    headcheck_server,
    launch,
    page_server,
    store_without_clean_photos,
)

# Flagged photos (a badge appears): composited, synthetic (geometry and metadata), reused.
PHOTOS = ("composite-1.jpg", "stylegan-015.jpg", "declared-exif.jpg", "reused-ring.jpg")
# Every photo of the bench store (all flagged), for the pages of many avatars.
STORED = ("stock-template.jpg", "composite-1.jpg", "composite-2.jpg", "composite-3.jpg",
          "reused-original.jpg", "reused-resize_200.jpg", "reused-mirror.jpg", "reused-ring.jpg",
          "stylegan-013.jpg", "stylegan-015.jpg", "declared-iptc.jpg", "declared-exif.jpg")


def summary(ms: list[float]) -> str:
    ms = sorted(ms)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):6.0f} ms   p90 {p90:6.0f} ms   max {ms[-1]:6.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=12, help="photos per case (default 12)")
    ap.add_argument("--page-runs", type=int, default=3, help="pages per page case (default 3)")
    args = ap.parse_args()
    pages_known: dict[int, list[dict]] = {10: [], 30: []}
    pages_new: dict[int, list[dict]] = {10: [], 30: []}

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        t = time.perf_counter()
        db = store_without_clean_photos(Path(tmp) / "store.db")
        print(f"store: sample profiles indexed in {time.perf_counter() - t:.1f} s")
        with headcheck_server(db) as server, page_server() as pages:
            browser = launch(pw, Path(tmp) / "profile")
            configure(browser, server, API_KEY)
            page = browser.context.new_page()
            page.goto(pages + "/bench")
            time_badge = lambda src: page.evaluate("(src) => timeBadge(src)", src)  # noqa: E731

            for i in range(2):  # warm up: worker start, first connection, models in the server
                time_badge(f"{pages}/fresh/warm{i}/{PHOTOS[i]}")
            first, by_url, by_sha = [], [], []
            urls = []
            for i in range(args.runs):
                url = f"{pages}/fresh/{uuid.uuid4().hex[:12]}/{PHOTOS[i % len(PHOTOS)]}"
                urls.append(url)
                first.append(time_badge(url))
            for url in urls:
                by_url.append(time_badge(url))
            for i, url in enumerate(urls):
                by_sha.append(time_badge(f"{url}?copy={i}"))

            worker = browser.context.service_workers[0]
            for _ in range(args.page_runs):
                for n in (10, 30):
                    for known, out in ((True, pages_known), (False, pages_new)):
                        worker.evaluate("() => chrome.storage.session.clear()")  # a first visit
                        # New URLs each time; the same bytes as the store's (known) or a unique
                        # tail after the JPEG's end (new bytes, analysed by the server).
                        tag = uuid.uuid4().hex[:10]
                        srcs = [f"{pages}/{'p' if known else 'fresh'}/{tag}{i}/"
                                f"{STORED[i % len(STORED)]}" for i in range(n)]
                        out[n].append(page.evaluate("(s) => timePage(s)", srcs))
            browser.context.close()

    print(f"\nimage load -> badge, {args.runs} photos per case "
          f"({platform.machine()}, {os.cpu_count()} CPUs, Chromium headless, server on loopback)")
    print(f"  first lookup      {summary(first)}")
    print(f"  cached by URL     {summary(by_url)}")
    print(f"  cached by sha256  {summary(by_sha)}")
    print(f"\na page of avatars at once, first image load -> first / last badge, "
          f"{args.page_runs} pages per case, fresh extension cache")
    for n in (10, 30):
        for name, runs in (("store holds them", pages_known[n]), ("new bytes (baseline)",
                                                                  pages_new[n])):
            print(f"  {n:2d} photos, {name:22s} first: {summary([r['first'] for r in runs])}")
            print(f"  {'':33s} last:  {summary([r['last'] for r in runs])}")
        known = statistics.median(r["last"] for r in pages_known[n])
        new = statistics.median(r["last"] for r in pages_new[n])
        print(f"  {n:2d} photos: last badge in {known / new:.2f}x the baseline's time")


if __name__ == "__main__":
    main()
