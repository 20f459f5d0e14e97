"""Tier 1: camera footprint, boustrophedon lines, estimate and GeoJSON (no ROS)."""
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaiyo_common.vehicles import load_vehicle
from kaiyo_mission import geometry
from kaiyo_mission.planner import (
    PlanError,
    best_heading_yaw,
    cruise_power_w,
    footprint_width,
    line_spacing,
    plan_to_geojson,
    survey_lines,
)
from kaiyo_mission.validator import validate_file

REPO = Path(__file__).resolve().parents[4]
EXAMPLE = REPO / 'missions' / 'isoyake_survey.yaml'


@pytest.fixture(scope='module')
def auv():
    return load_vehicle('hover_auv')


def test_footprint_of_a_down_looking_camera_matches_pinhole_geometry(auv):
    cam = auv.camera
    drop = 2.0 + cam.mounting.position_m[2]           # camera height above the seabed
    # straight down: width = drop * (image width / fx), exactly (rays through cx +- W/2)
    expected = drop * (cam.cx / cam.fx + (cam.width - cam.cx) / cam.fx)
    assert footprint_width(cam, 2.0) == pytest.approx(expected, rel=1e-9)
    assert line_spacing(cam, 2.0, 0.3) == pytest.approx(0.7 * expected)
    # footprint grows linearly with height above the seabed
    assert footprint_width(cam, 4.0) > footprint_width(cam, 2.0)


def test_camera_at_the_seabed_or_looking_up_is_a_plan_error(auv):
    cam = auv.camera
    with pytest.raises(PlanError, match='at or below the seabed'):
        footprint_width(cam, 0.2)
    up = replace(cam, mounting=replace(cam.mounting, rpy_rad=np.array([0.0, -math.pi / 2, 0.0])))
    with pytest.raises(PlanError, match='does not look down'):
        footprint_width(up, 2.0)
    with pytest.raises(PlanError, match='overlap'):
        line_spacing(cam, 2.0, 1.0)


def test_oblique_camera_robot_footprint_is_wider_than_straight_down():
    robot = load_vehicle('camera_robot')
    # tilted forward: the centre row is seen at a slant range longer than the altitude
    w = footprint_width(robot.camera, 2.0)
    drop = 2.0 + robot.camera.mounting.position_m[2]
    assert w > drop * robot.camera.width / robot.camera.fx


def test_boustrophedon_covers_a_rectangle_with_alternating_lines():
    rect = [(0.0, 0.0), (40.0, 0.0), (40.0, 10.0), (0.0, 10.0)]
    yaw = best_heading_yaw(rect, 2.0)
    assert yaw == pytest.approx(0.0)                  # lines along the long side
    lines = survey_lines(rect, 2.0, yaw)
    assert len(lines) == 5
    ys = [a[1] for a, _ in lines]
    assert ys == pytest.approx([1.0, 3.0, 5.0, 7.0, 9.0])   # centred: 1 m overhang each side
    for k, (a, b) in enumerate(lines):
        assert (b[0] - a[0]) * (1 if k % 2 == 0 else -1) == pytest.approx(40.0)


@settings(max_examples=40, deadline=None)
@given(st.floats(5, 200), st.floats(5, 200), st.floats(0, 179), st.floats(0.5, 10))
def test_every_point_of_a_rectangle_is_within_half_spacing_of_a_line(w, h, deg, spacing):
    rect = [geometry.rotate(p, math.radians(deg)) for p in
            [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)]]
    lines = survey_lines(rect, spacing, best_heading_yaw(rect, spacing))
    rng = np.random.default_rng(0)
    for u, v in rng.uniform(0, 1, size=(50, 2)):
        p = geometry.rotate((u * w, v * h), math.radians(deg))
        d = min(_dist_to_segment(p, a, b) for a, b in lines)
        assert d <= spacing / 2 + 1e-6


def _dist_to_segment(p, a, b):
    ax, ay = b[0] - a[0], b[1] - a[1]
    len2 = ax * ax + ay * ay
    t = 0.0 if len2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * ax + (p[1] - a[1]) * ay) / len2))
    return math.hypot(p[0] - a[0] - t * ax, p[1] - a[1] - t * ay)


def test_concave_polygon_splits_lines_at_the_notch():
    u_shape = [(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)]
    lines = survey_lines(u_shape, 2.0, math.pi / 2)   # lines north-south... along y
    lines_x = survey_lines(u_shape, 2.0, 0.0)         # lines east-west cross the notch
    assert len(lines_x) > math.ceil(30 / 2.0)         # split in two above y = 10
    for a, b in lines + lines_x:
        for t in np.linspace(0, 1, 21):
            p = (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))
            assert geometry.point_in_polygon(p, u_shape) or \
                geometry.distance_to_polygon_edge(p, u_shape) <= 1.0 + 1e-6   # half a spacing


def test_too_many_lines_is_refused():
    big = [(0, 0), (50000, 0), (50000, 50000), (0, 50000)]
    with pytest.raises(PlanError, match='survey lines'):
        survey_lines(big, 0.5, 0.0)


def test_power_model_grows_with_speed(auv):
    assert cruise_power_w(auv, 0.0) >= auv.battery.hotel_load_w
    assert cruise_power_w(auv, 0.6) > cruise_power_w(auv, 0.3) > cruise_power_w(auv, 0.0)


def test_geojson_of_the_example(tmp_path):
    report = validate_file(EXAMPLE)
    gj = plan_to_geojson(report.mission, report.plan)
    json.dumps(gj)                                    # serialisable
    roles = [f['properties']['role'] for f in gj['features']]
    assert roles.count('geofence') == 1 and roles.count('survey_area') == 1
    assert roles.count('survey_line') == len(report.plan.lines()) > 5
    for f in gj['features']:
        coords = np.array(f['geometry']['coordinates'], dtype=object)
        flat = np.array(list(_flatten(f['geometry']['coordinates']))).reshape(-1, 2)
        assert np.all((139.3 < flat[:, 0]) & (flat[:, 0] < 139.4)), coords   # lon first
        assert np.all((35.2 < flat[:, 1]) & (flat[:, 1] < 35.4))


def _flatten(c):
    if isinstance(c, (int, float)):
        yield c
    else:
        for x in c:
            yield from _flatten(x)
