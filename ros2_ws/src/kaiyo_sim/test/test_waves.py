"""Tier 1: JONSWAP sea and the wave boat's hull forces."""
import math

import numpy as np
import pytest

from kaiyo_common.vehicles import load_vehicle
from kaiyo_sim.fossen import FossenModel, VehicleState
from kaiyo_sim.waves import (
    Sea,
    SeaState,
    SeaStateError,
    WaveBoatHull,
    jonswap,
    significant_wave_height,
    wave_number,
)


def test_jonswap_integrates_to_hs():
    w = np.linspace(0.05, 10.0, 200000)
    m0 = np.trapezoid(jonswap(w, 2.0, 9.0), w)
    assert 4 * math.sqrt(m0) == pytest.approx(2.0, rel=0.01)


def test_dispersion_deep_and_shallow_limits():
    w = 2 * math.pi / 8.0
    assert wave_number(w, 1000.0) == pytest.approx(w * w / 9.81, rel=1e-6)
    assert wave_number(w, 0.5) == pytest.approx(w / math.sqrt(9.81 * 0.5), rel=0.02)


@pytest.mark.parametrize('hs, tp, seed', [(1.0, 8.0, 1), (2.5, 11.0, 7), (0.4, 5.0, 3)])
def test_30_minute_record_has_requested_hs_within_5_percent(hs, tp, seed):
    sea = Sea(SeaState(hs_m=hs, tp_s=tp, seed=seed))
    t = np.arange(0.0, 1800.0, 0.25)
    eta = sea.record(12.0, -30.0, t)
    assert significant_wave_height(eta) == pytest.approx(hs, rel=0.05)
    # and the record's peak period is where we asked for it
    f = np.fft.rfftfreq(t.size, 0.25)
    spec = np.abs(np.fft.rfft(eta)) ** 2
    smooth = np.convolve(spec, np.ones(41) / 41, mode='same')
    assert 1.0 / f[np.argmax(smooth)] == pytest.approx(tp, rel=0.15)


def test_same_seed_same_sea_other_seed_differs():
    a, b, c = Sea(SeaState(seed=4)), Sea(SeaState(seed=4)), Sea(SeaState(seed=5))
    assert a.elevation(3, 4, 10.0) == b.elevation(3, 4, 10.0)
    assert a.elevation(3, 4, 10.0) != c.elevation(3, 4, 10.0)


def test_waves_travel_away_from_their_direction():
    # waves FROM the south (180 deg) travel north: the crest moves +y over time
    sea = Sea(SeaState(hs_m=1.0, tp_s=8.0, direction_deg=180.0, spreading_s=0.0,
                       components=1, seed=2))
    assert sea.ky[0] > 0 and abs(sea.kx[0]) < 1e-9 * sea.ky[0] + 1e-12


@pytest.mark.parametrize('field, value', [('hs_m', -1.0), ('tp_s', 0.0), ('gamma', 0.5),
                                          ('components', 0), ('depth_m', 0.0)])
def test_bad_sea_state_is_refused(field, value):
    with pytest.raises(SeaStateError, match=field):
        SeaState(**{field: value})


def _sail(sea, seconds, rudder_deg=0.0, dt=0.02):
    p = load_vehicle('wave_boat')
    model = FossenModel(p)
    hull = WaveBoatHull(p.surface, p.mass_kg, float(p.collision_box_m[2]))
    s = VehicleState.at_rest([0.0, 0.0, 0.0], yaw_rad=math.pi / 2)
    harvest, turned = [], 0.0
    for _ in range(int(seconds / dt)):
        hull.step_rudder(rudder_deg, dt)
        hf = hull.forces(s.position, s.rotation(), s.velocity, sea, s.time_s)
        harvest.append(hf.harvest_w)
        s = model.step(s, hf.wrench, [0, 0, 0], dt)
        turned += s.velocity[5] * dt      # accumulated yaw, rad (no wrapping)
    return s, float(np.mean(harvest)), turned


def test_wave_boat_floats_at_its_draft_in_calm_water():
    s, _, _ = _sail(None, 30.0)
    assert s.position[2] == pytest.approx(0.0, abs=0.01)  # design waterline
    assert abs(s.velocity[0]) < 1e-3                       # no waves: no foil thrust


def test_wave_boat_is_propelled_by_waves_and_steers_with_rudder():
    sea = Sea(SeaState(hs_m=1.0, tp_s=8.0, seed=11))
    s, harvest, _ = _sail(sea, 150.0)
    dist = math.hypot(*s.position[:2])
    assert 0.3 * 150 < dist < 1.2 * 150   # 0.3-1.2 m/s average: Wave Glider-like
    assert harvest > load_vehicle('wave_boat').surface.solar_w  # PTO adds to solar
    _, _, to_port = _sail(sea, 60.0, rudder_deg=20.0)
    _, _, to_stbd = _sail(sea, 60.0, rudder_deg=-20.0)
    assert to_port > math.pi and to_stbd < -math.pi   # turned round either way


def test_orbital_motion_matches_airy_theory_and_moves_a_neutral_vehicle():
    # one long-crested component: a = 0.5 m, T = 8 s, over 20 m of water
    sea = Sea(SeaState(hs_m=1.0, tp_s=8.0, direction_deg=270.0, spreading_s=0.0,
                       components=1, seed=3, depth_m=20.0))
    a, w, k = sea.amplitude[0], sea.omega[0], sea.k[0]
    z, h = -8.0, 20.0
    expect_u = a * w * math.cosh(k * (z + h)) / math.sinh(k * h)
    expect_w = a * w * math.sinh(k * (z + h)) / math.sinh(k * h)
    ts = np.arange(0.0, 2 * math.pi / w, 0.05)
    vel = np.array([sea.orbital(0.0, 0.0, z, t, h)[0] for t in ts])
    assert np.max(np.abs(vel[:, 0])) == pytest.approx(expect_u, rel=0.01)   # waves go east
    assert np.max(np.abs(vel[:, 1])) < 1e-9
    assert np.max(np.abs(vel[:, 2])) == pytest.approx(expect_w, rel=0.01)
    # the surface particle moves with the elevation: w(z=0) = d eta / dt
    _, deta_dt, _, _ = sea.kinematics(0.0, 0.0, 1.3)
    assert sea.orbital(0.0, 0.0, 0.0, 1.3, h)[0][2] == pytest.approx(deta_dt, rel=1e-6)
    # a neutrally buoyant vehicle, released at rest, is carried by the water: its surge
    # speed swings with the orbital velocity (Froude-Krylov + added-mass inertia + drag)
    p = load_vehicle('hover_auv').with_neutral_ballast()
    model = FossenModel(p)
    s = VehicleState.at_rest([0.0, 0.0, z])
    us, zs = [], []
    dt = 0.04
    for _ in range(int(32.0 / dt)):
        u_f, a_f = sea.orbital(s.position[0], s.position[1], s.position[2], s.time_s, h)
        s = model.step(s, model.fluid_inertia_wrench(s.position, s.rotation(), a_f), u_f, dt)
        us.append(s.velocity[0])
        zs.append(s.position[2])
    last = slice(-200, None)                                   # the last two periods
    assert 0.5 * (max(us[last]) - min(us[last])) == pytest.approx(expect_u, rel=0.05)
    heave = 0.5 * (max(zs[last]) - min(zs[last]))
    assert heave == pytest.approx(expect_w / w, rel=0.2)      # bobs with the water
    assert np.mean(zs[last]) == pytest.approx(z, abs=0.15)     # about its depth
