"""Tier 2: the seabed_analyzer node in-process: observations, georeferenced map, bad frames."""
import json
import math
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image, Range

from kaiyo_common import qos
from kaiyo_common.params import ParameterContractError
from kaiyo_common.testing import Probe, ros_context
from kaiyo_interfaces.msg import SeabedObservation, SurveyMap
from kaiyo_seabed.analyzer_node import SeabedAnalyzerNode
from kaiyo_seabed.bench import synthetic_seabed
from kaiyo_seabed.image_codec import array_to_image_fields


@contextmanager
def analyzer_rig(tmp_path, *overrides):
    """The node on /hover_auv (20 Hz, map every 0.2 s, unusable frames mapped) beside a probe
    that publishes its inputs and collects its outputs; torn down (node.shutdown() first:
    it saves the map) on exit."""
    with ros_context() as ctx:
        node = SeabedAnalyzerNode(context=ctx, namespace='hover_auv', parameter_overrides=[
            Parameter('output_dir', value=str(tmp_path)), Parameter('max_rate_hz', value=20.0),
            Parameter('map_period_s', value=0.2), Parameter('map_unusable_frames', value=True),
            *overrides])
        probe = Probe(ctx)
        pn = probe.node
        rig = SimpleNamespace(
            node=node, probe=probe, clock=pn.get_clock(),
            obs=probe.collect(SeabedObservation, '/hover_auv/seabed/observations', qos.RELIABLE),
            maps=probe.collect(SurveyMap, '/hover_auv/seabed/map', qos.LATCHED),
            img_pub=pn.create_publisher(Image, '/hover_auv/camera/image_raw', qos.SENSOR),
            info_pub=pn.create_publisher(CameraInfo, '/hover_auv/camera/camera_info',
                                         qos.SENSOR),
            odom_pub=pn.create_publisher(Odometry, '/hover_auv/odometry', qos.RELIABLE),
            alt_pub=pn.create_publisher(Range, '/hover_auv/altimeter', qos.SENSOR))
        try:
            yield rig
        finally:
            node.shutdown()
            probe.destroy()
            node.destroy_node()


def _stamp(msg, clock):
    msg.header.stamp = clock.now().to_msg()
    return msg


def test_node_publishes_georeferenced_observations_and_map(tmp_path):
    with analyzer_rig(tmp_path) as r:
        node, probe, obs, maps = r.node, r.probe, r.obs, r.maps
        img_pub, info_pub, odom_pub, alt_pub = r.img_pub, r.info_pub, r.odom_pub, r.alt_pub
        assert probe.wait_for_subscribers(img_pub, nodes=[node])
        assert probe.wait_for_subscribers(alt_pub, nodes=[node])
        clock = r.clock
        info = CameraInfo(width=320, height=240)
        info.k = [160.0, 0.0, 160.0, 0.0, 160.0, 120.0, 0.0, 0.0, 1.0]   # 90 deg hfov
        odom = Odometry()
        odom.pose.pose.position.x, odom.pose.pose.position.y = 10.5, 20.5
        odom.pose.pose.position.z = -15.0
        odom.pose.pose.orientation.w = 1.0
        frame = Image(**array_to_image_fields(synthetic_seabed(320, 240), 'bgr8'))
        bad = Image(encoding='yuv422', width=4, height=4, step=8, data=bytes(32))

        def feed(img):
            info_pub.publish(_stamp(info, clock))
            odom_pub.publish(_stamp(odom, clock))
            alt_pub.publish(_stamp(Range(range=2.0, min_range=0.1, max_range=30.0), clock))
            # let pose/alt arrive before the image is analysed
            probe.spin_until(lambda: len(node._alts) > 0 and len(node._poses) > 0,
                             2.0, [node])
            img_pub.publish(_stamp(img, clock))

        feed(bad)
        assert probe.spin_until(lambda: node.counters['dropped_bad'] == 1, 5.0, [node])
        feed(frame)
        assert probe.spin_until(lambda: len(obs) >= 1, 10.0, [node])
        o = obs[0]
        assert o.vehicle == 'hover_auv'
        assert o.altitude_m == pytest.approx(2.0)
        assert o.footprint_area_m2 == pytest.approx(12.0, rel=1e-3)
        xs = [p.x for p in o.footprint]
        assert min(xs) == pytest.approx(9.0) and max(xs) == pytest.approx(12.0)
        assert sum(o.cover) == pytest.approx(1.0, abs=1e-4)
        assert o.cover_class in ('0', '<5', '5-25', '25-50', '50-75', '75-100', '100')
        assert o.urchin_count == len(o.urchins)
        assert math.isfinite(o.urchin_density_per_m2)
        assert probe.spin_until(lambda: len(maps) >= 1, 5.0, [node])
        m = maps[-1]
        assert m.cell_size_m == 1.0
        # footprint x 9..12, y 18.5..22.5: cols 9..11, rows 18..22
        assert (m.origin.x, m.origin.y, m.width, m.height) == (9.0, 18.0, 3, 5)
        assert max(m.frame_count) == 1
        assert node.counters['analysed'] == 1 and node.counters['mapped'] == 1
    doc = json.loads((tmp_path / 'hover_auv_seabed_map.geojson').read_text())
    assert len(doc['features']) == 15
    assert (tmp_path / 'hover_auv_seabed_map.png').stat().st_size > 0


def _at(msg, t: float):
    msg.header.stamp.sec = int(t)
    msg.header.stamp.nanosec = int(round((t - int(t)) * 1e9))
    return msg


def _pose_node_case(tmp_path, altitude, overrides):
    """Feed odometry at t0, t0+1 (x 10.5 -> 11.5) and t0+3 (x 30: the vehicle moved on),
    altitude at the same stamps, then a frame stamped t0+0.5; return (observation, node
    counters, maps received)."""
    with analyzer_rig(tmp_path, *overrides) as r:
        node, probe, obs, maps = r.node, r.probe, r.obs, r.maps
        img_pub, info_pub, odom_pub, alt_pub = r.img_pub, r.info_pub, r.odom_pub, r.alt_pub
        assert probe.wait_for_subscribers(img_pub, nodes=[node])
        assert probe.wait_for_subscribers(alt_pub, nodes=[node])
        assert probe.wait_for_subscribers(odom_pub, nodes=[node])
        t0 = 1000.0
        info = CameraInfo(width=320, height=240)
        info.k = [160.0, 0.0, 160.0, 0.0, 160.0, 120.0, 0.0, 0.0, 1.0]   # 90 deg hfov
        info_pub.publish(_at(info, t0))
        for dt, x in ((0.0, 10.5), (1.0, 11.5), (3.0, 30.0)):
            odom = Odometry()
            odom.pose.pose.position.x, odom.pose.pose.position.y = x, 20.5
            odom.pose.pose.position.z = -15.0
            odom.pose.pose.orientation.w = 1.0
            odom_pub.publish(_at(odom, t0 + dt))
            alt_pub.publish(_at(Range(range=altitude, min_range=0.1, max_range=30.0),
                                t0 + dt))
        assert probe.spin_until(lambda: len(node._alts) == 3 and len(node._poses) == 3
                                and node._info is not None, 5.0, [node])
        frame = Image(**array_to_image_fields(synthetic_seabed(320, 240), 'bgr8'))
        img_pub.publish(_at(frame, t0 + 0.5))
        assert probe.spin_until(lambda: len(obs) >= 1, 10.0, [node])
        probe.spin_until(lambda: len(maps) >= 1, 1.0, [node])
        return obs[0], dict(node.counters), list(maps)


def test_frame_is_placed_with_the_pose_at_its_stamp(tmp_path):
    o, counters, maps = _pose_node_case(tmp_path, 2.0, [])
    # interpolated x at t0+0.5 = 11.0 (the latest odometry says 30): footprint 9.5..12.5
    assert o.vehicle_pose.position.x == pytest.approx(11.0)
    xs = [p.x for p in o.footprint]
    assert min(xs) == pytest.approx(9.5) and max(xs) == pytest.approx(12.5)
    assert counters['mapped'] == 1 and counters['too_high'] == 0
    assert maps and maps[-1].origin.x == 9.0


def test_altitude_is_corrected_for_the_sensor_mount(tmp_path):
    # the altimeter 0.5 m below base_link reads 2.0: base_link is 2.5 m up; along x the
    # footprint spans altitude x 2 x (120 / 160) = 3.75 m (2 m: 3 m)
    o, counters, _ = _pose_node_case(tmp_path, 2.0, [
        Parameter('altitude_sensor_z_m', value=-0.5)])
    assert o.altitude_m == pytest.approx(2.5)       # camera at base_link in this test
    xs = [p.x for p in o.footprint]
    assert min(xs) == pytest.approx(9.125) and max(xs) == pytest.approx(12.875)
    assert counters['mapped'] == 1


def test_frames_above_max_map_altitude_are_published_not_mapped(tmp_path):
    o, counters, maps = _pose_node_case(tmp_path, 8.0, [
        Parameter('max_map_altitude_m', value=5.0)])
    assert o.altitude_m == pytest.approx(8.0)
    assert len(o.footprint) > 0                    # georeferenced, only kept off the map
    assert counters['too_high'] == 1 and counters['mapped'] == 0
    assert maps == []


def test_map_is_republished_after_frames_kept_off_it(tmp_path):
    """A frame from too high is not mapped, but the map is published again after it, so a
    consumer waiting for a map as new as the last observation (kaiyo demo) gets one."""
    with analyzer_rig(tmp_path) as r:
        node, probe, obs, maps = r.node, r.probe, r.obs, r.maps
        img_pub, info_pub, odom_pub, alt_pub = r.img_pub, r.info_pub, r.odom_pub, r.alt_pub
        for pub in (img_pub, alt_pub, odom_pub, info_pub):
            assert probe.wait_for_subscribers(pub, nodes=[node])
        clock = r.clock
        info = CameraInfo(width=320, height=240)
        info.k = [160.0, 0.0, 160.0, 0.0, 160.0, 120.0, 0.0, 0.0, 1.0]
        frame = Image(**array_to_image_fields(synthetic_seabed(320, 240), 'bgr8'))
        for i, altitude in enumerate((2.0, 8.0)):       # mapped, then too high
            odom = Odometry()
            odom.pose.pose.position.z = -15.0
            odom.pose.pose.orientation.w = 1.0
            info_pub.publish(_stamp(info, clock))
            odom_pub.publish(_stamp(odom, clock))
            alt_pub.publish(_stamp(Range(range=altitude, min_range=0.1, max_range=30.0),
                                   clock))
            assert probe.spin_until(lambda n=i: len(node._alts) > n and len(node._poses) > n,
                                    5.0, [node])
            img_pub.publish(_stamp(frame, clock))
            assert probe.spin_until(lambda n=i: len(obs) > n, 10.0, [node])
            last = obs[-1].header.stamp
            assert probe.spin_until(
                lambda t=last: maps and (maps[-1].header.stamp.sec, maps[-1].header.stamp
                                         .nanosec) >= (t.sec, t.nanosec), 5.0, [node])
        assert node.counters['mapped'] == 1 and node.counters['too_high'] == 1
        assert max(maps[-1].frame_count) == 1


def test_bad_parameters_are_refused():
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match='altitude_source'):
            SeabedAnalyzerNode(context=ctx, parameter_overrides=[
                Parameter('altitude_source', value='sonar')])
        with pytest.raises(ParameterContractError, match='model_path'):
            SeabedAnalyzerNode(context=ctx, parameter_overrides=[
                Parameter('model_path', value='/nonexistent/model.yml.gz')])
        with pytest.raises(ParameterContractError, match='max_map_altitude_m'):
            SeabedAnalyzerNode(context=ctx, parameter_overrides=[
                Parameter('max_map_altitude_m', value=0.0)])
