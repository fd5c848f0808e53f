"""Per-client token buckets: ``burst`` requests at once, refilled at ``per_minute``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

MAX_CLIENTS = 10_000  # buckets kept; the idlest are dropped first (a full bucket loses nothing)


@dataclass
class RateLimiter:
    per_minute: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # tokens, updated

    def take(self, client: str, now: float | None = None) -> float | None:
        """Spend one token; returns None, or the seconds until a token is back if none is left."""
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        tokens, updated = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - updated) * rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            wait = None
        else:
            self._buckets[client] = (tokens, now)
            wait = (1.0 - tokens) / rate
        if len(self._buckets) > MAX_CLIENTS:
            del self._buckets[next(iter(self._buckets))]  # dicts keep insertion order: idlest
        return wait
