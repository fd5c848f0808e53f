"""The report's data as CSV, tidy (one observation a row) so it loads straight into pandas or R."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path

from .dataset import ReportData
from .stats import PREVALENCE_LABELS, PrevalenceRow

LIST_SEPARATOR = " | "


def _write(path: Path, header: list[str], rows: Iterable[Iterable]) -> str:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path.name


def _prevalence_rows(scope: str, rows: list[PrevalenceRow]) -> Iterable[list]:
    for r in rows:
        for label in PREVALENCE_LABELS:
            p = r.by_label[label]
            yield [scope, r.group, label, p.k, p.n, round(p.share, 6), round(p.low, 6),
                   round(p.high, 6)]


def write_csv(data: ReportData, out: Path) -> dict[str, str]:
    """Write every CSV into ``out``; returns {what: file name}."""
    files = {}
    files["prevalence"] = _write(
        out / "prevalence.csv",
        ["scope", "group", "label", "k", "n", "share", "ci95_low", "ci95_high"],
        [row for scope, rows in (("overall", [data.overall] if data.overall else []),
                                 ("site", data.by_site), ("month", data.by_month),
                                 ("profiles", [data.overall_profiles]
                                  if data.overall_profiles else []))
         for row in _prevalence_rows(scope, rows)])
    files["profiles"] = _write(
        out / "profiles.csv",
        ["page_url", "profile_name", "label", "confidence", "photos"],
        ([p.page_url, p.name or "", p.label, p.confidence, p.photos] for p in data.profiles))
    files["photos"] = _write(
        out / "photos.csv",
        ["photo_id", "sha256", "label", "confidence", "top_signal", "detail", "reasons",
         "cluster_id", "same_photo_group", "pages", "sites", "first_seen", "month"],
        ([p.photo_id, p.sha256, p.label, p.confidence, p.top_signal, p.detail, p.reasons,
          p.cluster_id, p.same_photo_group, p.pages, LIST_SEPARATOR.join(p.sites),
          p.first_seen, p.month] for p in data.photos))
    files["clusters"] = _write(
        out / "template_clusters.csv",
        ["cluster_id", "photos", "pages", "same_context_links", "max_inliers"],
        ([c.cluster_id, c.size, c.pages, c.same_context_links, c.max_inliers]
         for c in data.clusters))
    files["reused"] = _write(
        out / "reused.csv",
        ["rank", "pages", "names", "copies", "profile_names", "page_urls", "sha256s"],
        ([rank, len(r.pages), len(r.names), len(r.members), LIST_SEPARATOR.join(r.names),
          LIST_SEPARATOR.join(r.pages), LIST_SEPARATOR.join(m.sha256 for m in r.members)]
         for rank, r in enumerate(data.reused, start=1)))
    files["crawls"] = _write(
        out / "crawls.csv",
        ["crawl_id", "started_at", "finished_at", "status", "seeds", "pages", "profiles",
         "photos_new", "photos_known", "errors", "software_version", "settings"],
        ([c.id, c.started_at, c.finished_at, c.status, LIST_SEPARATOR.join(c.seeds), c.pages,
          c.profiles, c.photos_new, c.photos_known, c.errors, c.software_version,
          json.dumps(c.settings, sort_keys=True)] for c in data.gathering.crawls))
    return files
