"""Verdict precision on hard negatives: different people who share a studio backdrop, framing
and dress code, or the same page furniture, are never "the same photo" or "composited"; while a
face pasted on a studio template still is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from headcheck import match as M
from headcheck.analyze import Analyzer
from headcheck.dense import DensePatch
from headcheck.engine import Headcheck
from headcheck.judge import COPY_FACE_CORR
from headcheck.load import load_image
from headcheck.store import Sighting
from tests.conftest import FACES, bench_script, jpeg, real

ROOT = Path(__file__).resolve().parents[2]
PORTRAITS = FACES / "portraits" / "images"


def _bench_corpus():
    return bench_script("corpus", "bench_corpus")


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    """Relations are under test here, not per-image detectors (tested on their own): leaving
    them out keeps 438 analyses cheap."""
    return Analyzer(detectors=[])


@pytest.fixture(scope="module")
def portraits_store(analyzer) -> Headcheck:
    """Every studio portrait (438 different people) indexed into one store, each on its own
    page under its own name, by the shipped engine."""
    hc = Headcheck(analyzer=analyzer)
    for f in sorted(PORTRAITS.glob("*.jpg")):
        hc.add(f.read_bytes(), Sighting(f"https://congress.example/{f.stem}", f.name,
                                        profile_name=f"Member {f.stem}"))
    yield hc
    hc.close()


def test_studio_portraits_of_different_people_are_never_accused(portraits_store) -> None:
    hc = portraits_store
    ids = hc.store.photo_ids()
    assert len(ids) == len(list(PORTRAITS.glob("*.jpg"))) > 400
    accused = {pid: hc.stored_verdict(pid) for pid in ids}
    accused = {pid: v.reasons[0].detail for pid, v in accused.items()
               if v.label in ("composited", "reused")}
    assert accused == {}


def test_a_studio_portrait_reposted_is_still_found(portraits_store, tmp_path: Path) -> None:
    """The precision above is not bought by going blind: a resized, re-encoded copy of one of
    those portraits under another name is still the same photo."""
    hc = portraits_store
    src = Image.open(sorted(PORTRAITS.glob("*.jpg"))[7]).convert("RGB")
    copy = src.resize((180, 220), Image.Resampling.LANCZOS)
    res = hc.check(jpeg(copy, quality=70), page_url="https://elsewhere.example/u/1",
                   profile_name="Someone Else")
    assert res.verdict.label == "reused"


def test_studio_template_with_another_face_is_composited(analyzer) -> None:
    corpus = _bench_corpus()
    lib = corpus.Library()
    studio = corpus.list_sources("studio")
    faced = corpus.first_frontal(lib, studio, 6)
    template, donors = faced[0], faced[1:]
    hc = Headcheck(analyzer=analyzer)
    hc.add(template.path.read_bytes(), Sighting("https://stock.example/t", "", "Stock Model"))
    found = 0
    for k, donor in enumerate(donors[:3]):
        data, _ = corpus.make_composite(lib, template, donor, np.random.default_rng(k),
                                        widths=(220, 360))
        v = hc.check(data, page_url=f"https://farm.example/{k}", profile_name=f"Fake {k}")
        found += v.verdict.label == "composited"
    hc.close()
    assert found >= 2  # studio-template recall is measured in bench/ (docs/benchmarks.md)


def _banner(im: Image.Image, text: str = "Let's connect!") -> Image.Image:
    """A profile-site banner across the bottom 15%: the same design on every photo."""
    out = im.convert("RGB").copy()
    w, h = out.size
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, int(h * 0.85), w, h), fill=(10, 102, 194))
    draw.text((w // 10, int(h * 0.89)), text, fill=(255, 255, 255))
    return out


def test_a_shared_banner_is_never_evidence(analyzer) -> None:
    hc = Headcheck(analyzer=analyzer)
    a = Image.open(real("3788426000")).resize((400, 600))
    b = Image.open(real("4452457288")).resize((400, 600))
    hc.add(jpeg(_banner(a)), Sighting("https://a.example/ann", "", "Ann Lee"))
    res = hc.check(jpeg(_banner(b)), page_url="https://b.example/bo", profile_name="Bo Chen")
    assert res.verdict.label == "none" and res.matches == []
    hc.close()


def test_own_photo_under_one_name_is_information_and_other_names_are_reuse(analyzer) -> None:
    hc = Headcheck(analyzer=analyzer)
    photo = load_image(real("3788426000").read_bytes()).image
    hc.add(jpeg(photo), Sighting("https://linkedin.example/in/sam", "", "Sam Keller"))
    same = hc.check(jpeg(photo.resize((300, 450))), page_url="https://acme.example/team/sam",
                    profile_name="S. Keller, PhD")
    assert same.verdict.label == "none"
    assert same.verdict.reasons[0].signal == "match.same_photo.same_identity"
    other = hc.check(jpeg(photo.resize((300, 450))), page_url="https://acme.example/team/sk",
                     profile_name="Samuel K")
    assert other.verdict.label == "reused"
    assert other.verdict.reasons[0].evidence["identities"] == 2
    hc.close()


def _faceless(photo_id: str) -> Image.Image:
    """A square from the lower half of a portrait: clothing and backdrop, no face (the case of
    an avatar whose face no detector finds)."""
    im = Image.open(real(photo_id)).convert("RGB")
    w, h = im.size
    side = min(w, h // 2)
    return im.crop(((w - side) // 2, h - side, (w + side) // 2, h))


def test_a_faceless_photo_under_a_profile_ring_is_still_the_same_photo(analyzer) -> None:
    """No face frame: the whole window must agree. A ring overlay and its filled corners hide
    part of it, and what they leave uncovered still agrees pixel by pixel; the clothes of other
    people never do. (Verification only: the hash stage proposes such copies when the ring
    leaves the whole-image hash close, as in bench/; here every pair is verified.)"""
    corpus = _bench_corpus()
    ids = ("3788426000", "4452457288", "2890368131", "3259370999")
    originals = [analyzer.analyze_bytes(jpeg(_faceless(pid))) for pid in ids]
    assert all(a.face is None for a in originals)
    for k, pid in enumerate(ids):
        ring = corpus.ring_avatar(np.asarray(_faceless(pid)), np.random.default_rng(k), None)
        q = analyzer.analyze_bytes(jpeg(Image.fromarray(ring.rgb).resize((300, 300))),
                                   lookup=True)
        assert q.face is None
        for j, other in enumerate(originals):
            v, mirrored = M.verify_both(q, other.features)
            d = M.dense_score(DensePatch.from_bytes(q.dense), DensePatch.from_bytes(other.dense),
                              v, mirrored, False)
            relation = M.decide(v, d, None, False)
            if j == k:
                assert relation == M.SAME_PHOTO, (pid, v, d)
                assert not M.context_shared(d)  # the ring spoils the whole-window correlation
            else:
                assert relation is None, (pid, ids[j], d)


SHOOT = ROOT / "tests" / "fixtures" / "shoot"


def test_two_frames_of_one_shoot_are_not_claimed_as_one_photo(analyzer) -> None:
    """Neutral then smiling, moments apart: at the dense patch's scale the face pixels agree
    almost as a copy's do, so the reason may not say "the same photo" flat out; a real copy of
    either frame still is."""
    hc = Headcheck(analyzer=analyzer)
    neutral = (SHOOT / "london_044_neutral.jpg").read_bytes()
    hc.add(neutral, Sighting("https://people.example/dana", "", "Dana Whitfield"))
    frame = hc.check((SHOOT / "london_044_smiling.jpg").read_bytes(),
                     page_url="https://other.example/lee", profile_name="Lee Moreno")
    r = frame.verdict.reasons[0]
    assert frame.verdict.label == "reused"  # two names, one person's shoot: still a flag
    assert r.headline == "Same or near-identical photo used by 2 differently named profiles"
    assert "or a frame of the same shoot" in r.detail
    assert r.evidence["face_corr"] < COPY_FACE_CORR
    copy = hc.check(jpeg(load_image(neutral).image.resize((360, 360))),
                    page_url="https://third.example/kim", profile_name="Kim Osei")
    r = copy.verdict.reasons[0]
    assert r.headline == "Same photo used by 2 differently named profiles"
    assert "frame" not in r.detail and "face_corr" not in r.evidence
    hc.close()
