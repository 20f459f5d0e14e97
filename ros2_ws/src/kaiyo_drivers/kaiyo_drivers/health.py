"""Driver health in plain words (pure): the content of a diagnostic_msgs/DiagnosticStatus.

Levels match diagnostic_msgs (OK 0, WARN 1, ERROR 2, STALE 3). `link_health` turns a link's
state, the age of the last good frame and the bad-frame counters into one status whose
message says *why* the driver is unhappy, e.g. "disconnected: cannot open serial /dev/ttyUSB0
...; retrying" or "no valid frame for 3.2 s (stale after 2.0 s)".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from kaiyo_drivers.link import LinkState, LinkStats

OK, WARN, ERROR, STALE = 0, 1, 2, 3


@dataclass(frozen=True)
class Health:
    level: int
    message: str
    values: dict = field(default_factory=dict)   # key -> str, shown as KeyValue pairs


def link_health(stats: LinkStats, now: float, last_good_monotonic: float,
                stale_after_s: float, good: int, bad: int, extra: dict | None = None) -> Health:
    """Health of a streaming driver from its link and frame counters."""
    age = now - last_good_monotonic if math.isfinite(last_good_monotonic) else math.inf
    values = {'link': stats.state.value, 'connects': str(stats.connects),
              'disconnects': str(stats.disconnects), 'bytes_in': str(stats.bytes_in),
              'good_frames': str(good), 'bad_frames': str(bad),
              'last_good_age_s': f'{age:.2f}', 'last_error': stats.last_error}
    values.update(extra or {})
    if stats.state != LinkState.CONNECTED:
        why = stats.last_error or 'not connected yet'
        return Health(ERROR, f'{stats.state.value}: {why}; retrying', values)
    if age > stale_after_s:
        # garbage instead of frames usually means a wrong baud rate or protocol setting
        why = f'; {bad} bad frames dropped (last: {values.get("last_bad_frame", "")})' \
            if bad else ''
        if math.isinf(age):
            return Health(STALE, f'connected, no valid frame yet{why}', values)
        return Health(STALE, f'no valid frame for {age:.1f} s (stale after {stale_after_s} s)'
                      f'{why}', values)
    if bad and bad * 10 > good:
        return Health(WARN, f'{bad} bad frames dropped vs {good} good', values)
    return Health(OK, 'receiving', values)
