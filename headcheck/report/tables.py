"""Derived tables the report writes into the store, so Datasette (and plain SQL) can filter and
count by label, site and month without re-running the judge:

- ``verdicts``: one row per photo with its label, confidence and leading reason;
- ``photo_sites``: one row per photo and site it was seen on, with the month first seen there.

They are a snapshot (``computed_at``): each report replaces both in one transaction, so a reader
sees the old tables or the new ones, never half of each. Their schema and statements are the
store's (``Store.replace_derived_tables``); this module makes the rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import __version__
from ..store import Store, now_iso
from .dataset import PhotoRow
from .stats import month_of


def write_tables(store: Store, photos: Iterable[PhotoRow]) -> int:
    """Replace ``verdicts`` and ``photo_sites``; returns the number of photos written."""
    stamp = now_iso()
    photos = list(photos)
    store.replace_derived_tables(
        ((p.photo_id, p.sha256, p.label, p.confidence, p.top_signal, p.detail, p.reasons,
          p.cluster_id, p.same_photo_group, p.pages, p.first_seen, p.month, stamp, __version__)
         for p in photos),
        ((p.photo_id, site, seen, month_of(seen))
         for p in photos for site, seen in p.sites.items()))
    return len(photos)
