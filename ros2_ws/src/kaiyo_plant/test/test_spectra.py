"""Sea-state estimation on synthetic JONSWAP records of known Hs / Tp (tier 1, no ROS)."""
import math

import numpy as np
import pytest

from kaiyo_plant.spectra import (
    RecordError,
    analyze_elevation,
    analyze_pressure,
    load_record_csv,
    mean_direction,
    uniform_record,
)
from kaiyo_plant.waves import (
    RHO_SEAWATER,
    G,
    WaveComponents,
    WaveInputError,
    group_velocity,
    jonswap,
    pressure_transfer,
    wavenumber,
)

FS = 2.0                       # Hz
T = np.arange(0.0, 1800.0, 1.0 / FS)   # 30-min record
CASES = [(1.0, 8.0), (2.5, 11.0), (0.6, 5.5)]   # (Hs m, Tp s): wind sea to swell
SEEDS = [0, 1, 2, 3]


@pytest.mark.parametrize('hs,tp', CASES)
def test_elevation_record_hs_within_3pct_tp_within_one_bin(hs, tp):
    for seed in SEEDS:
        waves = WaveComponents.from_jonswap(hs, tp, seed=seed, duration_s=1800.0, f_max_hz=0.7)
        est = analyze_elevation(waves.elevation(T), FS, depth_m=20.0)
        assert abs(est.hs_m / hs - 1.0) < 0.03, (seed, est.hs_m)
        assert abs(1.0 / est.tp_s - 1.0 / tp) <= est.df_hz, (seed, est.tp_s)
        assert est.record_duration_s == pytest.approx(1800.0)
        assert est.tz_s < est.te_s < est.tp_s     # ordering holds for any JONSWAP sea


@pytest.mark.parametrize('hs,tp,sensor_depth', [(1.0, 8.0, 8.0), (2.0, 10.0, 12.0),
                                                (0.8, 6.0, 6.0)])
def test_pressure_record_depth_corrected_hs_within_5pct(hs, tp, sensor_depth):
    for seed in SEEDS[:3]:
        waves = WaveComponents.from_jonswap(hs, tp, seed=seed, duration_s=1800.0, f_max_hz=0.7)
        p = waves.pressure(T, depth_m=20.0, sensor_depth_m=sensor_depth)
        est = analyze_pressure(p, FS, depth_m=20.0)
        assert abs(est.hs_m / hs - 1.0) < 0.05, (seed, est.hs_m)
        assert abs(1.0 / est.tp_s - 1.0 / tp) <= est.df_hz
        assert est.sensor_depth_m == pytest.approx(sensor_depth, rel=1e-3)
        # The cut-off is where K_p reaches kp_min (0.1 by default).
        kp = pressure_transfer([est.cutoff_hz, est.cutoff_hz + est.df_hz], 20.0, sensor_depth)
        assert kp[0] >= 0.1 > kp[1]


def test_uncorrected_pressure_would_underestimate():
    """The correction matters: raw pressure head underestimates Hs at depth."""
    waves = WaveComponents.from_jonswap(1.0, 7.0, seed=5, duration_s=1800.0, f_max_hz=0.7)
    p = waves.pressure(T, depth_m=20.0, sensor_depth_m=12.0)
    head = (p - 101325.0) / (RHO_SEAWATER * G)
    raw = analyze_elevation(head, FS)
    corrected = analyze_pressure(p, FS, depth_m=20.0)
    assert raw.hs_m < 0.8
    assert abs(corrected.hs_m - 1.0) < 0.05


def test_gauge_pressure_and_wrong_kind_is_refused():
    waves = WaveComponents.from_jonswap(1.0, 8.0, seed=1, duration_s=1800.0, f_max_hz=0.7)
    p_gauge = waves.pressure(T, 20.0, 8.0, atmospheric_pa=0.0)
    est = analyze_pressure(p_gauge, FS, 20.0, atmospheric_pa=None)
    assert abs(est.hs_m - 1.0) < 0.05
    # Treating an absolute record as gauge puts the sensor ~10 m deeper than the bed.
    p_abs = waves.pressure(T, 20.0, 15.0)
    with pytest.raises(RecordError, match='outside the water column'):
        analyze_pressure(p_abs, FS, 20.0, atmospheric_pa=None)
    # 200 m down in 210 m of water, 8-s waves leave no measurable pressure signal.
    deep = waves.pressure(T, 210.0, 200.0)
    with pytest.raises(RecordError, match='too deep'):
        analyze_pressure(deep, FS, 210.0)


def test_energy_flux_deep_water_matches_closed_form_and_depth_correction():
    waves = WaveComponents.from_jonswap(2.0, 9.0, seed=2, duration_s=1800.0, f_max_hz=0.7)
    eta = waves.elevation(T)
    deep = analyze_elevation(eta, FS, depth_m=math.inf)
    assert deep.energy_flux_kw_per_m == pytest.approx(deep.energy_flux_deep_kw_per_m, rel=1e-6)
    # J ≈ 0.49 Hs² Te kW/m in deep water (the rule of thumb from the same formula).
    assert deep.energy_flux_kw_per_m == pytest.approx(0.4906 * deep.hs_m ** 2 * deep.te_s,
                                                      rel=0.01)
    shallow = analyze_elevation(eta, FS, depth_m=3.0)
    # In 3 m of water c_g is near √(gh), below the deep-water c_g of 9-s waves.
    assert shallow.energy_flux_kw_per_m < 0.8 * deep.energy_flux_kw_per_m


def test_mean_direction_from_velocities():
    for d in (30.0, 200.0, 315.0):
        waves = WaveComponents.from_jonswap(1.0, 8.0, seed=3, duration_s=1800.0, f_max_hz=0.7,
                                            direction_from_deg=d, spread_deg=15.0)
        u, v = waves.velocities(T, 20.0, z_m=-4.0)
        got = mean_direction(waves.elevation(T), u, v, FS)
        assert abs((got - d + 180.0) % 360.0 - 180.0) < 3.0


def test_short_gappy_and_nan_records_are_refused_with_position():
    with pytest.raises(RecordError, match='at least two Welch segments'):
        analyze_elevation(np.zeros(100), FS)
    x = np.sin(np.arange(3600) * 0.3)
    x[1234] = np.nan
    with pytest.raises(RecordError, match='index 1234'):
        analyze_elevation(x, FS)
    with pytest.raises(RecordError, match='no wave energy'):
        analyze_elevation(np.zeros(3600), FS)
    t = np.arange(100.0)
    t[50:] += 10.0
    with pytest.raises(RecordError, match='gap of 11 s after sample 49'):
        uniform_record(t, np.zeros(100))


def test_uniform_record_resamples_jitter():
    rng = np.random.default_rng(0)
    t = np.arange(0, 600, 0.5) + rng.uniform(-0.1, 0.1, 1200)
    x, fs = uniform_record(t, np.sin(0.3 * t), max_gap_samples=3)
    assert fs == pytest.approx(2.0, rel=0.01)
    grid = t[0] + np.arange(x.size) / fs
    assert np.max(np.abs(x - np.sin(0.3 * grid))) < 0.01   # linear interpolation: h²ω²/8


def test_csv_loading_errors_name_file_and_line(tmp_path):
    p = tmp_path / 'rec.csv'
    p.write_text('time,elevation_m\n0,0.1\n0.5,abc\n')
    with pytest.raises(RecordError, match=r'rec.csv: line 3: elevation_m .abc. is not a number'):
        load_record_csv(p)
    p.write_text('t,eta\n0,1\n')
    with pytest.raises(RecordError, match='line 1: header'):
        load_record_csv(p)
    with pytest.raises(RecordError, match='cannot open'):
        load_record_csv(tmp_path / 'missing.csv')
    waves = WaveComponents.from_jonswap(1.0, 8.0, seed=0, duration_s=1800.0, f_max_hz=0.7)
    lines = ['time,elevation_m'] + [f'2026-11-29T00:{int(t) // 60:02d}:{t % 60:04.1f}Z,{e:.4f}'
                                    for t, e in zip(T, waves.elevation(T), strict=True)]
    p.write_text('\n'.join(lines) + '\n')
    rec = load_record_csv(p)
    assert rec.kind == 'elevation_m' and rec.sample_rate_hz == pytest.approx(2.0)
    assert rec.values.size == T.size


def test_wave_physics_limits_and_bad_arguments():
    f = np.array([0.05, 0.1, 0.3])
    k = wavenumber(f, 20.0)
    assert np.allclose((2 * np.pi * f) ** 2, G * k * np.tanh(k * 20.0), rtol=1e-10)
    assert group_velocity([0.01], 4.0)[0] == pytest.approx(math.sqrt(G * 4.0), rel=0.01)
    assert group_velocity([0.5], 20.0)[0] == pytest.approx(G / (4 * math.pi * 0.5), rel=1e-6)
    s = jonswap(np.linspace(0.01, 2.0, 40000), 2.0, 10.0)
    assert 4 * math.sqrt(np.trapezoid(s, np.linspace(0.01, 2.0, 40000))) == \
        pytest.approx(2.0, rel=1e-3)
    with pytest.raises(WaveInputError, match='depth_m'):
        wavenumber([0.1], -3.0)
    with pytest.raises(WaveInputError, match='hs_m'):
        jonswap([0.1], 0.0, 8.0)
    with pytest.raises(WaveInputError, match='sensor depth'):
        pressure_transfer([0.1], 20.0, 25.0)


def test_batched_welch_equals_scipy_welch():
    from scipy import signal

    from kaiyo_plant.spectra import _welch
    rng = np.random.default_rng(0)
    for n, nperseg in ((3600, 512), (3601, 511), (1000, 128)):
        x = rng.normal(size=n)
        f, s, _ = _welch(x, 2.0, nperseg)
        f2, s2 = signal.welch(x, 2.0, 'hann', nperseg, nperseg // 2, detrend='linear')
        assert np.allclose(f, f2) and np.allclose(s, s2, rtol=1e-10, atol=0)
