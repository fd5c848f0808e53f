"""The hash-kind table is the only list of kinds: a new region kind is one row, and every part
(cutting, hashing, the JSON, the store, the index, the candidate search, the report) takes it up."""

from __future__ import annotations

import json
import subprocess
import sys

from headcheck import hashkinds, index, match, regions
from headcheck.fingerprint import RegionHash
from headcheck.report.gathering import thresholds
from tests.conftest import ROOT

# A fresh interpreter adds one row ("chin") before anything reads the table, then runs a photo
# through analysis, the store, the index and the candidate search.
ONE_ROW = """
import json, sys
from headcheck import hashkinds as h
h.KINDS = (*h.KINDS, h.HashKind("chin", h.Window(-1.0, 1.2, 1.0, 2.4), 64, 12, 0.0, 0.5))
h.KIND = {k.name: k for k in h.KINDS}
h.REGION_KINDS = tuple(k for k in h.KINDS if k.window is not None)
from headcheck.engine import Headcheck
from headcheck.match import candidates
from headcheck.report.gathering import thresholds
from headcheck.store import Sighting
hc = Headcheck(sys.argv[2])
a = hc.analyzer.analyze_bytes(open(sys.argv[1], "rb").read(), lookup=True)
added = hc.add_analysis(a, Sighting("https://a.example/p")).added
stored = [r[0] for r in hc.store.db.execute("SELECT region FROM region_hashes")]
found = hc.index.query_many("chin", [a.regions["chin"].hash], 0)[0]
cands = candidates(a, hc.index, set())
print(json.dumps({"json": a.to_json()["hashes"]["chin"], "quality": a.quality()["chin"],
                  "stored": stored, "indexed": found, "id": added.photo_id,
                  "probed": cands[added.photo_id][0] if added.photo_id in cands else None,
                  "radius": [t.value for t in thresholds() if t.name.endswith("chin")]}))
"""


def test_a_new_region_kind_is_one_row_of_the_table(tmp_path) -> None:  # noqa: ANN001
    photo = ROOT / "data" / "sample" / "images" / "plain-3377864339.jpg"
    out = subprocess.run([sys.executable, "-c", ONE_ROW, str(photo), str(tmp_path / "h.db")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert len(got["json"]) == 16  # a 64-bit hash in analyze --json
    assert set(got["quality"]) == {"texture", "inside", "usable"}
    assert "chin" in got["stored"]  # in region_hashes
    assert got["indexed"] == [[got["id"], 0]]  # in its own Hamming index
    assert got["probed"] is not None  # a lookup probes it (the photo finds itself)
    assert got["radius"] == ["12 bits"]  # the report lists its radius


def test_every_part_reads_the_one_table() -> None:
    names = [k.name for k in hashkinds.KINDS]
    assert len(set(names)) == len(names)
    assert list(regions.REGION_WINDOWS) == [k.name for k in hashkinds.REGION_KINDS]
    assert tuple(names) == index.RegionIndex.KINDS
    assert index.WORDS["pdq"] == 4 and index.WORDS["image"] == 1
    assert list(match.RADIUS) == [k.name for k in hashkinds.KINDS if k.radius is not None]
    # Floors: a region hash just at them counts, just below does not.
    ctx = hashkinds.KIND["context"]
    assert RegionHash("context", "0" * 16, "0" * 16, ctx.min_quality, ctx.min_inside).usable
    assert not RegionHash("context", "0" * 16, "0" * 16, ctx.min_quality - 0.01,
                          ctx.min_inside).usable
    shown = {t.name: t.value for t in thresholds()}
    assert shown["PDQ quality"] == f">= {hashkinds.PDQ_MIN_QUALITY}"
    assert all(f"candidate radius, {k}" in shown for k in match.RADIUS)
