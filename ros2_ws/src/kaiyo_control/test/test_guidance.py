"""Tier 1: LOS guidance, current estimation, ferry glide."""
import math

import numpy as np
import pytest

from kaiyo_control.guidance import (
    CurrentEstimator,
    FerryGlide,
    GuidanceError,
    LosGuidance,
    LosParams,
    heading_for_course,
)


def test_los_geometry():
    los = LosGuidance(LosParams(lookahead_m=10.0, integral_gain=0.0))
    out = los.update((0, 0), (100, 0), (20, 10), 0.02)      # 10 m left of an eastward path
    assert out.cross_track_m == pytest.approx(10.0)
    assert out.along_track_m == pytest.approx(20.0)
    assert out.heading_rad == pytest.approx(-math.pi / 4)   # steer back right, 45 deg
    assert not out.finished
    assert los.update((0, 0), (100, 0), (98, 0), 0.02).finished


def test_integral_los_builds_crab_and_resets_on_new_leg():
    los = LosGuidance(LosParams(10.0, 0.5, 3.0))
    for _ in range(500):
        los.update((0, 0), (100, 0), (10, -2.0), 0.1)      # held 2 m right by a current
    assert los.y_int < 0
    assert los.update((0, 0), (100, 0), (10, 0.0), 0.1).heading_rad > 0   # crab left
    los.update((0, 0), (0, 100), (0, 10), 0.1)
    assert abs(los.y_int) < 0.1


def test_los_bad_path():
    with pytest.raises(GuidanceError, match='no length'):
        LosGuidance().update((1, 1), (1, 1), (0, 0), 0.1)
    with pytest.raises(GuidanceError, match='lookahead'):
        LosParams(lookahead_m=0.0)


def test_heading_for_course_crabs_into_current():
    # course east, current north 0.3, speed 0.5: head 37 deg right of east
    h = heading_for_course(0.0, 0.5, (0.0, 0.3))
    assert h == pytest.approx(-math.asin(0.6))
    g = 0.5 * np.array([math.cos(h), math.sin(h)]) + np.array([0.0, 0.3])
    assert abs(g[1]) < 1e-9 and g[0] > 0


def test_current_estimator_converges_with_heading_changes():
    rng = np.random.default_rng(1)
    est = CurrentEstimator(initial_speed_mps=0.3)
    c, s = np.array([0.1, 0.3]), 0.55
    for k in range(3000):
        psi = 1.5 * math.sin(k * 0.01)
        g = s * np.array([math.cos(psi), math.sin(psi)]) + c + rng.normal(0, 0.15, 2)
        est.update(g, psi, 0.02)
    assert np.allclose(est.current_enu, c, atol=0.05)
    assert est.speed_mps == pytest.approx(s, abs=0.05)


def test_ferry_glide_points_up_current_and_switches_side():
    fg = FerryGlide()
    cur = (0.0, 0.3)                                  # flowing north: up-current is south
    h = fg.heading((0, 0), (0, 0), cur, 0.5, (0.0, 0.0))
    up = -math.pi / 2
    assert abs(h - up) == pytest.approx(math.acos(0.3 / 0.5), abs=1e-6)
    side = fg.side
    # far past the station on the side it glides to: it must turn back
    far = (10.0, 0.0) if h > up else (-10.0, 0.0)
    fg.heading(far, (0, 0), cur, 0.5, (0.0, 0.0))
    assert fg.side == -side
    assert fg.heading((0, 0), (0, 0), (0.01, 0.0), 0.5) is None   # no current: not gliding
    fg.heading((0, 0), (0, 0), (0.0, 0.6), 0.5)
    assert not fg.feasible
