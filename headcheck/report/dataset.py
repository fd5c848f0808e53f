"""Everything the report shows, gathered from one store in a single pass over the photos."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from ..store import Store
from ..verdicts import iter_verdicts
from .clusters import (
    ClusterSummary,
    Member,
    ReusedPhoto,
    TemplateCluster,
    cluster_summaries,
    most_reused,
    same_photo_groups,
    template_clusters,
)
from .gathering import Gathering, gathering
from .profiles import ProfileRow, profile_rows, synthetic_members
from .stats import UNKNOWN, PrevalenceRow, month_of, prevalence, site_of


@dataclass(slots=True)
class PhotoRow:
    """One photo, slimmed to what the report and its tables need (no reasons' match lists)."""

    photo_id: int
    sha256: str
    label: str
    confidence: float
    top_signal: str | None
    detail: str | None
    reasons: int
    cluster_id: int | None
    same_photo_group: int | None
    pages: int
    first_seen: str | None
    month: str  # of the first sighting
    sites: dict[str, str | None] = field(default_factory=dict)  # site -> first seen there
    kinds: tuple[str, ...] = ()  # kinds of its flagging reasons (notes not counted)
    headline: str | None = None  # the leading reason in plain words


@dataclass
class ReportData:
    db_path: str
    photos: list[PhotoRow]
    overall: PrevalenceRow | None
    by_site: list[PrevalenceRow]
    by_month: list[PrevalenceRow]  # chronological, "(unknown)" last
    clusters: list[ClusterSummary]  # every template cluster, largest first
    gallery: list[TemplateCluster]  # the largest, with members to show
    reused: list[ReusedPhoto]
    gathering: Gathering
    profiles: list[ProfileRow] = field(default_factory=list)
    overall_profiles: PrevalenceRow | None = None
    synthetic: list[Member] = field(default_factory=list)  # the most confident, to check by eye
    synthetic_total: int = 0

    @cached_property
    def labels(self) -> dict[int, PhotoRow]:
        return {p.photo_id: p for p in self.photos}


def _sites(pages: list) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for page in pages:  # oldest first, so the first page of a site sets its first sighting
        out.setdefault(site_of(page.url), page.first_seen)
    return out


def photo_rows(store: Store, groups: dict[int, int],
               on_chunk: Callable[[int], None] | None = None) -> list[PhotoRow]:
    rows = []
    for pv in iter_verdicts(store, on_chunk=on_chunk):
        v = pv.verdict
        top = v.reasons[0] if v.reasons else None
        rows.append(PhotoRow(
            pv.photo_id, pv.sha256, v.label, v.confidence, top.signal if top else None,
            top.detail if top else None, len(v.reasons), pv.cluster_id,
            groups.get(pv.photo_id), len(pv.pages), pv.first_seen, month_of(pv.first_seen),
            _sites(pv.pages), tuple(dict.fromkeys(r.kind for r in v.reasons if r.score > 0)),
            (top.headline or top.detail) if top else None))
    return rows


def _chronological(rows: list[PrevalenceRow]) -> list[PrevalenceRow]:
    return sorted(rows, key=lambda r: (r.group == UNKNOWN, r.group))


def collect(store: Store, db_path: str, gallery_clusters: int = 12, per_cluster: int = 12,
            top_reused: int = 20, with_thumbs: bool = True,
            on_chunk: Callable[[int], None] | None = None,
            gallery_synthetic: int = 48) -> ReportData:
    groups = same_photo_groups(store)
    photos = photo_rows(store, groups, on_chunk)
    overall = prevalence(("all photos", p.label) for p in photos)
    labels = {p.photo_id: p for p in photos}
    profiles = profile_rows(store, labels)
    by_profile = prevalence(("all profiles", p.label) for p in profiles)
    synthetic, synthetic_total = synthetic_members(store, labels, gallery_synthetic, with_thumbs)
    return ReportData(
        db_path=db_path,
        photos=photos,
        overall=overall[0] if overall else None,
        by_site=prevalence((site, p.label) for p in photos for site in p.sites),
        by_month=_chronological(prevalence((p.month, p.label) for p in photos)),
        clusters=cluster_summaries(store),
        gallery=template_clusters(store, gallery_clusters, per_cluster, with_thumbs),
        reused=most_reused(store, groups, top_reused, with_thumbs),
        gathering=gathering(store),
        profiles=profiles,
        overall_profiles=by_profile[0] if by_profile else None,
        synthetic=synthetic,
        synthetic_total=synthetic_total,
    )
