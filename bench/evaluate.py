"""Detection quality on the labelled corpus: precision, recall and false-positive rate per task.

    python bench/evaluate.py [--corpus DIR] [--seed 7] [--out bench/out/eval.json] [--skip-scale]

Every photo of the corpus (bench/corpus.py, fixed seed) goes into an in-memory store. Each photo
is then looked up by the shipped matcher (``Matcher.examine``: hash candidates, keypoints, dense
pixels, identity) and every verified candidate is recorded with its ground truth, so thresholds
can be swept from one run (``Thresholds`` values passed to the shipped ``decide``).

Sources are split in halves by template or original photo (bench/truth.py): thresholds are
chosen on ``tune`` and figures are reported on ``test`` (and on a corpus of another seed).
Analyses are cached in bench/out/cache/ by file hash and analysis version, so a re-run after a
change of decision rules costs minutes, not the full analysis.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import pickle
import sys
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from truth import load_manifest, split_of, truth  # noqa: E402

from headcheck import match as M  # noqa: E402
from headcheck.analyze import ANALYSIS_VERSION, Analysis, Analyzer  # noqa: E402
from headcheck.confidence import wilson_lower  # noqa: E402
from headcheck.dense import _VERSION as DENSE_VERSION  # noqa: E402
from headcheck.dense import DenseScore  # noqa: E402
from headcheck.index import RegionIndex  # noqa: E402
from headcheck.store import Sighting, Store  # noqa: E402
from headcheck.verify import Verification  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "out" / "cache"


@dataclass
class Pair:
    a: str
    b: str
    kind: str
    distance: int
    v: Verification
    dense: DenseScore
    face_dist: float | None
    truth: str  # same_photo | same_context | unrelated | ambiguous
    split: str  # tune when both files are in the tuning half, else test
    mirrored: bool = False  # matched as the mirror image (pairs saved before: False)


def _cache_version(analyzer: Analyzer) -> str:
    """What a cached analysis must have been made by: the analysis and dense-patch versions,
    the fields of ``Analysis`` (a pickle from before a field was added lacks it) and every
    detector's version (a changed detector's signals are not today's)."""
    made_by = (sorted(Analysis.__dataclass_fields__),
               sorted((d.name, str(d.version)) for d in analyzer.detectors))
    return f"v{ANALYSIS_VERSION}.{DENSE_VERSION}." + hashlib.sha256(
        repr(made_by).encode()).hexdigest()[:8]


def analyse_cached(analyzer: Analyzer, data: bytes) -> Analysis:
    """The analysis of ``data``, from the cache when the same code made it before."""
    key = hashlib.sha256(data).hexdigest()
    path = CACHE / _cache_version(analyzer) / key[:2] / f"{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    a = analyzer.analyze_bytes(data, lookup=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(a))
    return a


class Lab:
    """Analyses, store and index of the corpus."""

    def __init__(self, corpus: Path, rows: list[dict]) -> None:
        self.analyzer = Analyzer()
        self.store = Store()
        self.rows = {r["file"]: r for r in rows}
        self.analyses: dict[str, Analysis] = {}
        self.ids: dict[str, int] = {}
        self.errors: list[str] = []
        t = time.perf_counter()
        for r in rows:
            try:
                a = analyse_cached(self.analyzer, (corpus / r["file"]).read_bytes())
            except Exception as exc:  # noqa: BLE001 - report and go on, as a crawl does
                self.errors.append(f"{r['file']}: {exc}")
                continue
            self.analyses[r["file"]] = a
            pid = self.store.add(a, Sighting(f"https://corpus.example/{r['file']}")).photo_id
            self.ids[r["file"]] = pid
        self.by_id = {v: k for k, v in self.ids.items()}
        self._load_embeddings()
        self.index = RegionIndex.from_store(self.store)
        self.analysis_seconds = time.perf_counter() - t
        self.matcher = M.Matcher(self.analyzer, self.store, self.index)

    def _emb_path(self, chip: bytes) -> Path:
        # Keyed by the chip itself, not the photo: a change of face detection or landmarks
        # changes the chip, and an embedding cached by photo would then be another face's.
        return CACHE / "embeddings" / f"{hashlib.sha256(chip).hexdigest()}.npy"

    def _load_embeddings(self) -> None:
        """Identity embeddings measured by an earlier run (they depend only on the face chip)."""
        for f, pid in self.ids.items():
            chip = self.analyses[f].chip
            if chip is None:
                continue
            path = self._emb_path(chip)
            if path.exists():
                self.store.db.execute("UPDATE photos SET embedding = ? WHERE id = ?",
                                      [np.load(path).astype(np.float32).tobytes(), pid])

    def save_embeddings(self) -> None:
        (CACHE / "embeddings").mkdir(parents=True, exist_ok=True)
        for chip, emb in self.store.db.execute(
                "SELECT chip, embedding FROM photos WHERE embedding IS NOT NULL"):
            path = self._emb_path(chip)
            if not path.exists():
                np.save(path, np.frombuffer(emb, dtype=np.float32))

    def split(self, f: str) -> str:
        return split_of(self.rows[f])

    def lookup_pairs(self, jobs: int = 1) -> tuple[list[Pair], list[int]]:
        """Every candidate the shipped matcher verifies, with identity measured wherever any
        swept threshold could ask for it; ``jobs`` forked workers share the built store."""
        files = list(self.analyses)
        if jobs <= 1:
            return self._lookups(files)
        global _FORKED_LAB
        _FORKED_LAB = self  # the workers inherit it by fork: nothing is pickled but file names
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(jobs) as pool:
            parts = pool.map(_lookups_part, [files[i::jobs] for i in range(jobs)])
        pairs, ncands = [], []
        for ps, nc, embs in parts:
            pairs += ps
            ncands += nc
            for chip, emb in embs.items():  # keep the workers' embeddings for the next run
                path = self._emb_path(chip)
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    np.save(path, emb)
        return pairs, ncands

    def _lookups(self, files: list[str]) -> tuple[list[Pair], list[int]]:
        pairs, ncands = [], []
        loosest = replace(M.THRESHOLDS, context_corr=min(SWEEP["context_corr"]),
                          core_corr=max(SWEEP["core_corr"]))
        for n, f in enumerate(files, 1):
            a = self.analyses[f]
            has_face = a.face is not None
            ev = self.matcher.examine(a, lambda v, d, hf=has_face: M.needs_identity(
                v, d, hf, loosest))
            if n % 200 == 0:
                print(f"  looked up {n} of {len(files)}", flush=True)
            ncands.append(len(ev))
            for e in ev:
                g = self.by_id[e.photo_id]
                split = "tune" if self.split(f) == self.split(g) == "tune" else "test"
                pairs.append(Pair(f, g, e.region, e.distance, e.verification, e.dense,
                                  e.face_distance, truth(self.rows[f], self.rows[g]), split,
                                  e.mirrored))
        return pairs, ncands


_FORKED_LAB: Lab | None = None


def _lookups_part(files: list[str]) -> tuple[list[Pair], list[int], dict]:
    lab = _FORKED_LAB
    assert lab is not None
    pairs, ncands = lab._lookups(files)
    embs = {chip: np.frombuffer(e, dtype=np.float32) for chip, e in lab.store.db.execute(
        "SELECT chip, embedding FROM photos WHERE embedding IS NOT NULL")}
    return pairs, ncands, embs


def decided(p: Pair, lab: Lab, th: M.Thresholds | None = None) -> str | None:
    return M.decide(p.v, p.dense, p.face_dist, lab.analyses[p.a].face is not None,
                    th or M.THRESHOLDS, p.mirrored)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def upper_rate(false: int, n: int) -> float:
    """95% upper bound of a per-pair false-match rate: never below the zero-event bound 3/n."""
    if n <= 0:
        return 1.0
    return max(3 / n, 1 - wilson_lower(n - false, n))


def evaluate_matching(lab: Lab, pairs: list[Pair], split: str | None = None,
                      th: M.Thresholds | None = None) -> dict:
    th = th or M.THRESHOLDS
    rows = lab.rows
    files = [f for f in lab.analyses if split is None or lab.split(f) == split]
    fileset = set(files)
    pairs = [p for p in pairs if p.a in fileset and p.b in fileset]
    rel: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for p in pairs:
        d = decided(p, lab, th)
        if d:
            rel[d].add(tuple(sorted((p.a, p.b))))
    verified_unrelated = {tuple(sorted((p.a, p.b))) for p in pairs if p.truth == "unrelated"
                          and p.v.inliers + p.v.face_inliers >= th.min_keypoints}
    out: dict = {"split": split or "all", "photos": len(files), "errors": lab.errors,
                 "verified_pairs": len({tuple(sorted((p.a, p.b))) for p in pairs}),
                 "verified_unrelated_pairs": len(verified_unrelated)}

    def linked(f: str, relation: str, want: str) -> bool:
        return any(f in pr and truth(rows[pr[0]], rows[pr[1]]) == want for pr in rel[relation])

    def composites(transform: str) -> dict:
        comps = [f for f in files if rows[f]["role"] == "composite"
                 and rows[f]["transform"] == transform]
        found = [f for f in comps if linked(f, M.SAME_CONTEXT, "same_context")]
        return {"positives": len(comps), "recall": len(found) / max(1, len(comps)),
                "missed": sorted(set(comps) - set(found))[:20]}

    false_ctx = [pr for pr in rel[M.SAME_CONTEXT] if truth(rows[pr[0]], rows[pr[1]])
                 not in ("same_context", "ambiguous")]
    ctx_total = len(rel[M.SAME_CONTEXT])
    out["composite"] = {
        **composites("composite"), "studio": composites("studio_composite"),
        "flagged_pairs": ctx_total,
        "precision": (ctx_total - len(false_ctx)) / max(1, ctx_total),
        "false_pairs": len(false_ctx), "false_examples": sorted(false_ctx)[:10],
        "false_match_rate_upper_95": upper_rate(len(false_ctx), len(verified_unrelated)),
    }
    copies = [f for f in files if rows[f]["role"] == "copy"]
    by_t: dict[str, list[bool]] = defaultdict(list)
    for f in copies:
        by_t[rows[f]["transform"]].append(linked(f, M.SAME_PHOTO, "same_photo"))
    false_same = [pr for pr in rel[M.SAME_PHOTO]
                  if truth(rows[pr[0]], rows[pr[1]]) not in ("same_photo", "ambiguous")]
    same_total = len(rel[M.SAME_PHOTO])
    out["reuse"] = {
        "positives": len(copies),
        "recall": sum(sum(v) for v in by_t.values()) / max(1, len(copies)),
        "by_transform": {t: {"n": len(v), "recall": sum(v) / len(v)}
                         for t, v in sorted(by_t.items())},
        "flagged_pairs": same_total,
        "precision": (same_total - len(false_same)) / max(1, same_total),
        "false_pairs": len(false_same), "false_examples": sorted(false_same)[:10],
        "false_match_rate_upper_95": upper_rate(len(false_same), len(verified_unrelated)),
        "missed": [f for f in copies if not linked(f, M.SAME_PHOTO, "same_photo")][:30],
    }
    negs = [f for f in files if rows[f]["role"] == "negative"]
    neg_flagged = [f for f in negs if any(
        f in pr and truth(rows[pr[0]], rows[pr[1]]) == "unrelated"
        for r in rel.values() for pr in r)]
    out["negatives"] = {"n": len(negs), "flagged": len(neg_flagged),
                        "false_positive_rate": len(neg_flagged) / max(1, len(negs)),
                        "examples": neg_flagged[:10]}
    return out


SWEEP = {
    "context_corr": (0.80, 0.84, 0.86, 0.88, 0.90, 0.92),
    "core_corr": (0.85, 0.90, 0.93, 0.95),
}


def sweep(lab: Lab, pairs: list[Pair], split: str = "tune") -> list[dict]:
    """Recall and false pairs on one half as the dense thresholds vary (same pairs)."""
    out = []
    for ctx in SWEEP["context_corr"]:
        for core in SWEEP["core_corr"]:
            th = replace(M.THRESHOLDS, context_corr=ctx, core_corr=core)
            r = evaluate_matching(lab, pairs, split, th)
            out.append({"context_corr": ctx, "core_corr": core,
                        "composite_recall": r["composite"]["recall"],
                        "studio_recall": r["composite"]["studio"]["recall"],
                        "composite_false_pairs": r["composite"]["false_pairs"],
                        "reuse_recall": r["reuse"]["recall"],
                        "reuse_false_pairs": r["reuse"]["false_pairs"]})
    return out


BANDS = (0, 94, 97)  # composite evidence bands: context correlation of the pair, hundredths


def confidence_table(lab: Lab, pairs: list[Pair], split: str = "test") -> dict:
    """Measured precision (and its 95% Wilson lower bound) of each claim kind, by evidence band,
    on one half: what headcheck/confidence.py's figures are read from."""
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # band -> [true, claimed]
    seen: set[tuple[str, str, str]] = set()
    for p in pairs:
        if p.split != split:
            continue
        d = decided(p, lab)
        key = (*sorted((p.a, p.b)), str(d))
        if not d or key in seen or p.truth == "ambiguous":
            continue
        seen.add(key)
        if d == M.SAME_CONTEXT:
            band = max(b for b in BANDS if round(100 * p.dense.context_corr) >= b)
            name = f"composite>={band}"
            ok = p.truth == "same_context"
        else:
            name, ok = "same_photo", p.truth == "same_photo"
        tally[name][0] += ok
        tally[name][1] += 1
    return {k: {"true": t, "claimed": n, "precision": t / n, "lower_95": wilson_lower(t, n)}
            for k, (t, n) in sorted(tally.items())}


def distributions(pairs: list[Pair]) -> dict:
    """Dense agreement (context and face core) by truth, over every pair that passed the
    keypoint gate: the margins the thresholds sit in."""
    by: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for p in pairs:
        if p.v.inliers + p.v.face_inliers < M.THRESHOLDS.min_keypoints:
            continue
        b = by[p.truth]
        b["context_corr"].append(p.dense.context_corr)
        b["context_area"].append(p.dense.context_area)
        b["core_corr"].append(p.dense.core_corr)
        b["margin_corr"].append(p.dense.margin_corr)

    def q(v: list[float]) -> dict:
        a = np.asarray(v, float)
        return {"n": len(a), "min": float(a.min()), "p01": float(np.quantile(a, 0.01)),
                "p50": float(np.median(a)), "p99": float(np.quantile(a, 0.99)),
                "max": float(a.max())}

    return {t: {k: q(v) for k, v in d.items()} for t, d in by.items()}


def print_report(res: dict) -> None:
    c, r, n = res["composite"], res["reuse"], res["negatives"]
    print(f"\n[{res['split']}] {res['photos']} photos, {res['verified_pairs']:,} verified "
          f"pairs ({res['verified_unrelated_pairs']:,} unrelated past the keypoint gate)")
    print(f"composites: recall {pct(c['recall'])} of {c['positives']} (bar 95%); studio "
          f"templates {pct(c['studio']['recall'])} of {c['studio']['positives']} (bar 90%); "
          f"precision {pct(c['precision'])} over {c['flagged_pairs']} pairs, false pairs "
          f"{c['false_pairs']} (bar 0); per-pair false-match rate <= "
          f"{c['false_match_rate_upper_95']:.2e} (95% upper bound)")
    print(f"reuse: recall {pct(r['recall'])} of {r['positives']} copies (bar 95% each), "
          f"precision {pct(r['precision'])}, false pairs {r['false_pairs']}, per-pair "
          f"false-match rate <= {r['false_match_rate_upper_95']:.2e}")
    for t, v in r["by_transform"].items():
        flag = "" if v["recall"] >= 0.95 else "   <-- below bar"
        print(f"  {t:<32} n={v['n']:<4} recall {pct(v['recall'])}{flag}")
    print(f"hard negatives: {n['flagged']} of {n['n']} flagged "
          f"(false-positive rate {pct(n['false_positive_rate'])})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=None,
                    help="corpus folder (default bench/out/corpus-<seed>, built if missing)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=2, help="lookup worker processes")
    args = ap.parse_args()
    corpus = args.corpus or ROOT / "bench" / "out" / f"corpus-{args.seed}"
    out_path = args.out or ROOT / "bench" / "out" / f"eval-{args.seed}.json"
    stamp = corpus / "built-by.txt"
    if not (corpus / "manifest.csv").exists() or stamp.read_text() != _planner_hash():
        # the corpus is rebuilt whenever the code that plans and makes it changes
        from corpus import build_corpus
        print(f"building corpus in {corpus} ...")
        build_corpus(corpus, seed=args.seed, small=False)
        stamp.write_text(_planner_hash())
    t0 = time.perf_counter()
    lab = Lab(corpus, load_manifest(corpus))
    pairs, ncands = lab.lookup_pairs(args.jobs)
    lab.save_embeddings()
    res: dict = {"seed": args.seed, "thresholds": asdict(M.THRESHOLDS),
                 "analysis_seconds": lab.analysis_seconds}
    for split in ("tune", "test"):
        res[split] = evaluate_matching(lab, pairs, split)
        print_report(res[split])
    res["all"] = evaluate_matching(lab, pairs)
    print_report(res["all"])
    res["candidates"] = {"mean": float(np.mean(ncands)), "p95": float(np.quantile(ncands, 0.95))}
    res["distributions"] = distributions(pairs)
    res["sweep_tune"] = sweep(lab, pairs, "tune")
    res["truth_of_verified"] = dict(Counter(p.truth for p in pairs))
    res["confidence_test"] = confidence_table(lab, pairs, "test")
    print("\nmeasured precision by evidence (test half):")
    for k, v in res["confidence_test"].items():
        print(f"  {k:<16} {v['true']}/{v['claimed']} precision {pct(v['precision'])}, "
              f"95% lower bound {v['lower_95']:.3f}")
    print("\ndense agreement by truth (pairs past the keypoint gate):")
    for t, d in res["distributions"].items():
        print(f"  {t:<13} " + "; ".join(
            f"{k} n={v['n']} min {v['min']:.2f} p01 {v['p01']:.2f} p50 {v['p50']:.2f} "
            f"p99 {v['p99']:.2f} max {v['max']:.2f}" for k, v in d.items()))
    print("\nsweep on the tuning half (context_corr, core_corr):")
    for row in res["sweep_tune"]:
        print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in row.items()))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with (out_path.parent / f"pairs-{args.seed}.pkl").open("wb") as fh:
        pickle.dump(pairs, fh)
    if not args.skip_scale:
        from scale import evaluate_scale
        res["scale"] = evaluate_scale(lab, seed=args.seed)
    from geometry_eval import evaluate_geometry
    res["stylegan"] = evaluate_geometry(lab.analyzer)
    from provenance_eval import evaluate_provenance
    res["provenance"] = evaluate_provenance(lab.analyzer)
    res["seconds"] = time.perf_counter() - t0
    out_path.write_text(json.dumps(res, indent=1, default=str))
    print(f"\nfull results: {out_path} ({res['seconds']:.0f} s)")
    return 0


def _planner_hash() -> str:
    """Hash of the code that plans and makes the corpus, and of its source images' list."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256((here / "corpus.py").read_bytes())
    for p in sorted((ROOT / "data" / "faces").rglob("*.jpg")):
        h.update(p.relative_to(ROOT).as_posix().encode())
    return h.hexdigest()


if __name__ == "__main__":
    sys.exit(main())
