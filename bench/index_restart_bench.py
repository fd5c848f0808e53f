"""A restart with the saved index against building the index from the store, in one run.

    python bench/index_restart_bench.py [--photos 1000000] [--added 1000] [--forgotten 100]

Makes a real SQLite store of ``--photos`` generated photos (random hashes of every kind, four
usable region rows each; written with plain SQL, as the store's own writers would take hours,
and with no features, thumbnails or chips, so its rows are far smaller than a real store's and
the build from it is the fastest it can be: the ratio errs low). Then times, one after the
other on the same warm page cache:

- **build**: ``RegionIndex.from_store(store)``, what every start did before (reads every hash);
- **save**: ``RegionIndex.save`` (what ``Headcheck.close`` does when the file is behind);
- **load**: ``RegionIndex.from_store(store, path)`` with the file level with the store;
- **load and catch up**: after ``--added`` new photos and ``--forgotten`` forgotten ones;

and checks that every loaded index answers 200 lookups exactly as a build from the store does.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from throughput import publish  # bench/ is on sys.path when run as a script

from headcheck import match as M
from headcheck.fingerprint import ImageHashes, RegionHash
from headcheck.hashkinds import REGION_KINDS
from headcheck.index import RegionIndex
from headcheck.store import Store, hex_to_int64

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "index_restart_bench.json"
CHUNK = 100_000


def hexes(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    raw = rng.bytes(n * nbytes)
    return [raw[i:i + nbytes].hex() for i in range(0, n * nbytes, nbytes)]


def fill(store: Store, first: int, n: int, rng: np.random.Generator) -> None:
    """Photos ``first``..``first + n - 1`` with random hashes (plain SQL, one transaction a
    chunk)."""
    conn = store.db.conn
    regions = [k.name for k in REGION_KINDS]
    for start in range(first, first + n, CHUNK):
        m = min(CHUNK, first + n - start)
        ids = range(start, start + m)
        ph, phm, pdq, pdqm = (hexes(rng, m, b) for b in (8, 8, 32, 32))
        with conn:
            conn.executemany(
                "INSERT INTO photos (id, sha256, phash, phash_mirror, pdq, pdq_mirror, "
                "pdq_quality, analysis_version) VALUES (?, ?, ?, ?, ?, ?, 100, 3)",
                zip(ids, (f"{i:064x}" for i in ids), ph, phm, pdq, pdqm, strict=True))
            for region in regions:
                h, hm = hexes(rng, m, 8), hexes(rng, m, 8)
                conn.executemany(
                    "INSERT INTO region_hashes (photo_id, region, hash, mirror, bits, quality, "
                    "inside, usable) VALUES (?, ?, ?, ?, ?, 50.0, 1.0, 1)",
                    ((i, region, a, b, hex_to_int64(a)) for i, a, b in zip(ids, h, hm,
                                                                           strict=True)))


def lookups(store: Store, n: int, rng: np.random.Generator) -> list:
    """Lookups shaped as analyses: stored photos' hashes with a few bits flipped, and fresh
    ones."""
    class Q:  # the fields ``match.candidates`` reads
        def __init__(self, image: ImageHashes, regions: dict[str, RegionHash]) -> None:
            self.image, self.regions = image, regions

    def flip(h: str) -> str:
        b = bytearray(bytes.fromhex(h))
        for i in rng.choice(len(b) * 8, 3, replace=False):
            b[i // 8] ^= 1 << (i % 8)
        return b.hex()

    top = store.max_photo_id()
    picks = rng.choice(np.arange(1, top + 1), n // 2, replace=False).tolist()
    rows = {r[0]: r for r in store.iter_image_hashes_of(picks)}
    regs: dict[int, dict[str, RegionHash]] = {i: {} for i in rows}
    for pid, region, bits in store.iter_hashes_of(picks):
        h = int(bits).to_bytes(8, "big", signed=True).hex()
        regs[pid][region] = RegionHash(region, flip(h), flip(h), 50.0, 1.0)
    out = [Q(ImageHashes(flip(r[2]), flip(r[2]), flip(r[3]), flip(r[3]), 100), regs[i])
           for i, r in rows.items()]
    for _ in range(n - len(out)):
        out.append(Q(ImageHashes(*hexes(rng, 1, 8) * 2, *hexes(rng, 1, 32) * 2, 100),
                     {k.name: RegionHash(k.name, *hexes(rng, 1, 8) * 2, 50.0, 1.0)
                      for k in REGION_KINDS}))
    return out


def answers(idx: RegionIndex, qs: list) -> list:
    return [M.candidates(q, idx, set()) for q in qs]


def timed(fn):  # noqa: ANN001, ANN201
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, round(time.perf_counter() - t, 3), round(time.process_time() - c, 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", type=int, default=1_000_000)
    ap.add_argument("--added", type=int, default=1_000)
    ap.add_argument("--forgotten", type=int, default=100)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    res: dict = {"photos": args.photos, "load_average_start": os.getloadavg()[0],
                 "cpus": os.cpu_count()}
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "bench" / "out") as tmp:
        db, path = Path(tmp) / "store.db", Path(tmp) / "store.db.index"
        store = Store(db)
        t = time.perf_counter()
        fill(store, 1, args.photos, rng)
        res["fill_seconds"] = round(time.perf_counter() - t, 1)
        res["db_bytes"] = db.stat().st_size
        print(f"store of {args.photos:,} photos made in {res['fill_seconds']} s", flush=True)
        qs = lookups(store, 200, rng)

        built, res["build_s"], res["build_cpu_s"] = timed(lambda: RegionIndex.from_store(store))
        _, res["save_s"], res["save_cpu_s"] = timed(lambda: built.save(path))
        res["file_bytes"] = path.stat().st_size
        loaded, res["load_s"], res["load_cpu_s"] = timed(
            lambda: RegionIndex.load(path, store))
        res["load_exact"] = answers(loaded, qs) == answers(built, qs)
        print(json.dumps(res), flush=True)

        # The store moves on while the server is down: photos added, some forgotten.
        fill(store, args.photos + 1, args.added, rng)
        gone = rng.choice(np.arange(1, args.photos + 1), args.forgotten, replace=False)
        store.forget([f"{int(i):064x}" for i in gone])
        qs = lookups(store, 200, rng)
        rebuilt, res["build2_s"], res["build2_cpu_s"] = timed(
            lambda: RegionIndex.from_store(store))
        caught, res["catch_up_s"], res["catch_up_cpu_s"] = timed(
            lambda: RegionIndex.load(path, store))
        res["catch_up_exact"] = answers(caught, qs) == answers(rebuilt, qs)
        res["catch_up_forgotten_absent"] = not (
            set(caught.indexes["image"]._compact()[0].tolist()) & set(gone.tolist()))
        store.close()
    res["restart_speedup"] = round(res["build_s"] / res["load_s"], 1)
    res["catch_up_speedup"] = round(res["build2_s"] / res["catch_up_s"], 1)
    res["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(res), flush=True)
    return publish(args.out, res)


if __name__ == "__main__":
    sys.exit(main())
