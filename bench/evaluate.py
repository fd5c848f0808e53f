"""Detection quality on the labelled corpus: precision, recall and false-positive rate per task.

    python bench/evaluate.py [--corpus DIR] [--out bench/out/eval.json] [--skip-scale]

Every photo of the corpus (bench/corpus.py, fixed seed) goes into an in-memory store. Each photo
is then looked up the way headcheck looks up a new photo: hash candidates from the index, each
verified on the pixels, identity checked when the face pixels differ. Every verified pair is
recorded with its ground truth, so the thresholds can be swept from the same run.
"""

from __future__ import annotations

import argparse
import csv
import json
import pickle
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from headcheck import match as M  # noqa: E402
from headcheck.analyze import Analysis, Analyzer  # noqa: E402
from headcheck.face import decode_chip, face_distance  # noqa: E402
from headcheck.features import Features  # noqa: E402
from headcheck.index import RegionIndex  # noqa: E402
from headcheck.store import Sighting, Store  # noqa: E402
from headcheck.verify import Verification, verify  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Pair:
    a: str
    b: str
    kind: str
    distance: int
    v: Verification
    face_dist: float | None
    truth: str  # same_photo | same_context | unrelated


def load_manifest(corpus: Path) -> list[dict]:
    with (corpus / "manifest.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def groups_of(row: dict) -> set[str]:
    extra = {g for g in (row.get("also_group") or "").split(";") if g}
    return {row["group"], *extra}


def truth(ra: dict, rb: dict) -> str:
    """What two corpus photos really are to each other: a shared template or photo group with
    the same person is the same photo; with another person's face, a shared context."""
    shared = groups_of(ra) & groups_of(rb)
    if not any(g.startswith(("tpl:", "photo:")) for g in shared):
        if ra["source"] == rb["source"] or ra["source"] == rb["face_source"] \
                or rb["source"] == ra["face_source"]:
            # e.g. a person cut out onto a plain backdrop and a composite on that person's
            # photo, or with that person's face: they share body or face pixels, so neither a
            # claim nor silence is wrong.
            return "ambiguous"
        return "unrelated"  # includes negsame: the same person on two different templates
    if ra["person"] and ra["person"] == rb["person"]:
        return "same_photo"
    return "same_context"


class Lab:
    """Analyses, store and index of the corpus, with cached mirrored features and embeddings."""

    def __init__(self, corpus: Path, rows: list[dict]) -> None:
        self.analyzer = Analyzer()
        self.store = Store()
        self.rows = {r["file"]: r for r in rows}
        self.analyses: dict[str, Analysis] = {}
        self.mirrored: dict[str, Features] = {}
        self.ids: dict[str, int] = {}
        self.errors: list[str] = []
        self._emb: dict[str, np.ndarray] = {}
        t = time.perf_counter()
        for r in rows:
            try:
                a = self.analyzer.analyze_bytes((corpus / r["file"]).read_bytes(),
                                                lookup=True)
            except Exception as exc:  # noqa: BLE001 - report and go on, as a crawl does
                self.errors.append(f"{r['file']}: {exc}")
                continue
            self.mirrored[r["file"]] = a.mirror_features
            self.analyses[r["file"]] = a
            pid = self.store.add(a, Sighting(f"https://corpus.example/{r['file']}")).photo_id
            self.ids[r["file"]] = pid
        self.by_id = {v: k for k, v in self.ids.items()}
        self.index = RegionIndex.from_store(self.store)
        self.analysis_seconds = time.perf_counter() - t

    def embedding(self, f: str) -> np.ndarray | None:
        if f not in self._emb:
            chip = self.analyses[f].chip
            self._emb[f] = (None if chip is None
                            else self.analyzer.models.embed_chip(decode_chip(chip)))
        return self._emb[f]

    def verify_pair(self, fa: str, fb: str) -> tuple[Verification, float | None]:
        qa, fb_feats = self.analyses[fa], self.analyses[fb].features
        frame_bound = qa.face is not None
        v = verify(qa.features, fb_feats, frame_bound)
        vm = verify(self.mirrored[fa], fb_feats, frame_bound)
        if vm.inliers + vm.face_inliers > v.inliers + v.face_inliers:
            v = vm
        fd = None
        if M.needs_identity(v, qa.face is not None) or v.inliers >= 6:
            ea, eb = self.embedding(fa), self.embedding(fb)
            if ea is not None and eb is not None:
                fd = face_distance(ea, eb)
        return v, fd

    def lookup_pairs(self, max_verify: int = M.MAX_VERIFY) -> tuple[list[Pair], list[int]]:
        pairs, ncands = [], []
        for f, a in self.analyses.items():
            cands = M.candidates(a, self.index, {self.ids[f]})
            ncands.append(len(cands))
            ranked = sorted(cands.items(), key=lambda kv: kv[1][1] / M.RADIUS[kv[1][0]])
            for pid, (kind, dist) in ranked[:max_verify]:
                g = self.by_id[pid]
                v, fd = self.verify_pair(f, g)
                pairs.append(Pair(f, g, kind, dist, v, fd, truth(self.rows[f], self.rows[g])))
        return pairs, ncands


def decided(p: Pair, lab: Lab) -> str | None:
    a, b = lab.analyses[p.a], lab.analyses[p.b]
    return M.decide(p.v, p.face_dist, a.face is not None,
                    min(a.features.off_face, b.features.off_face))


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def evaluate_matching(lab: Lab, pairs: list[Pair]) -> dict:
    rows = lab.rows
    rel: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for p in pairs:
        d = decided(p, lab)
        if d:
            rel[d].add(tuple(sorted((p.a, p.b))))
    files = list(lab.analyses)
    n = len(files)
    related = sum(1 for i in range(n) for j in range(i + 1, n)
                  if truth(rows[files[i]], rows[files[j]]) != "unrelated")
    unrelated_pairs = n * (n - 1) // 2 - related
    out: dict = {"photos": n, "errors": lab.errors, "unrelated_pairs": unrelated_pairs}

    def linked(f: str, relation: str, want: str) -> bool:
        return any(f in pr and truth(rows[pr[0]], rows[pr[1]]) == want for pr in rel[relation])

    # composites: flagged when verified to share a context with a group mate
    comps = [f for f in files if rows[f]["role"] == "composite"]
    found = [f for f in comps if linked(f, M.SAME_CONTEXT, "same_context")]
    false_ctx = [pr for pr in rel[M.SAME_CONTEXT] if truth(rows[pr[0]], rows[pr[1]])
                 not in ("same_context", "ambiguous")]
    ctx_total = len(rel[M.SAME_CONTEXT])
    out["composite"] = {
        "positives": len(comps), "recall": len(found) / max(1, len(comps)),
        "flagged_pairs": ctx_total,
        "precision": (ctx_total - len(false_ctx)) / max(1, ctx_total),
        "false_pairs": len(false_ctx), "false_examples": sorted(false_ctx)[:10],
        "false_match_rate_upper_95": (3 / unrelated_pairs if not false_ctx
                                      else len(false_ctx) / unrelated_pairs),
        "missed": sorted(set(comps) - set(found))[:20],
    }
    # reuse: each copy must be verified as the same photo as a member of its group
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
        "missed": [f for f in copies if not linked(f, M.SAME_PHOTO, "same_photo")][:30],
    }
    # hard negatives: any claim about them is a false positive
    negs = [f for f in files if rows[f]["role"] == "negative"]
    neg_flagged = [f for f in negs if any(
        f in pr and truth(rows[pr[0]], rows[pr[1]]) == "unrelated"
        for r in rel.values() for pr in r)]
    out["negatives"] = {"n": len(negs), "flagged": len(neg_flagged),
                        "false_positive_rate": len(neg_flagged) / max(1, len(negs)),
                        "examples": neg_flagged[:10]}
    return out


def sweep(lab: Lab, pairs: list[Pair]) -> list[dict]:
    """Recall and false pairs as the verification thresholds vary (same run, same pairs)."""
    rows = lab.rows
    comps = {f for f in lab.analyses if rows[f]["role"] == "composite"}
    copies = {f for f in lab.analyses if rows[f]["role"] == "copy"}
    out = []
    saved = M.MIN_CONTEXT_INLIERS, M.MIN_FACE_INLIERS
    try:
        for ctx_min in (6, 8, 10, 12, 15, 20):
            for face_min in (8, 12, 16, 20):
                M.MIN_CONTEXT_INLIERS, M.MIN_FACE_INLIERS = ctx_min, face_min
                dec = [(p, decided(p, lab)) for p in pairs]
                ctx = {tuple(sorted((p.a, p.b))): p.truth for p, d in dec if d == M.SAME_CONTEXT}
                same = {tuple(sorted((p.a, p.b))): p.truth for p, d in dec if d == M.SAME_PHOTO}
                hit = {f for pr, tr in ctx.items() if tr == "same_context" for f in pr} & comps
                rhit = {f for pr, tr in same.items() if tr == "same_photo" for f in pr} & copies
                out.append({
                    "min_context_inliers": ctx_min, "min_face_inliers": face_min,
                    "composite_recall": len(hit) / max(1, len(comps)),
                    "composite_false_pairs": sum(tr not in ("same_context", "ambiguous")
                                                 for tr in ctx.values()),
                    "reuse_recall": len(rhit) / max(1, len(copies)),
                    "reuse_false_pairs": sum(tr not in ("same_photo", "ambiguous")
                                             for tr in same.values())})
    finally:
        M.MIN_CONTEXT_INLIERS, M.MIN_FACE_INLIERS = saved
    return out


def inlier_stats(pairs: list[Pair]) -> dict:
    by = defaultdict(list)
    for p in pairs:
        by[p.truth].append(p.v.inliers)
    return {t: {"n": len(v), "p50": float(np.median(v)), "p95": float(np.quantile(v, 0.95)),
                "p99": float(np.quantile(v, 0.99)), "max": int(max(v))}
            for t, v in by.items() if v}


def print_report(res: dict) -> None:
    c, r, n = res["composite"], res["reuse"], res["negatives"]
    print(f"\ncorpus: {res['photos']} photos, {res['unrelated_pairs']:,} unrelated pairs, "
          f"{len(res['errors'])} errors, analysis {res['analysis_seconds']:.0f} s")
    print(f"composites: recall {pct(c['recall'])} of {c['positives']} (bar 95%), precision "
          f"{pct(c['precision'])} over {c['flagged_pairs']} flagged pairs, false pairs "
          f"{c['false_pairs']} (bar 0); per-pair false-match rate <= "
          f"{c['false_match_rate_upper_95']:.2e} (95% upper bound)")
    print(f"reuse: recall {pct(r['recall'])} of {r['positives']} copies (bar 95% each), "
          f"precision {pct(r['precision'])}, false pairs {r['false_pairs']}")
    for t, v in r["by_transform"].items():
        flag = "" if v["recall"] >= 0.95 else "   <-- below bar"
        print(f"  {t:<32} n={v['n']:<4} recall {pct(v['recall'])}{flag}")
    print(f"hard negatives: {n['flagged']} of {n['n']} flagged "
          f"(false-positive rate {pct(n['false_positive_rate'])})")
    print(f"candidates per lookup (corpus store): mean {res['candidates']['mean']:.1f}, "
          f"p95 {res['candidates']['p95']:.0f}")
    print("inliers off the face by truth:", json.dumps(res["inliers"]))
    print(f"threshold sweep (in use: MIN_CONTEXT_INLIERS {M.MIN_CONTEXT_INLIERS}, "
          f"MIN_FACE_INLIERS {M.MIN_FACE_INLIERS}):")
    for s in res["sweep"]:
        print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                               for k, v in s.items()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "bench" / "out" / "corpus")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "eval.json")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not (args.corpus / "manifest.csv").exists():
        from corpus import build_corpus
        print(f"building corpus in {args.corpus} ...")
        build_corpus(args.corpus, seed=args.seed, small=False)
    rows = load_manifest(args.corpus)
    lab = Lab(args.corpus, rows)
    pairs, ncands = lab.lookup_pairs()
    res = evaluate_matching(lab, pairs)
    res["analysis_seconds"] = lab.analysis_seconds
    res["candidates"] = {"mean": float(np.mean(ncands)), "p95": float(np.quantile(ncands, 0.95))}
    res["inliers"] = inlier_stats(pairs)
    res["sweep"] = sweep(lab, pairs)
    res["verified_pairs"] = len(pairs)
    res["truth_of_verified"] = dict(Counter(p.truth for p in pairs))
    with (args.out.parent / "pairs.pkl").open("wb") as fh:
        pickle.dump([(p.a, p.b, p.kind, p.distance, p.v, p.face_dist, p.truth) for p in pairs],
                    fh)
    print_report(res)
    if not args.skip_scale:
        from scale import evaluate_scale
        res["scale"] = evaluate_scale(lab, seed=args.seed)
    from geometry_eval import evaluate_geometry
    res["stylegan"] = evaluate_geometry(lab.analyzer)
    from provenance_eval import evaluate_provenance
    res["provenance"] = evaluate_provenance(lab.analyzer)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1, default=str))
    print(f"\nfull results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
