"""Recent lookup results by (sha256, page_url, name), so a repeated lookup skips the analysis.

An entry is reused only while the index has not gained photos since it was computed (a new photo
can change the verdict) and for at most ``max_age`` seconds (new sightings of known photos can
too). Touched on the event loop only.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LookupCache:
    max_entries: int
    max_age: float
    hits: int = 0
    misses: int = 0
    _entries: OrderedDict[tuple[str, ...], tuple[int, float, Any]] = field(
        default_factory=OrderedDict)

    def get(self, key: tuple[str, ...], version: int) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version or time.monotonic() - entry[1] > self.max_age:
            if entry is not None:
                del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry[2]

    def put(self, key: tuple[str, ...], version: int, value: Any) -> None:
        if self.max_entries <= 0:
            return
        self._entries[key] = (version, time.monotonic(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
