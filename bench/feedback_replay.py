"""Replay reviewed feedback as labelled pairs: what would other thresholds have done to them?

    python bench/feedback_replay.py --db data/headcheck.db [--context-corr 0.9] [--json] ...

Labelled from a store's feedback loop (headcheck.feedback): a relation an operator accepted as
a false positive (``headcheck feedback accept``) is a *false* pair; the relations behind a flag
that reviewers confirmed (each key's latest answer) or that an operator upheld (``headcheck
feedback reject``) are *true* pairs. Each stored relation keeps its keypoint, dense and identity
evidence, so ``match.decide`` is run again under the stored-time thresholds (the baseline) and
under the ones given (the same options as bench/redecide.py): the accepted false positives a
change would drop, and the confirmed relations it would lose. Nothing is re-analysed.
Photo-level suppressions (a detector's signal, reuse read from names) are counted, not replayed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from headcheck import match as M  # noqa: E402
from headcheck.dense import DenseScore  # noqa: E402
from headcheck.feedback import CONFIRMED, REJECTED, feedback_counts, latest_reviews  # noqa: E402
from headcheck.relations import SAME_CONTEXT, SAME_PHOTO  # noqa: E402
from headcheck.store import Store  # noqa: E402
from headcheck.verify import Verification  # noqa: E402


@dataclass(frozen=True)
class Pair:
    a: str  # sha256 of the photo that found the relation (its face frame decided)
    b: str
    relation: str
    truth: bool  # True: confirmed or upheld; False: accepted as a false positive
    source: str  # "accepted", "confirmed" or "upheld"


def _relation_rows(store: Store, a: str, b: str) -> list[tuple]:
    return store.db.execute(
        "SELECT p.sha256, o.sha256, m.relation, m.inliers, m.face_inliers, m.face_distance, "
        "m.dense, p.face IS NOT NULL FROM matches m JOIN photos p ON p.id = m.photo_id "
        "JOIN photos o ON o.id = m.other_id WHERE (p.sha256 = ? AND o.sha256 = ?) "
        "OR (p.sha256 = ? AND o.sha256 = ?)", [a, b, b, a]).fetchall()


def labelled_pairs(store: Store) -> tuple[list[Pair], Counter[str]]:
    """The reviewed relations, and the photo-level suppressions that are not relations."""
    pairs: dict[tuple[str, str], Pair] = {}
    other: Counter[str] = Counter()
    for a, b, what in store.db.execute(
            "SELECT sha256, other_sha256, what FROM suppressions"):
        if b:
            pairs[tuple(sorted((a, b)))] = Pair(a, b, what, False, "accepted")
        else:
            other[what] += 1
    reviews = latest_reviews(store)
    confirmed = {sha for sha, c in feedback_counts(store).items() if c.confirmed}
    upheld = {sha for sha, r in reviews.items() if r["decision"] == REJECTED}
    for sha in sorted(confirmed | upheld):
        if reviews.get(sha, {}).get("decision") == "accepted":
            continue  # the operator's acceptance outranks a confirmation
        source = "upheld" if sha in upheld else CONFIRMED
        for row in store.db.execute(
                "SELECT p.sha256, o.sha256, m.relation FROM matches m "
                "JOIN photos p ON p.id = m.photo_id JOIN photos o ON o.id = m.other_id "
                "WHERE p.sha256 = ? OR o.sha256 = ?", [sha, sha]):
            key = tuple(sorted(row[:2]))
            if row[2] in (SAME_CONTEXT, SAME_PHOTO) and key not in pairs:
                pairs[key] = Pair(row[0], row[1], row[2], True, source)
    return list(pairs.values()), other


def redecide(store: Store, p: Pair, th: M.Thresholds) -> str | None:
    """The relation ``decide`` names for the stored evidence under ``th`` (None: no claim, or no
    stored relation left)."""
    rows = _relation_rows(store, p.a, p.b)
    if not rows:
        return None
    _, _, _, inliers, face_inliers, face_distance, dense, has_face = rows[0]
    d = DenseScore.from_dict(json.loads(dense)) if dense else None
    if d is None:
        return None
    return M.decide(Verification(inliers or 0, face_inliers or 0, 0, 1.0, 0.0, 0.0), d,
                    face_distance, bool(has_face), th)


def replay(store: Store, th: M.Thresholds, base: M.Thresholds = M.THRESHOLDS) -> dict:
    pairs, other = labelled_pairs(store)
    rows = []
    for p in pairs:
        before, after = redecide(store, p, base), redecide(store, p, th)
        rows.append({**asdict(p), "baseline": before, "changed": after})
    out: dict = {"pairs": rows, "photo_level_suppressions": dict(other)}
    for truth, name in ((False, "accepted_false_positives"), (True, "confirmed_relations")):
        part = [r for r in rows if r["truth"] is truth]
        claimed = {k: sum(1 for r in part if r[k] == r["relation"]) for k in ("baseline",
                                                                             "changed")}
        out[name] = {"n": len(part), "claimed_at_baseline": claimed["baseline"],
                     "claimed_with_change": claimed["changed"]}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--json", action="store_true", help="One JSON object (pairs included).")
    for f in fields(M.Thresholds):
        ap.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=None)
    args = ap.parse_args()
    if not args.db.is_file():
        print(f"no store at {args.db}", file=sys.stderr)
        return 2
    th = replace(M.THRESHOLDS, **{f.name: getattr(args, f.name) for f in fields(M.Thresholds)
                                  if getattr(args, f.name) is not None})
    store = Store(args.db)
    out = replay(store, th)
    store.close()
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"baseline {M.THRESHOLDS}\nchanged  {th}")
    fp, ok = out["accepted_false_positives"], out["confirmed_relations"]
    print(f"accepted false positives: {fp['n']} relations; still claimed at baseline "
          f"{fp['claimed_at_baseline']}, with the change {fp['claimed_with_change']}")
    print(f"confirmed relations:      {ok['n']} relations; claimed at baseline "
          f"{ok['claimed_at_baseline']}, with the change {ok['claimed_with_change']}")
    if out["photo_level_suppressions"]:
        print("photo-level suppressions (not replayed): " + ", ".join(
            f"{k} {v}" for k, v in sorted(out["photo_level_suppressions"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
