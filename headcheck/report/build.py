"""Build the report directory: index.html, its figures and thumbnails, CSV files, and the
``verdicts``/``photo_sites`` tables in the store."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import __version__
from ..store import Store, now_iso
from . import plots
from .clusters import Member, ReusedPhoto, load_members
from .dataset import ReportData, collect
from .export import write_csv
from .feedback import feedback_summary
from .limits import DETECTION_LIMITS
from .profiles import write_sightings
from .render import render, safe_href
from .stats import FLAGGED, PREVALENCE_LABELS, median
from .tables import write_tables

PAGES_PER_CARD = 3  # links listed under a photo in the gallery; the rest are counted
PAGES_PER_REUSED = 8  # links listed per reused photo
COPIES_SHOWN = 4  # thumbnails of a reused photo's copies
SITES_IN_TABLE = 25
SITES_IN_PLOT = 15
THUMBS = "thumbs"
_JPEG_MAGIC = b"\xff\xd8\xff"


@dataclass(frozen=True)
class ReportOptions:
    gallery_clusters: int = 12
    per_cluster: int = 12
    top_reused: int = 20
    thumbnails: bool = True  # use stored thumbnails (off: hashes and links only)
    write_tables: bool = True  # refresh ``verdicts`` and ``photo_sites`` for Datasette
    progress: bool | None = None  # None: on when stderr is a terminal


@dataclass
class ReportResult:
    index: Path
    files: dict[str, str]
    photos: int
    flagged: int
    thumbnails: int
    tables_written: bool
    data: ReportData = field(repr=False)


def _thumb(out: Path, m: Member) -> str | None:
    """Write the stored thumbnail as a file; None when there is none (or it is not a JPEG)."""
    if not m.thumb or not bytes(m.thumb).startswith(_JPEG_MAGIC):
        return None
    name = f"{THUMBS}/{m.sha256}.jpg"
    path = out / name
    if not path.exists() or path.stat().st_size != len(m.thumb):
        path.write_bytes(m.thumb)
    return name


def _page_links(urls: list[str], limit: int) -> tuple[list[dict], int]:
    """Links to show (the text without the scheme, to keep cards narrow) and how many more."""
    shown = [{"href": safe_href(url), "text": url.split("://", 1)[-1]} for url in urls[:limit]]
    return shown, max(0, len(urls) - limit)


def _card(out: Path, m: Member, data: ReportData) -> dict[str, Any]:
    row = data.labels.get(m.photo_id)
    pages, more = _page_links([s.page_url for s in m.sightings], PAGES_PER_CARD)
    names = [s.profile_name for s in m.sightings if s.profile_name]
    return {"thumb": _thumb(out, m), "sha256": m.sha256, "phash": m.phash,
            "label": row.label if row else "none", "confidence": row.confidence if row else 0.0,
            "name": ", ".join(dict.fromkeys(names)) or None,
            "link": pages[0]["href"] if pages else None, "pages": pages, "more": more}


def _reused_view(out: Path, rank: int, r: ReusedPhoto) -> dict[str, Any]:
    lead = r.members[0]
    pages, more = _page_links(r.pages, PAGES_PER_REUSED)
    thumbs = [t for t in (_thumb(out, m) for m in r.members[:COPIES_SHOWN]) if t]
    return {"rank": rank, "thumbs": thumbs, "sha256": lead.sha256, "phash": lead.phash,
            "page_count": len(r.pages), "names": r.names, "pages": pages, "more": more,
            "copies": len(r.members)}


def _confidence_table(data: ReportData) -> list[dict[str, Any]]:
    rows = []
    for label in plots.FLAG_LABELS:
        values = [p.confidence for p in data.photos if p.label == label]
        if values:
            rows.append({"label": label, "n": len(values), "min": f"{min(values):.2f}",
                         "median": f"{median(values):.2f}", "max": f"{max(values):.2f}"})
    return rows


def _plots(data: ReportData, out: Path) -> dict[str, str | None]:
    flagged = any(p.label != "none" for p in data.photos)
    sites = data.by_site[:SITES_IN_PLOT]
    return {
        "overall": plots.overall(data.overall, out / "prevalence.png") if data.overall else None,
        "by_site": plots.by_site(sites, out / "prevalence_by_site.png") if sites else None,
        "by_month": (plots.by_month(data.by_month, out / "prevalence_by_month.png")
                     if data.by_month else None),
        "confidence": plots.confidence(data.photos, out / "confidence.png") if flagged else None,
    }


def build_report(db: str | Path, out: str | Path,
                 options: ReportOptions | None = None) -> ReportResult:
    opts = options or ReportOptions()
    out = Path(out)
    (out / THUMBS).mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if opts.progress is None else opts.progress
    store = Store(db)
    try:
        total = store.photo_count()
        with tqdm(total=total, desc="judging photos", unit="photo", disable=not show,
                  file=sys.stderr) as bar:
            data = collect(store, str(db), opts.gallery_clusters, opts.per_cluster,
                           opts.top_reused, opts.thumbnails, on_chunk=bar.update)
        if opts.write_tables:
            write_tables(store, data.photos)
        sightings_csv = write_sightings(store, data.labels, out / "sightings.csv")
        feedback = feedback_summary(store, data.labels)
        answered = load_members(store, [a.photo_id for a in feedback.photos],
                           opts.thumbnails) if feedback else {}
    finally:
        store.close()
    steps = tqdm(total=4, desc="writing report", unit="step", disable=not show, file=sys.stderr)
    plot_files = _plots(data, out)
    steps.update()
    files = {**write_csv(data, out), "sightings": sightings_csv}
    steps.update()
    gallery = [{"summary": c.summary, "members": [_card(out, m, data) for m in c.members]}
               for c in data.gallery]
    reused = [_reused_view(out, rank, r) for rank, r in enumerate(data.reused, start=1)]
    synthetic = [{**_card(out, m, data), "headline": data.labels[m.photo_id].headline}
                 for m in data.synthetic]
    review = [{**_card(out, answered[a.photo_id], data), "answer": a}
              for a in (feedback.photos if feedback else []) if a.photo_id in answered]
    steps.update()
    context = _context(data, plot_files, files, gallery, reused, opts.write_tables)
    html = render({**context, "synthetic": synthetic, "synthetic_total": data.synthetic_total,
                   "feedback": feedback, "review": review, **_units(data)})
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    steps.update()
    steps.close()
    thumbs = sum(1 for c in gallery for m in c["members"] if m["thumb"]) + sum(
        len(r["thumbs"]) for r in reused)
    return ReportResult(index, files, len(data.photos),
                        sum(p.label != "none" for p in data.photos), thumbs, opts.write_tables,
                        data)


def _units(data: ReportData) -> dict[str, Any]:
    """Profiles beside photos, the reasons behind the labels, what the denominators leave out,
    and what each detector can see."""
    reason_kinds = [{"kind": k, "photos": sum(k in p.kinds for p in data.photos),
                     "labelled": sum(p.label == k for p in data.photos)}
                    for k in plots.FLAG_LABELS]
    crawls = data.gathering.crawls
    return {
        "profiles": data.overall_profiles, "profiles_n": len(data.profiles),
        "reason_kinds": reason_kinds, "limits": DETECTION_LIMITS,
        "excluded": {"crawl_errors": sum(c.errors or 0 for c in crawls), "crawls": len(crawls)},
    }


def _context(data: ReportData, plot_files: dict, files: dict, gallery: list, reused: list,
             tables_written: bool) -> dict[str, Any]:
    g = data.gathering
    return {
        "version": __version__, "generated_at": now_iso(), "db_name": Path(data.db_path).name,
        "facts": {"photos": g.photos, "sightings": g.sightings, "pages": g.pages,
                  "sites": len(data.by_site), "clusters": len(data.clusters),
                  "flagged": data.overall.by_label[FLAGGED].k if data.overall else 0},
        "overall": data.overall, "all_labels": PREVALENCE_LABELS,
        "flag_labels": [*plots.FLAG_LABELS, FLAGGED],
        "sites": data.by_site[:SITES_IN_TABLE],
        "sites_more": max(0, len(data.by_site) - SITES_IN_TABLE),
        "sites_plotted": min(SITES_IN_PLOT, len(data.by_site)),
        "months": data.by_month, "plots": plot_files, "confidence": _confidence_table(data),
        "gallery": gallery, "reused": reused, "gathering": g, "files": files,
        "tables_note": ("The store's verdicts and photo_sites tables were refreshed with these "
                        "figures, for Datasette and SQL (see docs/reports.md)."
                        if tables_written else
                        "The store's verdicts and photo_sites tables were left as they were."),
    }
