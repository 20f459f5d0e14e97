"""Tier 1: sensor models and the camera, against the physics they claim."""
import dataclasses
import math

import numpy as np
import pytest
import yaml

from kaiyo_common.geodesy import TOWER
from kaiyo_common.vehicles import load_vehicle
from kaiyo_sim import sensors as sn
from kaiyo_sim.camera import CameraError, UnderwaterCamera
from kaiyo_sim.fossen import VehicleState
from kaiyo_sim.world import CLASS_BARE, CLASS_WATER, Bathymetry, load_world, world_from_dict


def _flat(depth):
    return Bathymetry(depth, 0.0, 0.0, 0.0, (), 0)


def _rng():
    return np.random.default_rng(0)


def test_dvl_locks_within_range_and_drops_out_above_it():
    spec = load_vehicle('hover_auv').sensors['dvl']
    max_r = spec.get('max_range_m')
    bathy = _flat(60.0)
    s = VehicleState.at_rest([0, 0, -60.0 + 0.5 * max_r])
    s.velocity[:3] = [0.5, -0.1, 0.05]
    r = sn.dvl_reading(spec, s, bathy, _rng())
    assert r.velocity_valid and all(r.beam_valid)
    assert r.velocity == pytest.approx([0.5, -0.1, 0.05], abs=5 * spec.noise_std)
    # altitude is the seabed distance below the DVL (mounted 0.3 m under the origin)
    assert r.altitude_m == pytest.approx(0.5 * max_r - 0.3, abs=0.05)
    s.position[2] = -60.0 + max_r + 2.0            # 2 m above its range
    r = sn.dvl_reading(spec, s, bathy, _rng())
    assert not r.velocity_valid and not any(r.beam_valid)
    assert math.isnan(r.altitude_m) and np.all(np.isnan(r.velocity))


def test_dvl_needs_three_beams():
    spec = load_vehicle('hover_auv').sensors['dvl']
    s = VehicleState.at_rest([0, 0, -10.0])
    # roll 40 deg: two beams tilt far out (longer slant) -> with a short range they fail
    short = dataclasses.replace(spec, extra={**spec.extra, 'max_range_m': 10.4})
    half = math.radians(40) / 2
    s.quaternion = np.array([math.cos(half), math.sin(half), 0, 0])
    r = sn.dvl_reading(short, s, _flat(20.0), _rng())
    assert sum(r.beam_valid) == 2 and not r.velocity_valid


def test_gps_fixes_stop_below_half_a_metre():
    spec = load_vehicle('hover_auv').sensors['gps']
    for depth, fix in ((0.0, True), (0.3, True), (0.49, True), (0.51, False), (5.0, False)):
        r = sn.gps_reading(spec, VehicleState.at_rest([100.0, -50.0, -depth]), TOWER, _rng())
        assert r.fix is fix, depth
    r = sn.gps_reading(spec, VehicleState.at_rest([100.0, -50.0, 0.0]), TOWER, _rng())
    e, n, _ = TOWER.to_enu(r.lat_deg, r.lon_deg)
    assert math.hypot(e - 100.0, n + 50.0) < 5 * spec.noise_std + 1.0


def test_imu_at_rest_reads_gravity_up_and_pressure_reads_depth():
    p = load_vehicle('hover_auv')
    s = VehicleState.at_rest([0, 0, -10.0], yaw_rad=1.0)
    imu = sn.imu_reading(p.sensors['imu'], s, np.zeros(6), _rng())
    assert imu.linear_acceleration == pytest.approx([0, 0, 9.81], abs=0.1)
    spec = p.sensors['pressure']
    pr = sn.pressure_reading(spec, s, 1025.0, 101325.0, _rng())
    sensor_depth = 10.0 - spec.mounting.position_m[2]
    assert pr.pressure_pa == pytest.approx(101325.0 + 1025 * 9.81 * sensor_depth, abs=60)
    assert pr.depth_m == pytest.approx(sensor_depth, abs=0.01)


def test_altimeter_reports_no_return_beyond_range():
    spec = load_vehicle('hover_auv').sensors['altimeter']
    near = sn.altimeter_reading(spec, VehicleState.at_rest([0, 0, -15.0]), _flat(20.0), _rng())
    assert near.range_m == pytest.approx(5.0 - 0.3, abs=0.05)
    far = sn.altimeter_reading(spec, VehicleState.at_rest([0, 0, -1.0]), _flat(60.0), _rng())
    assert far.range_m == math.inf


def test_battery_drains_with_thrust_and_extra_load():
    spec = load_vehicle('hover_auv').battery
    idle, busy = sn.BatteryModel(spec), sn.BatteryModel(spec, extra_drain_w=500.0)
    for _ in range(3600):
        idle.step(0.0, 0.0, 1.0)
        busy.step(0.0, 0.0, 1.0)
    assert idle.soc == pytest.approx(1.0 - spec.hotel_load_w / spec.capacity_wh, rel=1e-6)
    assert busy.soc < idle.soc - 0.3
    assert busy.reading().current_a < 0 and busy.reading().voltage_v < idle.reading().voltage_v


# -- camera ---------------------------------------------------------------------------------

def _sand_world(depth_m=20.0):
    with open(load_world('hiratsuka_tower').source) as f:
        d = yaml.safe_load(f)
    d['bathymetry'].update(depth_at_datum_m=depth_m, slope_north=0.0, relief_amplitude_m=0.0)
    d['scene']['fractions'] = {'sand': 1.0, 'bare_rock': 0.0, 'coralline': 0.0, 'seaweed': 0.0}
    d['scene']['urchin_density_per_m2'] = {}
    d['scene']['extent_m'] = [-30, -30, 30, 30]
    d['light']['marine_snow_per_m3'] = 0.0
    return world_from_dict(d)


@pytest.fixture(scope='module')
def sand():
    w = _sand_world()
    return w, w.build_scene()


def test_camera_frames_darken_and_lose_red_with_range(sand):
    # Same camera at 10 m depth over sand seabeds 1 to 10 m below it: only the range changes
    # (the veiling light and daylight at the camera stay the same). Far away the frame tends
    # to the blue-green veiling light, whose own small red share is the floor.
    _, scene = sand
    means = []
    for altitude in (1.0, 2.0, 4.0, 6.0, 10.0):
        world = _sand_world(10.0 + altitude)
        cam = UnderwaterCamera(load_vehicle('hover_auv').camera, world, scene, scale=0.25, seed=3)
        f = cam.render([12.0, 0.0, -10.0], np.eye(3))
        assert np.all(f.class_mask == CLASS_BARE)        # sand everywhere in view
        means.append(f.image_rgb.reshape(-1, 3).astype(float).mean(axis=0))
    brightness = [m.sum() for m in means]
    red_share = [m[0] / m.sum() for m in means]
    assert all(a > b for a, b in zip(brightness[:-1], brightness[1:], strict=True)), brightness
    # red fades faster than green at every range, and ends a small share of the frame
    red_kept = [m[0] / means[0][0] for m in means[1:]]
    green_kept = [m[1] / means[0][1] for m in means[1:]]
    assert all(r < 0.7 * g for r, g in zip(red_kept, green_kept, strict=True)), \
        (red_kept, green_kept)
    assert all(a > b for a, b in zip(red_kept[:-1], red_kept[1:], strict=True))
    assert red_share[-1] < 0.5 * red_share[0]


def test_class_mask_is_pixel_exact_for_a_down_looking_camera():
    world = load_world('hiratsuka_tower')
    with open(world.source) as f:
        d = yaml.safe_load(f)
    d['bathymetry'].update(slope_north=0.0, relief_amplitude_m=0.0)
    world = world_from_dict(d)
    scene = world.build_scene()
    p = load_vehicle('hover_auv')
    cam = UnderwaterCamera(p.camera, world, scene, scale=0.25)
    pos = np.array([40.0, 35.0, -18.0])                  # 2 m above a flat 20 m seabed
    f = cam.render(pos, np.eye(3))
    # independent pinhole projection: down-looking camera, optical x = -body y (east up
    # the image right = south), optical y = -body x
    c = pos + p.camera.mounting.position_m
    h = c[2] + 20.0
    v, u = np.mgrid[0:cam.height, 0:cam.width] + 0.5
    x_opt, y_opt = (u - cam.cx) / cam.fx * h, (v - cam.cy) / cam.fy * h
    east, north = c[0] - y_opt, c[1] - x_opt
    expected = scene.classify(east, north)
    assert np.mean(f.class_mask == expected) > 0.999
    assert len(np.unique(expected)) >= 2                 # the view is not trivially uniform


def test_camera_looking_up_sees_water_and_bad_pose_raises(sand):
    world, scene = sand
    p = load_vehicle('camera_robot')
    cam = UnderwaterCamera(p.camera, world, scene, scale=0.1)
    # pitched 60 deg nose-up: the 40 deg down-tilted camera looks 20 deg above horizontal
    half = math.radians(-60) / 2
    rot = np.array([[math.cos(2 * half), 0, math.sin(2 * half)], [0, 1, 0],
                    [-math.sin(2 * half), 0, math.cos(2 * half)]])
    f = cam.render([0.0, 0.0, -10.0], rot)
    assert np.mean(f.class_mask == CLASS_WATER) > 0.9
    with pytest.raises(CameraError, match='position'):
        cam.render([0.0, float('nan'), -10.0], np.eye(3))
    with pytest.raises(CameraError, match='scale'):
        UnderwaterCamera(p.camera, world, scene, scale=0.0)
