"""The judge is a pure function: signals and verified matches in, a verdict out."""

from __future__ import annotations

from headcheck.judge import judge
from headcheck.match import SAME_CONTEXT, SAME_PHOTO, Match
from headcheck.signals import COMPOSITED, SYNTHETIC, Signal
from headcheck.verify import Verification


def m(relation: str, pages: list[str], inliers: int = 40, sha: str = "b" * 64) -> Match:
    return Match(2, sha, relation, "context", 6, Verification(inliers, 0, 80, 1, 0, 0), 0.8,
                 pages)


def test_no_evidence_is_none_never_authentic() -> None:
    v = judge([], [], ["https://a.example/p"])
    assert (v.label, v.confidence, v.reasons) == ("none", 0.0, [])


def test_declared_generator_is_synthetic_with_its_evidence() -> None:
    s = Signal("c2pa.ai_generated", SYNTHETIC, 0.95, "C2PA says: made by Adobe Firefly",
               {"claim_generator": "Adobe Firefly"})
    v = judge([s], [])
    assert v.label == "synthetic" and v.confidence == 0.95
    assert v.reasons[0].signal == "c2pa.ai_generated"
    assert "Firefly" in v.reasons[0].detail


def test_shared_context_under_another_face_is_composited() -> None:
    v = judge([], [m(SAME_CONTEXT, ["https://a/1"]), m(SAME_CONTEXT, ["https://b/2"], 90)])
    assert v.label == "composited"
    r = v.reasons[0]
    assert r.kind == "composited" and len(r.matches) == 2
    assert "2 other photos" in r.detail and "2 pages" in r.detail
    assert r.matches[0]["inliers"] == 90  # strongest evidence first
    assert 0.6 < v.confidence <= 0.97


def test_reuse_needs_two_distinct_pages() -> None:
    # the photo's own sightings on one page do not make it reused
    assert judge([], [], ["https://a/1", "https://a/1"]).label == "none"
    assert judge([], [m(SAME_PHOTO, ["https://a/1"])], ["https://a/1"]).label == "none"
    v = judge([], [m(SAME_PHOTO, ["https://b/2"])], ["https://a/1"])
    assert v.label == "reused" and v.confidence == 0.5
    assert "2 distinct pages" in v.reasons[0].detail
    # the page a lookup came from counts too
    assert judge([], [m(SAME_PHOTO, ["https://b/2"])], [], "https://c/3").label == "reused"


def test_more_pages_more_confidence_and_all_reasons_kept() -> None:
    few = judge([], [m(SAME_PHOTO, ["https://b/2"])], ["https://a/1"])
    many = judge([], [m(SAME_PHOTO, [f"https://b/{i}"]) for i in range(5)], ["https://a/1"])
    assert many.confidence > few.confidence
    s = Signal("geometry.stylegan_eyes", SYNTHETIC, 0.6, "eyes", {})
    both = judge([s], [m(SAME_CONTEXT, ["https://x/1"], 100)])
    assert both.label == "composited"  # the stronger reason leads
    assert [r.kind for r in both.reasons] == ["composited", "synthetic"]


def test_reasons_count_their_pages() -> None:
    v = judge([], [m(SAME_PHOTO, ["https://b/2", "https://b/3"])], ["https://a/1"], "https://c/4")
    assert v.reasons[0].page_count == 4
    c = judge([], [m(SAME_CONTEXT, ["https://x/1"]), m(SAME_CONTEXT, ["https://x/1"])])
    assert c.reasons[0].page_count == 1


def test_any_detectors_signal_of_any_verdict_kind_is_a_reason() -> None:
    light = Signal("lighting.mismatch", COMPOSITED, 0.7, "shadows point two ways",
                   {"angle": 80}, "The face and the background are lit from different sides.")
    v = judge([light], [])
    assert (v.label, v.confidence) == ("composited", 0.7)
    r = v.reasons[0]
    assert (r.signal, r.headline, r.evidence) == (light.name, light.headline, {"angle": 80})


def test_information_and_unknown_kinds_never_change_the_label() -> None:
    info = Signal("c2pa.unreadable", SYNTHETIC, 0.0, "unreadable", {}, "Could not be read.")
    odd = Signal("x.y", "authentic", 0.9, "not a verdict kind")
    assert judge([info, odd], []) == judge([], [])
    weak = Signal("geometry.stylegan_eyes", SYNTHETIC, 0.6, "eyes", {})
    assert [r.signal for r in judge([info, weak], []).reasons] == [weak.name]


def test_equal_scores_rank_by_kind_and_headlines_fall_back_to_detail() -> None:
    a = Signal("a.reused", "reused", 0.8, "a")
    b = Signal("b.synthetic", SYNTHETIC, 0.8, "b")
    v = judge([a, b], [])
    assert [r.kind for r in v.reasons] == ["synthetic", "reused"]
    assert v.reasons[0].headline == "b"  # a signal stored before headlines existed


def test_match_reasons_carry_headline_and_counts() -> None:
    c = judge([], [m(SAME_CONTEXT, ["https://a/1"]), m(SAME_CONTEXT, ["https://b/2"], 90)])
    assert c.reasons[0].evidence == {"photos": 2, "pages": 2, "max_inliers": 90}
    assert "2 other photos" in c.reasons[0].headline
    r = judge([], [m(SAME_PHOTO, ["https://b/2"])], ["https://a/1"])
    assert r.reasons[0].evidence == {"pages": 2, "copies": 1}
    assert r.reasons[0].headline == "This same photo appears on 2 different pages."
