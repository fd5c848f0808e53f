"""The SQLite store (through sqlite-utils): photos by sha256, where they were seen, their hashes,
signals and relations. WAL mode, so a server can read while a crawl writes.

Every SQL statement on these tables lives in this package (tests/core/test_layering.py checks it),
split by concern: ``writes`` (one transaction per unit of work), ``reads`` (lookups and bulk
verdicts), ``research`` (report aggregates and derived tables), ``privacy`` (forgetting,
retention), ``feedback`` (the server's answers), ``migrations`` (the schema).
"""

from __future__ import annotations

from .base import AddResult, Sighting, hex_to_int64, now_iso
from .feedback import Feedback
from .privacy import Privacy
from .reads import Reads
from .research import Research
from .writes import Writes

__all__ = ["AddResult", "Sighting", "Store", "hex_to_int64", "now_iso"]


class Store(Writes, Reads, Research, Privacy, Feedback):
    """The one object that reads and writes the database."""
