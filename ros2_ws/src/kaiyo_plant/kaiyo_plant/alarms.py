"""Level alarms with hysteresis, persistence and minimum on/off times (pure).

A plain threshold chatters when a noisy signal sits near it: every noise spike toggles the
alarm, operators learn to ignore it. Each alarm here has
- a band: raise at `raise_at`, clear only at `clear_at` (below it for a high alarm), so noise
  smaller than the band cannot toggle it;
- persistence: the value must stay beyond `raise_at` for `raise_delay_s` (and beyond
  `clear_at` for `clear_delay_s`) before the state changes, so single spikes do not count;
- minimum on/off times: once raised it stays on at least `min_on_s`, once cleared it stays
  off at least `min_off_s`.
Time is the reading time (s), so behaviour is the same on live data and on replay.
NaN readings (value not read this poll) leave the alarm as it is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class AlarmTransition(Enum):
    RAISED = 'raised'
    CLEARED = 'cleared'


@dataclass(frozen=True)
class AlarmSpec:
    name: str               # alarm id reported in PlantStatus.active_alarms, e.g. 'over_speed'
    raise_at: float         # level that raises the alarm (unit of the watched value)
    clear_at: float         # level that clears it (below raise_at for a high alarm)
    raise_delay_s: float = 0.0
    clear_delay_s: float = 0.0
    min_on_s: float = 0.0
    min_off_s: float = 0.0
    high: bool = True       # True: alarm on high values; False: on low values

    def __post_init__(self) -> None:
        for field_name in ('raise_at', 'clear_at', 'raise_delay_s', 'clear_delay_s',
                           'min_on_s', 'min_off_s'):
            v = getattr(self, field_name)
            if not math.isfinite(v):
                raise ValueError(f'alarm {self.name!r}: {field_name} must be finite, got {v!r}')
        for field_name in ('raise_delay_s', 'clear_delay_s', 'min_on_s', 'min_off_s'):
            if getattr(self, field_name) < 0:
                raise ValueError(f'alarm {self.name!r}: {field_name} must be >= 0 s')
        if self.high and self.clear_at > self.raise_at:
            raise ValueError(f'alarm {self.name!r}: clear_at {self.clear_at} must be <= '
                             f'raise_at {self.raise_at} for a high alarm')
        if not self.high and self.clear_at < self.raise_at:
            raise ValueError(f'alarm {self.name!r}: clear_at {self.clear_at} must be >= '
                             f'raise_at {self.raise_at} for a low alarm')


class HysteresisAlarm:
    def __init__(self, spec: AlarmSpec):
        self.spec = spec
        self.active = False
        self._changed_at = -math.inf   # time of the last transition
        self._pending_since: float | None = None
        self.transitions = 0

    def _beyond_raise(self, v: float) -> bool:
        return v >= self.spec.raise_at if self.spec.high else v <= self.spec.raise_at

    def _beyond_clear(self, v: float) -> bool:
        return v < self.spec.clear_at if self.spec.high else v > self.spec.clear_at

    def update(self, t_s: float, value: float) -> AlarmTransition | None:
        """Feed one reading; return the transition it caused, if any."""
        if not math.isfinite(value):
            return None
        s = self.spec
        if not self.active:
            if not self._beyond_raise(value):
                self._pending_since = None
                return None
            if self._pending_since is None:
                self._pending_since = t_s
            if (t_s - self._pending_since >= s.raise_delay_s
                    and t_s - self._changed_at >= s.min_off_s):
                return self._flip(t_s, True)
            return None
        if not self._beyond_clear(value):
            self._pending_since = None
            return None
        if self._pending_since is None:
            self._pending_since = t_s
        if (t_s - self._pending_since >= s.clear_delay_s
                and t_s - self._changed_at >= s.min_on_s):
            return self._flip(t_s, False)
        return None

    def _flip(self, t_s: float, on: bool) -> AlarmTransition:
        self.active = on
        self._changed_at = t_s
        self._pending_since = None
        self.transitions += 1
        return AlarmTransition.RAISED if on else AlarmTransition.CLEARED


class AlarmBank:
    """The monitor's alarms, each watching one named reading."""

    def __init__(self, watches: dict[str, AlarmSpec]):
        # watches: reading name -> spec, e.g. {'generator_speed_rpm': AlarmSpec('over_speed',..)}
        self._alarms = {reading: HysteresisAlarm(spec) for reading, spec in watches.items()}

    def update(self, t_s: float, values: dict[str, float]) -> list[tuple[str, AlarmTransition]]:
        out = []
        for reading, alarm in self._alarms.items():
            if reading in values:
                tr = alarm.update(t_s, values[reading])
                if tr is not None:
                    out.append((alarm.spec.name, tr))
        return out

    @property
    def active(self) -> list[str]:
        return sorted(a.spec.name for a in self._alarms.values() if a.active)
