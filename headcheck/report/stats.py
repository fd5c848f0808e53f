"""Pure statistics for the report: Wilson intervals and prevalence of labels within groups."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from ..judge import LABELS

Z95 = 1.959963984540054  # two-sided 95% normal quantile
FLAGGED = "flagged"  # any label but "none"
PREVALENCE_LABELS = (*LABELS, FLAGGED)
UNKNOWN = "(unknown)"
LOCAL_FILE = "(local file)"
_MONTH = re.compile(r"^(\d{4})-(\d{2})")


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials.

    Unlike the normal approximation it stays inside [0, 1] and is not empty at k = 0 or k = n,
    which matters here: most sites and months have few or no flagged photos.
    """
    if n <= 0:
        raise ValueError("the Wilson interval needs at least one trial")
    if not 0 <= k <= n:
        raise ValueError(f"successes ({k}) must lie between 0 and trials ({n})")
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # At k = 0 and k = n the bound is exactly 0 or 1; rounding must not push it off.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class Proportion:
    k: int
    n: int
    low: float
    high: float

    @property
    def share(self) -> float:
        return self.k / self.n


def proportion(k: int, n: int) -> Proportion:
    return Proportion(k, n, *wilson(k, n))


@dataclass(frozen=True)
class PrevalenceRow:
    """Share of each label among the photos of one group (a site, a month, or all)."""

    group: str
    n: int
    by_label: dict[str, Proportion]


def prevalence(units: Iterable[tuple[str, str]]) -> list[PrevalenceRow]:
    """Rows per group from (group, label) units, largest group first, then by name.

    Each unit is one photo in one group; "flagged" counts every label but "none".
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for group, label in units:
        counts[group][label] += 1
        if label != "none":
            counts[group][FLAGGED] += 1
    rows = []
    for group, c in counts.items():
        n = sum(c[label] for label in LABELS)
        rows.append(PrevalenceRow(group, n, {lab: proportion(c[lab], n)
                                             for lab in PREVALENCE_LABELS}))
    return sorted(rows, key=lambda r: (-r.n, r.group))


def site_of(url: str) -> str:
    """The site a page belongs to: its host name, lower case, without a leading "www."."""
    url = url.strip()
    # Parse each origin once: a large store has millions of pages on a few thousand sites.
    start = url.find("://")
    end = url.find("/", start + 3) if start >= 0 else -1
    return _site_of_origin(url if end < 0 else url[:end])


@lru_cache(maxsize=65536)
def _site_of_origin(origin: str) -> str:
    try:
        parts = urlsplit(origin)
        host = parts.hostname
    except ValueError:
        return UNKNOWN
    if parts.scheme == "file":
        return LOCAL_FILE
    if not host:
        return UNKNOWN
    return host.removeprefix("www.")


def month_of(timestamp: str | None) -> str:
    """"YYYY-MM" of an ISO timestamp, or "(unknown)"."""
    m = _MONTH.match(timestamp or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        return UNKNOWN
    return f"{m.group(1)}-{m.group(2)}"


def median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2
