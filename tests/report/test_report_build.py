"""`headcheck report` on real stores: the indexed sample, one without thumbnails, an empty one,
one with crawl runs, and one holding hostile page data."""

from __future__ import annotations

import csv
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from headcheck.report.build import ReportOptions, build_report
from headcheck.report.command import report
from headcheck.store import Store
from headcheck.verdicts import iter_verdicts
from tests.report.test_report_support import hand_built_store, indexed_sample

COMPOSITE_NAMES = {"Stock Photo 4452457288", "Dana Whitfield", "Marc Oyelaran", "Lena Brandt"}
KELLER_NAMES = ["Keller Sam", "S Keller Consulting", "Sam Keller", "Samuel K"]


class Page(HTMLParser):
    """Tags of interest in a report page, with the cluster each gallery image sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[str] = []
        self.hrefs: list[str] = []
        self.ids: set[str] = set()
        self.scripts = self.stylesheets = 0
        self.cluster_imgs: dict[str, list[str]] = {}
        self._cluster: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "section" and (a.get("id") or "").startswith("cluster-"):
            self._cluster = a["id"]
            self.cluster_imgs[self._cluster or ""] = []
        if tag == "img":
            self.imgs.append(a.get("src") or "")
            if self._cluster:
                self.cluster_imgs[self._cluster].append(a.get("src") or "")
        elif tag == "a" and "href" in a:
            self.hrefs.append(a["href"] or "")
        elif tag == "script":
            self.scripts += 1
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._cluster = None


def parse(index: Path) -> Page:
    page = Page()
    page.feed(index.read_text(encoding="utf-8"))
    return page


def assert_self_contained(out: Path, page: Page) -> None:
    """Nothing to fetch from the network; every local image and link resolves."""
    assert page.scripts == 0 and page.stylesheets == 0
    for src in page.imgs:
        assert "://" not in src and not src.startswith("//"), src
        assert (out / src).is_file(), src
    for href in page.hrefs:
        if href.startswith("#"):
            assert href[1:] in page.ids, href
        elif "://" not in href:
            assert (out / href).is_file(), href
        else:
            assert href.split("://")[0] in ("http", "https", "file"), href


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return indexed_sample(tmp_path_factory.mktemp("sample") / "headcheck.db")


@pytest.fixture(scope="module")
def built(sample_db: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("report")
    return build_report(sample_db, out, ReportOptions(progress=False)), out


def test_report_on_the_sample_counts_every_label(built) -> None:
    result, out = built
    assert (result.photos, result.flagged) == (15, 12)
    with (out / "prevalence.csv").open() as fh:
        overall = {r["label"]: (int(r["k"]), int(r["n"])) for r in csv.DictReader(fh)
                   if r["scope"] == "overall"}
    assert overall == {"synthetic": (4, 15), "composited": (4, 15), "reused": (4, 15),
                       "none": (3, 15), "flagged": (12, 15)}
    for name in ("prevalence.png", "prevalence_by_site.png", "prevalence_by_month.png",
                 "confidence.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG"), name


def test_gallery_shows_the_composite_cluster_side_by_side(built) -> None:
    result, out = built
    (cluster,) = result.data.gallery  # the reused copies form a cluster, but not a template
    assert cluster.summary.size == 4 and cluster.summary.same_context_links == 6
    page = parse(result.index)
    imgs = page.cluster_imgs[f"cluster-{cluster.summary.cluster_id}"]
    assert len(imgs) == 4
    assert all((out / src).read_bytes().startswith(b"\xff\xd8") for src in imgs)
    html = result.index.read_text()
    for name in COMPOSITE_NAMES:
        assert name in html
    assert 'href="https://people.example.org/profile/dana-whitfield"' in html
    assert_self_contained(out, page)


def test_most_reused_photo_lists_every_name(built) -> None:
    result, out = built
    top = result.data.reused[0]
    assert top.names == KELLER_NAMES and len(top.pages) == 4 and len(top.members) == 4
    with (out / "reused.csv").open() as fh:
        first = next(csv.DictReader(fh))
    assert first["profile_names"].split(" | ") == KELLER_NAMES and first["copies"] == "4"


# What each sample file is (data/sample/make_sample.py), by the start of its name.
SAMPLE_TRUTH = {"stock-template": "composited", "composite-": "composited",
                "reused-": "reused", "stylegan-": "synthetic", "declared-": "synthetic",
                "plain-": "none"}


def test_report_labels_are_the_sample_truth(built, sample_db: Path) -> None:
    db = sqlite3.connect(sample_db)
    files = {pid: url.rsplit("/", 1)[-1] for pid, url in
             db.execute("SELECT photo_id, min(image_url) FROM sightings GROUP BY photo_id")}
    truth = {pid: next(label for start, label in SAMPLE_TRUTH.items() if name.startswith(start))
             for pid, name in files.items()}
    got = {pid: label for pid, label in db.execute("SELECT photo_id, label FROM verdicts")}
    assert len(got) == 15 and got == truth
    # The table holds the verdicts with their confidence, as tools read them from the store.
    store = Store(sample_db)
    stored = {v.photo_id: v.verdict.confidence for v in iter_verdicts(store)}
    store.close()
    assert dict(db.execute("SELECT photo_id, confidence FROM verdicts")) == stored
    assert db.execute("SELECT DISTINCT site FROM photo_sites").fetchall() == [
        ("people.example.org",)]


def test_no_crawl_runs_are_reported_plainly(built) -> None:
    result, out = built
    assert "No crawl runs are recorded in this store" in result.index.read_text()
    assert (out / "crawls.csv").read_text().count("\n") == 1  # the header only


def test_without_thumbnails_the_gallery_shows_hashes_and_links(sample_db: Path,
                                                               tmp_path: Path) -> None:
    db = tmp_path / "nothumbs.db"
    db.write_bytes(sample_db.read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE photos SET thumb = NULL")
    result = build_report(db, tmp_path / "out", ReportOptions(progress=False))
    page = parse(result.index)
    assert result.thumbnails == 0
    assert page.cluster_imgs["cluster-1"] == []
    phash = sqlite3.connect(db).execute("SELECT phash FROM photos WHERE id = 2").fetchone()[0]
    html = result.index.read_text()
    assert html.count("no thumbnail") >= 4 and f"pHash {phash}" in html
    assert 'href="https://people.example.org/profile/marc-oyelaran"' in html
    assert_self_contained(tmp_path / "out", page)


def test_empty_store_gives_a_report_that_says_so(tmp_path: Path) -> None:
    Store(tmp_path / "empty.db").close()
    result = build_report(tmp_path / "empty.db", tmp_path / "out",
                          ReportOptions(progress=False))
    html = result.index.read_text()
    assert "The store holds no photos yet" in html and "No template clusters found" in html
    assert parse(result.index).imgs == []
    assert (tmp_path / "out" / "prevalence.csv").read_text().count("\n") == 1


def test_crawl_runs_and_their_settings_are_reported(tmp_path: Path) -> None:
    db = hand_built_store(tmp_path / "hand.db")
    store = Store(db)
    run = store.start_crawl(["https://a.example/people"], {"depth": 3, "max_pages": 500},
                            "0.1.0")
    store.finish_crawl(run, "finished", pages=120, profiles=10, photos_new=10, photos_known=0,
                       errors=2)
    store.close()
    result = build_report(db, tmp_path / "out", ReportOptions(progress=False))
    html = result.index.read_text()
    assert "No crawl runs" not in html
    assert 'href="https://a.example/people"' in html and "depth=3, max_pages=500" in html
    with (tmp_path / "out" / "crawls.csv").open() as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["status"], row["pages"], row["errors"]) == ("finished", "120", "2")
    assert "a.example" in html and "b.example" in html


def test_hostile_page_data_is_escaped_and_never_linked(tmp_path: Path) -> None:
    db = hand_built_store(tmp_path / "hand.db")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE sightings SET profile_name = '<script>alert(1)</script>' "
                     "WHERE photo_id = 3")
        conn.execute("UPDATE sightings SET page_url = 'javascript:alert(2)' WHERE photo_id = 4")
    result = build_report(db, tmp_path / "out", ReportOptions(progress=False))
    html = result.index.read_text()
    page = parse(result.index)
    assert page.scripts == 0 and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not any(h.lower().startswith("javascript:") for h in page.hrefs)
    assert "javascript:alert(2)" in html  # shown as text, for the record


def test_command_writes_the_report_and_says_where(sample_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    r = CliRunner().invoke(report, ["--db", str(sample_db), "--out", str(out), "--clusters",
                                    "1", "--no-tables"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert r.output.strip() == (f"report on 15 photos (12 flagged, 1 template cluster) "
                                f"written to {out / 'index.html'}")
    assert CliRunner().invoke(report, ["--out", str(out)]).exit_code == 2  # --db is required
    not_a_store = tmp_path / "notes.db"
    not_a_store.write_text("not a database")
    r = CliRunner().invoke(report, ["--db", str(not_a_store), "--out", str(out)])
    # The one message every command gives for a file that is no database (a usage error).
    assert r.exit_code == 2 and "is not a headcheck store" in r.output


def test_progress_is_shown_only_when_asked(sample_db: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    build_report(sample_db, tmp_path / "a", ReportOptions(progress=True, write_tables=False))
    err = capsys.readouterr().err
    assert "judging photos" in err and "15/15" in err and "writing report" in err
    build_report(sample_db, tmp_path / "b", ReportOptions(write_tables=False))  # not a terminal
    assert capsys.readouterr().err == ""


def test_the_report_says_how_many_photos_each_detector_checked(built, tmp_path: Path) -> None:
    import io

    from PIL import Image

    from headcheck.analyze import Analyzer
    from headcheck.detectors.stylegan import StyleGanGeometry
    from headcheck.engine import Headcheck
    from headcheck.report.gathering import detector_coverage, versions
    from headcheck.store import Sighting
    from tests.conftest import real

    result, out = built
    # The sample: every photo has a face, so every detector checked all 15.
    row = dict(result.data.gathering.versions)["detector diffusion.clip_probe (photos)"]
    assert row.startswith("checked v") and "not checked 0 " in row
    assert "detector diffusion.clip_probe (photos)" in (out / "index.html").read_text()
    # A photo without a face is not checked by a detector that needs one, and says so.
    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((320, 240)).save(buf, "JPEG")
    db = tmp_path / "h.db"
    hc = Headcheck(db, analyzer=Analyzer(detectors=[StyleGanGeometry()]), index_file=None)
    hc.add(real("2369151434").read_bytes(), Sighting("https://a.example/1"))
    hc.add(buf.getvalue(), Sighting("https://a.example/2"))
    hc.close()
    store = Store(db)
    try:
        rows = dict(versions(store))
    finally:
        store.close()
    version = StyleGanGeometry.version
    assert rows["detector geometry.stylegan (photos)"].startswith(f"checked v{version}: 1; "
                                                                   "not checked 1 (")
    # Off where the photo was analysed: counted apart from those checked.
    (made,) = detector_coverage([("d", "2", 5), ("d", "off:2", 3)], 10)
    assert made == ("detector d (photos)", "checked v2: 5; off on the analysing machine for 3; "
                    "not checked 2 (it did not apply, e.g. no face; it failed; or the photo was "
                    "analysed before it was installed or its version recorded)")
    assert "checked none" in detector_coverage([("d", "off:2", 3)], 3)[0][1]
