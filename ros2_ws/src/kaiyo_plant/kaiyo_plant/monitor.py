"""The plant monitor's logic (pure): readings in, status / energy / alarms / sea state out.

Two clocks, on purpose:
- data time (the readings' stamps) drives energy integration, daily energy, the rolling
  24-h figures, level alarms and the sea-state schedule, so a replay at any speed gives the
  same numbers as the live run;
- arrival time (the node's clock) drives the stale-data alarm, because a device that stops
  answering produces no stamps at all.

A reading set counts as fresh when the driver says its last full poll is younger than
`stale_after_s` and power was read. A set that is not fresh ends energy booking at its
stamp (a gap, never invented energy); the stale_data alarm is raised when no fresh set has
arrived for `stale_after_s`, and it clears on the first fresh set after the device returns.

Sea state: the configured reading (wave_elevation_m of the plant's gauge by default, or a
pressure reading) is buffered; every `sea_state_period_s` of data time the last
`sea_state_record_s` are checked for even sampling (short gaps interpolated, long ones
refused) and analysed (kaiyo_plant.spectra). Failures come back as data (`errors`).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from kaiyo_plant.alarms import AlarmBank, AlarmSpec, AlarmTransition, HysteresisAlarm
from kaiyo_plant.energy import EnergyError, EnergyLedger, MinuteBin, capture_width_ratio, jst_date
from kaiyo_plant.plant_model import FAULT, RUNNING, STOPPED
from kaiyo_plant.spectra import (
    RecordError,
    SeaStateEstimate,
    analyze_elevation,
    analyze_pressure,
    uniform_record,
)

GENERATOR_UNKNOWN = 3


class MonitorConfigError(ValueError):
    """Monitor settings that contradict each other; `name` is the setting to fix."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(message)


@dataclass(frozen=True)
class MonitorConfig:
    rated_power_kw: float = 45.0
    device_width_m: float = 5.0
    max_gap_s: float = 10.0            # longer gaps between readings book no energy, s
    stale_after_s: float = 5.0
    over_speed_rpm: float = 1800.0
    over_speed_clear_rpm: float = 1700.0
    over_voltage_v: float = 480.0
    over_voltage_clear_v: float = 460.0
    over_temperature_c: float = 110.0
    over_temperature_clear_c: float = 100.0
    alarm_delay_s: float = 2.0         # a level must persist this long to raise / clear, s
    alarm_min_on_s: float = 10.0
    alarm_min_off_s: float = 10.0
    sea_state_reading: str = 'wave_elevation_m'   # '' disables the monitor's own sea state
    sea_state_kind: str = 'elevation'  # elevation (m) | pressure (Pa, absolute)
    sea_state_period_s: float = 600.0
    sea_state_record_s: float = 1800.0
    sea_state_segment_s: float = 256.0
    sea_state_max_gap_samples: float = 3.0
    water_depth_m: float = 6.0
    atmospheric_pa: float = 101325.0

    def __post_init__(self) -> None:
        if self.sea_state_kind not in ('elevation', 'pressure'):
            raise MonitorConfigError('sea_state_kind', f"sea_state_kind "
                                     f"{self.sea_state_kind!r} must be 'elevation' or 'pressure'")
        if self.sea_state_record_s < 2 * self.sea_state_segment_s:
            raise MonitorConfigError('sea_state_record_s', f'sea_state_record_s '
                                     f'{self.sea_state_record_s} s must hold two Welch '
                                     f'segments (2 x {self.sea_state_segment_s} s)')
        for lo, hi in (('over_speed_clear_rpm', 'over_speed_rpm'),
                       ('over_voltage_clear_v', 'over_voltage_v'),
                       ('over_temperature_clear_c', 'over_temperature_c')):
            if getattr(self, lo) > getattr(self, hi):
                raise MonitorConfigError(lo, f'{lo} ({getattr(self, lo)}) must not exceed '
                                         f'{hi} ({getattr(self, hi)})')


@dataclass
class Status:
    """What the node publishes as PlantStatus (units as in the message)."""
    power_kw: float = float('nan')
    energy_today_kwh: float = 0.0
    energy_total_kwh: float = 0.0
    capacity_factor: float = float('nan')
    availability: float = float('nan')
    capture_width_ratio: float = float('nan')
    generator_speed_rpm: float = float('nan')
    generator_voltage_v: float = float('nan')
    generator_current_a: float = float('nan')
    generator_temperature_c: float = float('nan')
    rudder_angle_deg: float = float('nan')
    generator_state: int = GENERATOR_UNKNOWN
    breaker_closed: bool = False
    active_alarms: list[str] = field(default_factory=list)
    data_stale: bool = True


@dataclass
class Update:
    """What one batch of readings caused (the node logs / persists / publishes it)."""
    closed_bins: list[MinuteBin] = field(default_factory=list)
    sea_state: SeaStateEstimate | None = None
    sea_state_t: float = float('nan')
    transitions: list[tuple[str, AlarmTransition]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class PlantMonitor:
    STATUS_READINGS = ('generator_speed_rpm', 'generator_voltage_v', 'generator_current_a',
                       'generator_temperature_c', 'rudder_angle_deg')

    def __init__(self, cfg: MonitorConfig, start_time_s: float):
        self.cfg = cfg
        self.ledger = EnergyLedger(cfg.rated_power_kw, cfg.max_gap_s)
        d, mn, mf = cfg.alarm_delay_s, cfg.alarm_min_on_s, cfg.alarm_min_off_s
        self.alarms = AlarmBank({
            'generator_speed_rpm': AlarmSpec('over_speed', cfg.over_speed_rpm,
                                             cfg.over_speed_clear_rpm, d, d, mn, mf),
            'generator_voltage_v': AlarmSpec('over_voltage', cfg.over_voltage_v,
                                             cfg.over_voltage_clear_v, d, d, mn, mf),
            'generator_temperature_c': AlarmSpec('over_temperature', cfg.over_temperature_c,
                                                 cfg.over_temperature_clear_c, d, d, mn, mf),
        })
        # Stale: raised as soon as the age passes the limit, cleared by the first fresh set.
        self.stale = HysteresisAlarm(AlarmSpec('stale_data', cfg.stale_after_s,
                                               cfg.stale_after_s))
        self._last_fresh_arrival = start_time_s
        self.values: dict[str, float] = {}
        self.last_data_t: float | None = None
        self._wave: deque[tuple[float, float]] = deque()
        self._next_sea_state_t: float | None = None
        self.sea_state: SeaStateEstimate | None = None
        self.external_flux_kw_per_m = float('nan')
        self.dropped = 0

    # ---------------------------------------------------------------- inputs
    def on_readings(self, t_s: float, arrival_s: float, readings: dict[str, float],
                    valid: dict[str, bool], age_s: float) -> Update:
        """One NamedReadings message: t_s its stamp, arrival_s the node clock at arrival."""
        up = Update()
        good = {k: v for k, v in readings.items()
                if valid.get(k, False) and math.isfinite(v)}
        fresh = age_s <= self.cfg.stale_after_s and 'power_kw' in good
        self.values.update(good)
        if fresh:
            self._last_fresh_arrival = arrival_s
            tr = self.stale.update(arrival_s, 0.0)
            if tr is not None:
                up.transitions.append(('stale_data', tr))
            available = (good.get('breaker_closed', 0.0) >= 0.5
                         and int(good.get('generator_state', GENERATOR_UNKNOWN)) != FAULT)
            try:
                up.closed_bins = self.ledger.add(t_s, good['power_kw'], available)
            except EnergyError as err:
                self.dropped += 1
                up.errors.append(f'energy: {err}')
            else:
                self.last_data_t = t_s
        else:
            self.ledger.mark_gap(t_s)
        up.transitions += self.alarms.update(t_s, good)
        self._sea_state_input(t_s, good, up)
        return up

    def on_clock(self, now_s: float) -> list[tuple[str, AlarmTransition]]:
        """Periodic check on the node clock: raises stale_data when readings stop."""
        age = now_s - self._last_fresh_arrival
        tr = self.stale.update(now_s, age)
        # Energy is not cut here: booking follows data time only (a late message after a
        # transport hiccup still closes its interval; a real outage shows as a data-time gap
        # longer than max_gap_s, or as failed polls, which do cut it).
        return [('stale_data', tr)] if tr is not None else []

    def set_external_sea_state(self, flux_kw_per_m: float) -> None:
        self.external_flux_kw_per_m = flux_kw_per_m

    def restore(self, total_kwh: float, daily: dict, bins: list[MinuteBin]) -> None:
        self.ledger.restore(total_kwh, daily, bins)

    # ---------------------------------------------------------------- sea state
    def _sea_state_input(self, t_s: float, good: dict[str, float], up: Update) -> None:
        name = self.cfg.sea_state_reading
        if not name or name not in good:
            return
        if self._wave and t_s <= self._wave[-1][0]:
            return   # repeated or out-of-order stamp: the record must be monotonic
        self._wave.append((t_s, good[name]))
        keep_from = t_s - self.cfg.sea_state_record_s - 60.0
        while self._wave and self._wave[0][0] < keep_from:
            self._wave.popleft()
        period = self.cfg.sea_state_period_s
        if self._next_sea_state_t is None:
            # First analysis at a period boundary once a full record can exist.
            self._next_sea_state_t = (math.ceil((t_s + self.cfg.sea_state_record_s) / period)
                                      * period)
        if t_s < self._next_sea_state_t:
            return
        t_end = self._next_sea_state_t
        self._next_sea_state_t = (math.floor(t_s / period) + 1) * period
        try:
            up.sea_state = self.analyze(t_end)
            up.sea_state_t = t_end
            self.sea_state = up.sea_state
        except RecordError as err:
            up.errors.append(f'sea state at t={t_end:.0f}: {err}')

    def analyze(self, t_end: float) -> SeaStateEstimate:
        cfg = self.cfg
        t0 = t_end - cfg.sea_state_record_s
        pts = [(t, v) for t, v in self._wave if t0 < t <= t_end]
        if len(pts) < 4:
            raise RecordError(f'only {len(pts)} samples of {cfg.sea_state_reading} in the '
                              f'last {cfg.sea_state_record_s:.0f} s')
        t = np.array([p[0] for p in pts])
        x = np.array([p[1] for p in pts])
        step = float(np.median(np.diff(t)))
        late, early = t[0] - t0, t_end - t[-1]
        if max(late, early) > cfg.sea_state_max_gap_samples * step:
            raise RecordError(f'{cfg.sea_state_reading} covers only {t[-1] - t[0]:.0f} s of '
                              f'the {cfg.sea_state_record_s:.0f}-s record')
        x, fs = uniform_record(t, x, max_gap_samples=cfg.sea_state_max_gap_samples,
                               name=cfg.sea_state_reading)
        if cfg.sea_state_kind == 'pressure':
            return analyze_pressure(x, fs, cfg.water_depth_m, cfg.atmospheric_pa,
                                    segment_s=cfg.sea_state_segment_s)
        return analyze_elevation(x, fs, cfg.water_depth_m, cfg.sea_state_segment_s)

    # ---------------------------------------------------------------- output
    @property
    def flux_kw_per_m(self) -> float:
        if self.sea_state is not None:
            return self.sea_state.energy_flux_kw_per_m
        return self.external_flux_kw_per_m

    def status(self, now_s: float) -> Status:
        v = self.values
        st = Status()
        for name in self.STATUS_READINGS:
            setattr(st, name, v.get(name, float('nan')))
        st.power_kw = v.get('power_kw', float('nan'))
        st.energy_total_kwh = self.ledger.energy_total_kwh
        st.data_stale = self.stale.active or now_s - self._last_fresh_arrival > \
            self.cfg.stale_after_s
        t = self.last_data_t
        if t is not None:
            # "Today" follows the data, unless the data stopped: then the clock's day (an
            # outage past midnight must not keep showing yesterday's energy as today's).
            st.energy_today_kwh = self.ledger.energy_on(jst_date(now_s if st.data_stale
                                                                 else t))
            st.capacity_factor = self.ledger.capacity_factor(t)
            st.availability = self.ledger.availability(t)
        st.capture_width_ratio = capture_width_ratio(st.power_kw, self.flux_kw_per_m,
                                                     self.cfg.device_width_m)
        gs = v.get('generator_state')
        st.generator_state = (int(gs) if gs is not None and int(gs) in (STOPPED, RUNNING, FAULT)
                              else GENERATOR_UNKNOWN)
        st.breaker_closed = v.get('breaker_closed', 0.0) >= 0.5
        st.active_alarms = self.alarms.active + (['stale_data'] if self.stale.active else [])
        if st.data_stale:
            # Old values must not look current: report the plant state as unknown.
            st.generator_state = GENERATOR_UNKNOWN
        return st
