"""Replay timing (pure): map recorded log time to wall time at a playback rate.

The replay node pulls messages from `bag.iter_bag` and asks `ReplayClock.due(now)` which are
due; nothing here sleeps, so the node keeps spinning (and answers Ctrl-C) while it waits.
"""
from __future__ import annotations

from dataclasses import dataclass


class ReplayError(ValueError):
    """A replay option is out of range."""


@dataclass
class ReplayClock:
    """Bag time <-> monotonic time at `rate` (1.0 = as recorded, 2.0 = twice as fast).

    bag_start_ns: log time of the first message, ns. start_s: monotonic time at which that
    message is due, s.
    """

    bag_start_ns: int
    start_s: float
    rate: float = 1.0

    def __post_init__(self) -> None:
        if not (self.rate > 0.0 and self.rate < float('inf')):
            raise ReplayError(f'rate {self.rate!r} must be a positive number (1.0 = real time)')

    def due_s(self, log_time_ns: int) -> float:
        """Monotonic time (s) at which a message logged at `log_time_ns` should be published."""
        return self.start_s + (log_time_ns - self.bag_start_ns) / 1e9 / self.rate

    def bag_time_ns(self, now_s: float) -> int:
        """Bag time (ns) shown on /clock at monotonic time `now_s`."""
        return self.bag_start_ns + int(max(0.0, now_s - self.start_s) * self.rate * 1e9)
