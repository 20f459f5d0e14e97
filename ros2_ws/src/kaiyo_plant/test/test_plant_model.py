"""The rudder-plant model: physics sanity and bad parameters (tier 1, no ROS)."""
import math

import numpy as np
import pytest

from kaiyo_plant.plant_model import (
    FAULT,
    RUNNING,
    PlantConfig,
    PlantModelError,
    RudderPlant,
    damping,
)
from kaiyo_plant.waves import WaveComponents


def run(hs, tp, seconds=600.0, **cfg):
    waves = WaveComponents.from_jonswap(hs, tp, seed=1, duration_s=1200.0, f_max_hz=0.5)
    plant = RudderPlant(waves, PlantConfig(**cfg))
    out = []
    for _ in range(int(seconds / 0.5)):
        plant.step(0.5)
        out.append(plant.readings())
    return plant, out


def test_power_grows_with_sea_and_capture_width_below_one():
    from kaiyo_plant.spectra import analyze_elevation
    means = []
    for hs in (0.5, 1.0):
        plant, out = run(hs, 7.0)
        p = np.mean([r['power_kw'] for r in out[120:]])
        est = analyze_elevation(np.array([r['wave_elevation_m'] for r in out]), 2.0, 6.0,
                                segment_s=128.0)
        cwr = p / (est.energy_flux_kw_per_m * plant.cfg.plate_width_m)
        assert 0.05 < cwr < 1.0           # cannot absorb more than arrives
        means.append(p)
    assert means[1] > 2.5 * means[0]       # ~Hs² scaling in the linear range


def test_readings_are_consistent_and_within_register_ranges():
    plant, out = run(2.0, 9.0, seconds=300.0)
    for r in out:
        assert 0.0 <= r['power_kw'] <= plant.cfg.power_limit_kw
        assert abs(r['rudder_angle_deg']) <= plant.cfg.max_angle_deg + 1e-9
        assert 0.0 <= r['generator_current_a'] <= plant.cfg.max_current_a
        if r['generator_state'] == RUNNING and r['generator_voltage_v'] > 50:
            p = math.sqrt(3) * r['generator_voltage_v'] * r['generator_current_a'] * 0.95
            assert p / 1000.0 == pytest.approx(r['power_kw'], rel=1e-6) or \
                r['generator_current_a'] == plant.cfg.max_current_a
    e = sum(r['power_kw'] for r in out) * 0.5 / 3600.0
    assert out[-1]['energy_total_kwh'] == pytest.approx(e, rel=0.05)


def test_fault_stops_power_and_opens_breaker():
    waves = WaveComponents.from_jonswap(1.0, 7.0, seed=2, duration_s=1200.0, f_max_hz=0.5)
    plant = RudderPlant(waves)
    plant.step(60.0)
    plant.fault = True
    plant.step(1.0)
    r = plant.readings()
    assert r['generator_state'] == FAULT and r['breaker_closed'] == 0.0 and r['power_kw'] == 0


def test_optimal_pto_matches_radiation_damping_at_resonance():
    cfg = PlantConfig(design_period_s=2 * math.pi * math.sqrt(2.0e5 / 1.6e5))
    b_rad, b_pto = damping(cfg)
    assert b_pto == pytest.approx(b_rad, rel=1e-6)


def test_bad_parameters_raise():
    with pytest.raises(PlantModelError, match='plate depth 8.0 m exceeds water depth'):
        PlantConfig(plate_depth_m=8.0)
    with pytest.raises(PlantModelError, match='generator_efficiency must be <= 1'):
        PlantConfig(generator_efficiency=1.2)
    waves = WaveComponents.from_jonswap(1.0, 7.0, seed=2, duration_s=1200.0, f_max_hz=0.5)
    with pytest.raises(PlantModelError, match='time step'):
        RudderPlant(waves).step(-1.0)
