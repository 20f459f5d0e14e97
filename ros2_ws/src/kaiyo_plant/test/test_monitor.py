"""PlantMonitor core: freshness, stale alarm, energy, sea-state schedule (tier 1, no ROS)."""
import math
from datetime import date

import numpy as np
import pytest

from kaiyo_plant.alarms import AlarmTransition
from kaiyo_plant.energy import jst_midnight_s
from kaiyo_plant.monitor import GENERATOR_UNKNOWN, MonitorConfig, PlantMonitor
from kaiyo_plant.waves import WaveComponents

T0 = jst_midnight_s(date(2026, 11, 29)) + 9 * 3600.0   # 09:00 JST


def reading(power=10.0, speed=900.0, state=1, breaker=1.0, eta=0.0, **extra):
    r = {'power_kw': power, 'generator_speed_rpm': speed, 'generator_voltage_v': 240.0,
         'generator_current_a': 25.0, 'generator_temperature_c': 40.0,
         'rudder_angle_deg': 3.0, 'generator_state': float(state),
         'breaker_closed': breaker, 'wave_elevation_m': eta, **extra}
    return r, {k: True for k in r}


def test_energy_status_and_fresh_flag():
    mon = PlantMonitor(MonitorConfig(rated_power_kw=40.0), start_time_s=0.0)
    for i in range(601):
        r, v = reading(power=20.0)
        mon.on_readings(T0 + i, arrival_s=i, readings=r, valid=v, age_s=0.1)
    st = mon.status(now_s=600.0)
    assert st.energy_total_kwh == pytest.approx(20.0 * 600 / 3600)
    assert st.energy_today_kwh == pytest.approx(st.energy_total_kwh)
    assert st.capacity_factor == pytest.approx(0.5)
    assert st.availability == pytest.approx(1.0)
    assert not st.data_stale and st.active_alarms == []
    assert st.generator_state == 1 and st.breaker_closed
    assert math.isnan(st.capture_width_ratio)     # no sea state yet


def test_stale_raised_by_clock_and_cleared_by_fresh_data():
    mon = PlantMonitor(MonitorConfig(stale_after_s=5.0), start_time_s=0.0)
    r, v = reading()
    mon.on_readings(T0, 0.0, r, v, 0.1)
    assert mon.on_clock(4.0) == []
    assert mon.on_clock(6.0) == [('stale_data', AlarmTransition.RAISED)]
    st = mon.status(6.0)
    assert st.data_stale and 'stale_data' in st.active_alarms
    assert st.generator_state == GENERATOR_UNKNOWN     # old values must not look current
    # Driver still publishing failed polls: invalid values and a growing age stay stale.
    r_bad = {k: math.nan for k in r}
    up = mon.on_readings(T0 + 8, 8.0, r_bad, {k: False for k in r}, age_s=8.0)
    assert up.transitions == [] and mon.status(8.0).data_stale
    up = mon.on_readings(T0 + 20, 20.0, r, v, age_s=0.2)
    assert up.transitions == [('stale_data', AlarmTransition.CLEARED)]
    assert not mon.status(20.5).data_stale
    # The stale span booked no energy: only the first second... and nothing since.
    assert mon.ledger.energy_total_kwh == pytest.approx(0.0)


def test_fault_and_open_breaker_are_unavailable_and_level_alarms_fire():
    mon = PlantMonitor(MonitorConfig(alarm_delay_s=1.0), start_time_s=0.0)
    for i in range(100):
        r, v = reading(power=0.0, state=2, breaker=0.0, speed=2000.0)
        mon.on_readings(T0 + i, i, r, v, 0.1)
    st = mon.status(100.0)
    assert st.availability == pytest.approx(0.0)
    assert st.generator_state == 2
    assert st.active_alarms == ['over_speed']


def test_sea_state_every_period_from_elevation_readings():
    cfg = MonitorConfig(sea_state_period_s=300.0, sea_state_record_s=600.0,
                        sea_state_segment_s=128.0, water_depth_m=20.0)
    mon = PlantMonitor(cfg, start_time_s=0.0)
    waves = WaveComponents.from_jonswap(1.2, 7.0, seed=4, duration_s=600.0, f_max_hz=0.7)
    rng = np.random.default_rng(1)
    times = T0 + np.arange(0, 1500, 0.5) + rng.uniform(-0.05, 0.05, 3000)   # poll jitter
    eta = waves.elevation(times - T0)
    results = []
    for i, (t, e) in enumerate(zip(times, eta, strict=True)):
        r, v = reading(eta=float(e))
        up = mon.on_readings(float(t), i * 0.5, r, v, 0.1)
        assert up.errors == []
        if up.sea_state is not None:
            results.append((up.sea_state_t, up.sea_state))
    # Boundaries of 300 s once a full 600-s record exists.
    assert [t % 300.0 for t, _ in results] == [0.0] * len(results)
    assert len(results) in (2, 3)     # 600 s only if the first poll came before T0
    for _, est in results:
        assert est.hs_m == pytest.approx(1.2, rel=0.05)
        assert est.tp_s == pytest.approx(7.0, rel=0.1)
    assert mon.status(1500.0).capture_width_ratio == pytest.approx(
        10.0 / (results[-1][1].energy_flux_kw_per_m * 5.0))


def test_gappy_wave_record_is_an_error_not_a_number():
    cfg = MonitorConfig(sea_state_period_s=300.0, sea_state_record_s=600.0,
                        sea_state_segment_s=128.0)
    mon = PlantMonitor(cfg, start_time_s=0.0)
    errors = []
    for t in np.arange(0, 1300, 0.5):
        if 700 < t < 760:
            continue                           # one minute lost from the gauge
        r, v = reading(eta=0.3 * math.sin(t))
        up = mon.on_readings(T0 + t, t, r, v, 0.1)
        errors += up.errors
        assert up.sea_state is None or not (700 < up.sea_state_t - T0 < 1360)
    assert any('gap of' in e for e in errors)


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match='over_speed_clear_rpm'):
        MonitorConfig(over_speed_rpm=100.0, over_speed_clear_rpm=200.0)
    with pytest.raises(ValueError, match='two Welch segments'):
        MonitorConfig(sea_state_record_s=300.0, sea_state_segment_s=256.0)
    with pytest.raises(ValueError, match='sea_state_kind'):
        MonitorConfig(sea_state_kind='wind')


def test_energy_today_follows_the_clock_when_data_stops():
    mon = PlantMonitor(MonitorConfig(), start_time_s=T0)
    for i in range(120):
        r, v = reading(power=30.0)
        mon.on_readings(T0 + i, T0 + i, r, v, 0.1)
    assert mon.status(T0 + 120).energy_today_kwh == pytest.approx(30.0 * 119 / 3600)
    mon.on_clock(T0 + 86400)          # silent until the next day (JST)
    st = mon.status(T0 + 86400)
    assert st.data_stale and st.energy_today_kwh == 0.0
    assert st.energy_total_kwh == pytest.approx(30.0 * 119 / 3600)


def test_sea_state_from_a_pressure_reading():
    cfg = MonitorConfig(sea_state_reading='gauge_pressure_pa', sea_state_kind='pressure',
                        sea_state_period_s=300.0, sea_state_record_s=600.0,
                        sea_state_segment_s=128.0, water_depth_m=20.0)
    mon = PlantMonitor(cfg, start_time_s=0.0)
    waves = WaveComponents.from_jonswap(1.0, 7.0, seed=6, duration_s=600.0, f_max_hz=0.7)
    ts = np.arange(0.5, 1300, 0.5)
    got = []
    for t, p in zip(ts, waves.pressure(ts, 20.0, 9.0), strict=True):
        r, v = reading(gauge_pressure_pa=float(p))
        up = mon.on_readings(T0 + t, t, r, v, 0.1)
        if up.sea_state is not None:
            got.append(up.sea_state)
    assert got and all(abs(e.hs_m - 1.0) < 0.05 for e in got)
    assert got[0].sensor_depth_m == pytest.approx(9.0, rel=0.01)
