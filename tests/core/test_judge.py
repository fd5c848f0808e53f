"""The judge is a pure function: signals and verified matches in, a verdict out."""

from __future__ import annotations

from headcheck.dense import DenseScore
from headcheck.identity import Seen
from headcheck.judge import judge
from headcheck.match import SAME_CONTEXT, SAME_PHOTO, Match
from headcheck.signals import COMPOSITED, SYNTHETIC, Signal
from headcheck.verify import Verification


def m(relation: str, pages: list[str], corr: float = 0.95, sha: str = "b" * 64,
      names: list[str | None] | None = None) -> Match:
    seen = [Seen(p, n) for p, n in zip(pages, names or [None] * len(pages), strict=True)]
    return Match(2, sha, relation, "context", 6, Verification(30, 0, 80, 1, 0, 0), 0.8,
                 pages, dense=DenseScore(corr, 900, 0.2, 300), seen=seen)


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
    v = judge([], [m(SAME_CONTEXT, ["https://a/1"], names=["Ann Lee"]),
                   m(SAME_CONTEXT, ["https://b/2"], 0.99, names=["Bo Chen"])])
    assert v.label == "composited"
    r = v.reasons[0]
    assert r.kind == "composited" and len(r.matches) == 2
    assert "2 other photos" in r.detail and "2 pages" in r.detail
    assert r.matches[0]["dense"]["context_corr"] == 0.99  # strongest evidence first
    assert r.evidence["names"] == ["Ann Lee", "Bo Chen"] and r.headline
    assert 0.5 < v.confidence < 1


def test_one_identity_on_several_pages_is_information_not_a_flag() -> None:
    own = [Seen("https://linkedin.example/in/nina", "Nina Park")]
    v = judge([], [m(SAME_PHOTO, ["https://acme.example/team"], names=["N. Park Consulting"])],
              own_seen=own)
    assert v.label == "none" and v.confidence == 0.0
    assert v.reasons[0].score == 0.0 and "Nina Park" in v.reasons[0].detail
    # the lookup's own page and name count like any sighting
    v = judge([], [], own_seen=own, query_page="https://x.example/nina", query_name="Park, Nina")
    assert v.label == "none" and v.reasons[0].evidence["identities"] == 1


def test_one_photo_under_different_names_is_reused() -> None:
    own = [Seen("https://a.example/sam-keller", "Sam Keller")]
    others = [m(SAME_PHOTO, ["https://a.example/samuel-k"], names=["Samuel K"]),
              m(SAME_PHOTO, ["https://b.example/keller-sam"], names=["Keller Sam"])]
    v = judge([], others, own_seen=own)
    assert v.label == "reused" and v.confidence > 0.5
    r = v.reasons[0]
    assert r.evidence["identities"] == 2 and r.page_count == 3
    assert "Samuel K" in r.detail and "Sam Keller" in r.detail


def test_without_names_pages_decide_and_the_reason_says_so() -> None:
    # the photo's own sightings on one page do not make it reused
    assert judge([], [], ["https://a/1", "https://a/1"]).label == "none"
    assert judge([], [m(SAME_PHOTO, ["https://a/1"])], ["https://a/1"]).label == "none"
    v = judge([], [m(SAME_PHOTO, ["https://b/2"])], ["https://a/1"])
    assert v.label == "reused" and "no profile names" in v.reasons[0].detail
    # the page a lookup came from counts too
    assert judge([], [m(SAME_PHOTO, ["https://b/2"])], [], "https://c/3").label == "reused"
    # named identities outrank a guess from pages
    named = judge([], [m(SAME_PHOTO, ["https://b/2"], names=["Bo Chen"])],
                  own_seen=[Seen("https://a/1", "Ann Lee")])
    assert named.confidence > v.confidence


def test_stronger_reason_leads_and_all_reasons_are_kept() -> None:
    s = Signal("geometry.stylegan_eyes", SYNTHETIC, 0.3, "eyes", {})
    both = judge([s], [m(SAME_CONTEXT, ["https://x/1"], 0.99)])
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
    v = judge([info, odd], [])
    # Information is reported as a score-0 reason; an unknown kind is not reported at all.
    assert (v.label, v.confidence) == ("none", 0.0)
    assert [(r.signal, r.score, r.headline) for r in v.reasons] == [
        ("c2pa.unreadable", 0.0, "Could not be read.")]
    weak = Signal("geometry.stylegan_eyes", SYNTHETIC, 0.6, "eyes", {})
    w = judge([info, weak], [])
    assert (w.label, w.confidence) == ("synthetic", 0.6)
    assert [r.signal for r in w.reasons] == [weak.name, info.name]  # the flag first


def test_equal_scores_rank_by_kind_and_headlines_fall_back_to_detail() -> None:
    a = Signal("a.reused", "reused", 0.8, "a")
    b = Signal("b.synthetic", SYNTHETIC, 0.8, "b")
    v = judge([a, b], [])
    assert [r.kind for r in v.reasons] == ["synthetic", "reused"]
    assert v.reasons[0].headline == "b"  # a signal stored before headlines existed


def test_match_reasons_carry_headline_and_counts() -> None:
    c = judge([], [m(SAME_CONTEXT, ["https://a/1"]), m(SAME_CONTEXT, ["https://b/2"], 0.99)])
    ev = c.reasons[0].evidence
    assert (ev["photos"], ev["pages"], ev["context_corr"]) == (2, 2, 0.99)
    assert "2 other photos" in c.reasons[0].headline
    r = judge([], [m(SAME_PHOTO, ["https://b/2"])], ["https://a/1"])
    ev = r.reasons[0].evidence
    assert (ev["page_count"], ev["identities"], ev["names"]) == (2, 0, [])
    assert "2 pages" in r.reasons[0].headline


def test_same_photo_wording_follows_the_face_pixels() -> None:
    """Face pixels under a copy's agreement may be a second frame of one shoot: the reason says
    so (the label stays); a copy's, or a faceless match's, is named the same photo."""
    own = [Seen("https://a.example/sam-keller", "Sam Keller")]

    def reason(core_corr: float, core_area: int = 300):
        other = m(SAME_PHOTO, ["https://b.example/kim"], names=["Kim Osei"])
        other.dense = DenseScore(0.95, 900, core_corr, core_area)
        return judge([], [other], own_seen=own)

    near = reason(0.96)
    assert near.label == "reused"
    assert near.reasons[0].headline.startswith("Same or near-identical photo used by 2")
    assert "frame of the same shoot" in near.reasons[0].detail
    assert near.reasons[0].evidence["face_corr"] == 0.96
    for copy in (reason(0.995), reason(0.0, core_area=0)):  # the second: window at 0.95
        assert copy.label == "reused"
        assert "face_corr" not in copy.reasons[0].evidence
    assert reason(0.995).reasons[0].headline.startswith("Same photo used by 2")
    # Without a face the whole window speaks: 0.95 is a frame's agreement, not a copy's.
    faceless = reason(0.0, core_area=0).reasons[0]
    assert faceless.headline.startswith("Same or near-identical photo")
    assert faceless.evidence["window_corr"] == 0.95
