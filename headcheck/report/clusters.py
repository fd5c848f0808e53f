"""Template clusters (photos sharing a body and backdrop) and reused photos (copies linked by
verified same-photo matches), read from the store for the gallery and the reuse table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..match import SAME_CONTEXT, SAME_PHOTO
from ..store import Store
from ..verdicts import in_chunks


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
    return components((int(a), int(b)) for a, b in store.db.execute(
        "SELECT photo_id, other_id FROM matches WHERE relation = ?", [SAME_PHOTO]))


def _members(store: Store, ids: list[int], with_thumbs: bool) -> dict[int, Member]:
    out: dict[int, Member] = {}
    thumb = "thumb" if with_thumbs else "NULL"
    for part in in_chunks(ids):
        q = ",".join("?" * len(part))
        for pid, sha, phash, th in store.db.execute(
                f"SELECT id, sha256, phash, {thumb} FROM photos WHERE id IN ({q})", part):
            out[int(pid)] = Member(int(pid), sha, phash, th)
        for pid, url, name in store.db.execute(
                f"SELECT photo_id, page_url, max(profile_name) FROM sightings "
                f"WHERE photo_id IN ({q}) GROUP BY photo_id, page_url "
                "ORDER BY photo_id, min(first_seen), page_url", part):
            out[int(pid)].sightings.append(SightingRef(url, name))
    return out


def cluster_summaries(store: Store, limit: int = -1) -> list[ClusterSummary]:
    """Clusters that hold at least one same-context (template) relation, largest first;
    ``limit`` -1 for all."""
    rows = store.db.execute(
        """WITH t AS (
               SELECT p.cluster_id AS cid, count(*) AS links, max(m.inliers) AS best
               FROM matches m JOIN photos p ON p.id = m.photo_id
               WHERE m.relation = ? AND p.cluster_id IS NOT NULL GROUP BY p.cluster_id)
           SELECT t.cid, count(DISTINCT p.id), count(DISTINCT s.page_url), t.links, t.best
           FROM t JOIN photos p ON p.cluster_id = t.cid
           LEFT JOIN sightings s ON s.photo_id = p.id
           GROUP BY t.cid ORDER BY count(DISTINCT p.id) DESC, count(DISTINCT s.page_url) DESC,
                    t.cid LIMIT ?""", [SAME_CONTEXT, limit]).fetchall()
    return [ClusterSummary(*(int(x or 0) for x in row)) for row in rows]


def template_clusters(store: Store, limit: int, per_cluster: int,
                      with_thumbs: bool = True) -> list[TemplateCluster]:
    """The largest template clusters with their first ``per_cluster`` photos."""
    out = []
    for summary in cluster_summaries(store, limit):
        ids = store.cluster_members(summary.cluster_id)[:per_cluster]
        members = _members(store, ids, with_thumbs)
        out.append(TemplateCluster(summary, [members[i] for i in ids]))
    return out


def most_reused(store: Store, groups: Mapping[int, int], limit: int,
                with_thumbs: bool = True) -> list[ReusedPhoto]:
    """Pictures seen on the most distinct pages, counting every verified copy; at least two."""
    by_group: dict[int, set[int]] = defaultdict(set)
    for pid, gid in groups.items():
        by_group[gid].add(pid)
    # A photo without copies is reused when the same file sits on several pages.
    for (pid,) in store.db.execute(
            "SELECT photo_id FROM sightings GROUP BY photo_id "
            "HAVING count(DISTINCT page_url) >= 2"):
        if int(pid) not in groups:
            by_group[int(pid)].add(int(pid))
    page_sets: dict[int, set[str]] = defaultdict(set)
    all_ids = [pid for ids in by_group.values() for pid in ids]
    for part in in_chunks(all_ids):
        q = ",".join("?" * len(part))
        for pid, url in store.db.execute(
                f"SELECT DISTINCT photo_id, page_url FROM sightings WHERE photo_id IN ({q})",
                part):
            page_sets[groups.get(int(pid), int(pid))].add(url)
    ranked = sorted((g for g in by_group if len(page_sets[g]) >= 2),
                    key=lambda g: (-len(page_sets[g]), g))[:limit]
    ids = [pid for g in ranked for pid in sorted(by_group[g])]
    members = _members(store, ids, with_thumbs)
    return [ReusedPhoto(sorted((members[i] for i in by_group[g]),
                               key=lambda m: (-len(m.sightings), m.photo_id)))
            for g in ranked]
