"""Tier 2: the seabed_analyzer node in-process: observations, georeferenced map, bad frames."""
import json
import math

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


def _stamp(msg, clock):
    msg.header.stamp = clock.now().to_msg()
    return msg


def test_node_publishes_georeferenced_observations_and_map(tmp_path):
    with ros_context() as ctx:
        node = SeabedAnalyzerNode(context=ctx, namespace='hover_auv', parameter_overrides=[
            Parameter('output_dir', value=str(tmp_path)),
            Parameter('max_rate_hz', value=20.0),
            Parameter('map_period_s', value=0.2),
            Parameter('map_unusable_frames', value=True)])
        probe = Probe(ctx)
        obs = probe.collect(SeabedObservation, '/hover_auv/seabed/observations', qos.RELIABLE)
        maps = probe.collect(SurveyMap, '/hover_auv/seabed/map', qos.LATCHED)
        pn = probe.node
        img_pub = pn.create_publisher(Image, '/hover_auv/camera/image_raw', qos.SENSOR)
        info_pub = pn.create_publisher(CameraInfo, '/hover_auv/camera/camera_info', qos.SENSOR)
        odom_pub = pn.create_publisher(Odometry, '/hover_auv/odometry', qos.RELIABLE)
        alt_pub = pn.create_publisher(Range, '/hover_auv/altimeter', qos.SENSOR)
        try:
            assert probe.wait_for_subscribers(img_pub, nodes=[node])
            assert probe.wait_for_subscribers(alt_pub, nodes=[node])
            clock = pn.get_clock()
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
                probe.spin_until(lambda: node._alt is not None and node._odom is not None,
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
        finally:
            node.shutdown()
            probe.destroy()
            node.destroy_node()
    doc = json.loads((tmp_path / 'hover_auv_seabed_map.geojson').read_text())
    assert len(doc['features']) == 15
    assert (tmp_path / 'hover_auv_seabed_map.png').stat().st_size > 0


def test_bad_parameters_are_refused():
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match='altitude_source'):
            SeabedAnalyzerNode(context=ctx, parameter_overrides=[
                Parameter('altitude_source', value='sonar')])
        with pytest.raises(ParameterContractError, match='model_path'):
            SeabedAnalyzerNode(context=ctx, parameter_overrides=[
                Parameter('model_path', value='/nonexistent/model.yml.gz')])
