"""Template clusters (photos sharing a body and backdrop) and reused photos (copies linked by
verified same-photo matches), read from the store for the gallery and the reuse table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..match import SAME_CONTEXT, SAME_PHOTO
from ..store import Store


@dataclass(frozen=True)
class SightingRef:
    page_url: str
    profile_name: str | None


@dataclass
class Member:
    photo_id: int
    sha256: str
    phash: str | None
    thumb: bytes | None
    sightings: list[SightingRef] = field(default_factory=list)


@dataclass(frozen=True)
class ClusterSummary:
    cluster_id: int
    size: int  # photos in the cluster
    pages: int
    same_context_links: int
    max_inliers: int


@dataclass
class TemplateCluster:
    summary: ClusterSummary
    members: list[Member]  # the first photos of the cluster, up to the gallery's limit


@dataclass
class ReusedPhoto:
    """One picture and its verified copies (resized, re-encoded, mirrored, ...)."""

    members: list[Member]  # the copy seen on most pages first

    @property
    def pages(self) -> list[str]:
        return sorted({s.page_url for m in self.members for s in m.sightings})

    @property
    def names(self) -> list[str]:
        return sorted({s.profile_name for m in self.members for s in m.sightings
                       if s.profile_name})


def components(edges: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Union-find: each node of the edges mapped to its component's lowest id."""
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving keeps the trees flat
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: root(x) for x in parent}


def same_photo_groups(store: Store) -> dict[int, int]:
    """Photo id -> id of its same-photo group (lowest member id), for photos with copies."""
    return components(store.relation_edges(SAME_PHOTO))


def load_members(store: Store, ids: list[int], with_thumbs: bool) -> dict[int, Member]:
    out = {pid: Member(pid, sha, phash, th)
           for pid, sha, phash, th in store.member_rows(ids, with_thumbs)}
    for pid, url, name in store.page_names(ids):
        out[pid].sightings.append(SightingRef(url, name))
    return out


def cluster_summaries(store: Store, limit: int = -1) -> list[ClusterSummary]:
    """Clusters that hold at least one same-context (template) relation, largest first;
    ``limit`` -1 for all."""
    rows = store.cluster_summary_rows(SAME_CONTEXT, limit)
    return [ClusterSummary(*row) for row in rows]


def template_clusters(store: Store, limit: int, per_cluster: int,
                      with_thumbs: bool = True) -> list[TemplateCluster]:
    """The largest template clusters with their first ``per_cluster`` photos."""
    out = []
    for summary in cluster_summaries(store, limit):
        ids = store.cluster_members(summary.cluster_id)[:per_cluster]
        members = load_members(store, ids, with_thumbs)
        out.append(TemplateCluster(summary, [members[i] for i in ids]))
    return out


def most_reused(store: Store, groups: Mapping[int, int], limit: int,
                with_thumbs: bool = True) -> list[ReusedPhoto]:
    """Pictures seen on the most distinct pages, counting every verified copy; at least two."""
    by_group: dict[int, set[int]] = defaultdict(set)
    for pid, gid in groups.items():
        by_group[gid].add(pid)
    # A photo without copies is reused when the same file sits on several pages.
    for pid in store.photos_on_several_pages():
        if pid not in groups:
            by_group[pid].add(pid)
    page_sets: dict[int, set[str]] = defaultdict(set)
    all_ids = [pid for ids in by_group.values() for pid in ids]
    for pid, url in store.distinct_pages(all_ids):
        page_sets[groups.get(pid, pid)].add(url)
    ranked = sorted((g for g in by_group if len(page_sets[g]) >= 2),
                    key=lambda g: (-len(page_sets[g]), g))[:limit]
    ids = [pid for g in ranked for pid in sorted(by_group[g])]
    members = load_members(store, ids, with_thumbs)
    return [ReusedPhoto(sorted((members[i] for i in by_group[g]),
                               key=lambda m: (-len(m.sightings), m.photo_id)))
            for g in ranked]
