"""Detectors as plug-ins: the registry, third-party detectors through the entry-point group,
isolation of a failing detector, and a new kind of per-image signal flowing to the verdict."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from headcheck.analyze import Analyzer
from headcheck.detectors.registry import (
    BUILTIN,
    ENTRY_POINT_GROUP,
    DetectorError,
    check,
    load,
    plugins,
    registered,
)
from headcheck.engine import Headcheck
from headcheck.store import Sighting
from tests.conftest import STYLEGAN, jpeg, real

# A third-party package: a module and the dist-info that declares its entry points, as
# `pip install` would leave them. "lighting" flags a photo whose two halves differ in
# brightness (a toy stand-in for a lighting-mismatch detector), as composited.
PLUGIN = '''
from headcheck.signals import COMPOSITED, Signal

class Toy:
    kind, version, needs = COMPOSITED, "1", frozenset({"pixels"})

class Lighting(Toy):
    name = "lighting.halves"

    def detect(self, inp):
        h, w = inp.rgb.shape[:2]
        left, right = float(inp.rgb[:, : w // 2].mean()), float(inp.rgb[:, w // 2 :].mean())
        gap = abs(left - right) / 255
        if gap < 0.2:
            return []
        return [Signal("lighting.halves", COMPOSITED, round(min(1.0, gap), 3),
                       f"mean brightness {left:.0f} left, {right:.0f} right",
                       {"left": round(left, 1), "right": round(right, 1)},
                       "The two halves of the photo are lit very differently.")]

class Note(Toy):
    name, needs = "note.always", frozenset({"metadata"})

    def detect(self, inp):
        return [Signal("note.always", COMPOSITED, 0.0, "information only", {"n": 1}, "A note.")]

class Broken(Toy):
    name, needs = "broken.always", frozenset({"face"})

    def detect(self, inp):
        raise ValueError("this detector has a bug")

class WrongKind(Toy):
    name, kind = "wrong.kind", "authentic"

    def detect(self, inp):
        return []
'''


def install_plugin(root: Path, entries: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    (root / "hc_plugin_demo.py").write_text(textwrap.dedent(PLUGIN))
    dist = root / "hc_plugin_demo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hc-plugin-demo\nVersion: 0.1\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entries.items())
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, "hc_plugin_demo", raising=False)


def halves_photo() -> bytes:
    from PIL import Image, ImageEnhance

    im = ImageEnhance.Brightness(Image.open(real("2369151434")).convert("RGB")).enhance(3.0)
    im.paste(Image.new("RGB", (im.width // 2, im.height), "black"), (0, 0))
    return jpeg(im)


def test_specs_are_checked() -> None:
    with pytest.raises(DetectorError, match="module:attribute"):
        load("headcheck.detectors.provenance")
    with pytest.raises(AttributeError):
        load("headcheck.detectors.provenance:Nope")

    class NoDetect:
        name, kind, version, needs = "x", "synthetic", "1", frozenset()

    with pytest.raises(DetectorError, match="detect"):
        check(NoDetect())

    class BadNeeds(NoDetect):
        needs = frozenset({"telepathy"})

        def detect(self, inp):
            return []

    with pytest.raises(DetectorError, match="telepathy"):
        check(BadNeeds())


def test_third_party_detector_is_found_and_runs(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path, {"lighting": "hc_plugin_demo:Lighting"}, monkeypatch)
    names = [d.name for d in registered(strict=True)]
    assert names[:2] == ["provenance", "geometry.stylegan"] and "lighting.halves" in names
    a = Analyzer(strict=True).analyze_bytes(halves_photo())
    (sig,) = [s for s in a.signals if s.name == "lighting.halves"]
    assert sig.kind == "composited" and sig.evidence["left"] < sig.evidence["right"]
    assert a.to_json()["signals"][0]["headline"] == sig.headline


def test_a_per_image_composited_signal_reaches_the_verdict_and_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path, {"lighting": "hc_plugin_demo:Lighting"}, monkeypatch)
    hc = Headcheck(tmp_path / "h.db", analyzer=Analyzer(strict=True))
    try:
        data = halves_photo()
        v = hc.check(data).verdict
        assert v.label == "composited"
        r = v.reasons[0]
        assert (r.signal, r.headline) == ("lighting.halves",
                                          "The two halves of the photo are lit very differently.")
        assert r.evidence["right"] > 100 > r.evidence["left"]
        res = hc.add(data, Sighting(page_url="https://a.example/p", image_url="file:///x.jpg"))
        stored = hc.stored_verdict(res.added.photo_id)  # rebuilt from the signals table
        assert stored.to_dict() == v.to_dict()
        # An ordinary photo gets nothing from it.
        assert hc.check(real("2369151434").read_bytes()).verdict.label == "none"
    finally:
        hc.close()


def test_information_never_sways_the_label(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path, {"note": "hc_plugin_demo:Note"}, monkeypatch)
    hc = Headcheck(tmp_path / "h.db", analyzer=Analyzer(strict=True))
    try:
        res = hc.check(real("2369151434").read_bytes())
        assert [s.name for s in res.analysis.signals] == ["note.always"]
        # A plug-in's score-0 signal is reported as a note (a score-0 reason), never a flag.
        assert (res.verdict.label, res.verdict.confidence) == ("none", 0.0)
        assert [(r.signal, r.score) for r in res.verdict.reasons] == [("note.always", 0.0)]
    finally:
        hc.close()


def test_a_failing_detector_is_reported_not_fatal(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path, {"broken": "hc_plugin_demo:Broken"}, monkeypatch)
    stylegan = sorted(STYLEGAN.glob("*.jpg"))[1].read_bytes()
    a = Analyzer(strict=False).analyze_bytes(stylegan)
    assert a.detector_errors == [{"detector": "broken.always",
                                  "error": "ValueError: this detector has a bug"}]
    names = [s.name for s in a.signals]  # the others still ran (the diffusion probe's StyleGAN
    assert "geometry.stylegan_eyes" in names  # head also flags this face: it trained on it)
    # of its own, only the note that it did not check the photo (score 0: never a flag)
    assert [(s.name, s.score) for s in a.signals if s.name.startswith("broken")] == [
        ("broken.always.not_checked", 0.0)]
    assert a.to_json()["detector_errors"] == a.detector_errors
    with pytest.raises(ValueError, match="bug"):  # the test suite's strict mode hides nothing
        Analyzer(strict=True).analyze_bytes(stylegan)


def test_a_detector_that_needs_a_face_is_skipped_without_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    install_plugin(tmp_path, {"broken": "hc_plugin_demo:Broken"}, monkeypatch)
    a = Analyzer(strict=True).analyze_bytes(jpeg(Image.new("RGB", (64, 64), "grey")))
    assert a.face is None and a.detector_errors == []


def test_broken_plug_ins_are_left_out_unless_strict(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(tmp_path, {"missing": "hc_plugin_demo_gone:X",
                              "wrong": "hc_plugin_demo:WrongKind",
                              "dup": "headcheck.detectors.provenance:ProvenanceDetector"},
                   monkeypatch)
    # the missing module and the unknown kind are logged and left out; the name clash too
    assert [d.name for d in plugins(strict=False)] == ["provenance"]
    builtins = [load(spec).name for spec in BUILTIN]
    assert builtins[:2] == ["provenance", "geometry.stylegan"]
    assert [d.name for d in registered(strict=False)] == builtins  # the clash is not added
    with pytest.raises((ImportError, DetectorError)):
        registered(strict=True)
