"""Re-run the decisions of a finished evaluation with other thresholds, in seconds.

    python bench/redecide.py [--seed 7] [--context-corr 0.9] [--core-corr 0.93] ...

Reads bench/out/pairs-<seed>.pkl (every verified candidate of the last ``bench/evaluate.py``
run, with its keypoint, dense and identity evidence) and the corpus manifest; prints the same
report for the tuning and the test half. Nothing is re-analysed.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from dataclasses import fields, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate as E  # noqa: E402
from truth import load_manifest  # noqa: E402

from headcheck import match as M  # noqa: E402


class _Cached(E.Lab):
    """A Lab rebuilt from the analysis cache only (no store, no lookups)."""

    def __init__(self, corpus: Path) -> None:  # noqa: D107 - deliberately not calling super
        rows = load_manifest(corpus)
        self.rows = {r["file"]: r for r in rows}
        self.analyses = {}
        self.errors = []
        for r in rows:
            try:
                self.analyses[r["file"]] = E.analyse_cached(None, (corpus / r["file"]).read_bytes())
            except Exception as exc:  # noqa: BLE001 - not in the cache: it failed to analyse
                self.errors.append(f"{r['file']}: {exc}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    for f in fields(M.Thresholds):
        ap.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=None)
    args = ap.parse_args()
    th = replace(M.THRESHOLDS, **{f.name: getattr(args, f.name) for f in fields(M.Thresholds)
                                  if getattr(args, f.name) is not None})
    M.THRESHOLDS = th  # decided() reads the default: this run's figures use these thresholds
    lab = _Cached(E.ROOT / "bench" / "out" / f"corpus-{args.seed}")
    sys.modules["__main__"].Pair = E.Pair  # type: ignore[attr-defined] - pickled by the script
    with (E.ROOT / "bench" / "out" / f"pairs-{args.seed}.pkl").open("rb") as fh:
        pairs = pickle.load(fh)
    print(th)
    for split in ("tune", "test"):
        E.print_report(E.evaluate_matching(lab, pairs, split, th))
    for t, d in E.distributions(pairs).items():
        print(f"  {t:<13} " + "; ".join(
            f"{k} n={v['n']} min {v['min']:.2f} p01 {v['p01']:.2f} p50 {v['p50']:.2f} "
            f"p99 {v['p99']:.2f} max {v['max']:.2f}" for k, v in d.items()))
    for k, v in E.confidence_table(lab, pairs, "test").items():
        print(f"  {k:<16} {v['true']}/{v['claimed']} lower {v['lower_95']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
