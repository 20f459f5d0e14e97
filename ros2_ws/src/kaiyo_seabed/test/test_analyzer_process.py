"""Tier 3: the installed `seabed_analyzer` executable as its own process: it survives a bad
frame, publishes a georeferenced observation, and on Ctrl-C exits 0 after saving the map."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nav_msgs.msg import Odometry
from sensor_msgs.msg import Image

from kaiyo_common import qos
from kaiyo_common.testing import Probe, ros_context
from kaiyo_interfaces.msg import SeabedObservation
from kaiyo_seabed.bench import synthetic_seabed
from kaiyo_seabed.image_codec import array_to_image_fields

EXE = Path(sys.prefix) / 'lib' / 'kaiyo_seabed' / 'seabed_analyzer'


@pytest.fixture()
def analyzer_process(tmp_path):
    if not EXE.exists():
        pytest.skip(f'{EXE} not installed (run make setup)')
    proc = subprocess.Popen(
        [str(EXE), '--ros-args', '-r', '__ns:=/camera_robot', '-p', f'output_dir:={tmp_path}',
         '-p', 'max_rate_hz:=20.0', '-p', 'altitude_source:=dvl', '-p', 'camera_hfov_deg:=90.0'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def test_process_survives_bad_frame_and_saves_map_on_ctrl_c(analyzer_process, tmp_path):
    from kaiyo_interfaces.msg import DvlVelocity
    with ros_context() as ctx:
        probe = Probe(ctx)
        obs = probe.collect(SeabedObservation, '/camera_robot/seabed/observations', qos.RELIABLE)
        pn = probe.node
        img_pub = pn.create_publisher(Image, '/camera_robot/camera/image_raw', qos.SENSOR)
        odom_pub = pn.create_publisher(Odometry, '/camera_robot/odometry', qos.RELIABLE)
        dvl_pub = pn.create_publisher(DvlVelocity, '/camera_robot/dvl', qos.SENSOR)
        try:
            assert probe.wait_for_subscribers(img_pub, timeout=30.0)
            assert probe.wait_for_subscribers(dvl_pub, timeout=10.0)
            frame = Image(**array_to_image_fields(synthetic_seabed(320, 240), 'bgr8'))
            bad = Image(encoding='bayer_rggb8', width=4, height=4, step=4, data=bytes(16))
            odom = Odometry()
            odom.pose.pose.position.x, odom.pose.pose.position.z = -3.2, -12.0
            odom.pose.pose.orientation.w = 1.0
            dvl = DvlVelocity(altitude_m=1.5, velocity_valid=True)

            def publish_all():
                now = pn.get_clock().now().to_msg()
                for m in (odom, dvl, frame, bad):
                    m.header.stamp = now
                odom_pub.publish(odom)
                dvl_pub.publish(dvl)
                img_pub.publish(bad)           # must be dropped, not crash the node
                img_pub.publish(frame)

            # re-send until georeferenced observations arrive (first messages may be lost)
            def georeferenced():
                return any(o.footprint_area_m2 > 0 for o in obs)
            for _ in range(40):
                publish_all()
                if probe.spin_until(georeferenced, 0.5):
                    break
            assert georeferenced(), 'no georeferenced observation from the analyzer process'
            o = next(o for o in obs if o.footprint_area_m2 > 0)
            assert o.vehicle == 'camera_robot'
            assert o.altitude_m == pytest.approx(1.5)
            # hfov 90 deg from the parameter (no camera_info sent): 3 m x 2.25 m at 1.5 m
            assert o.footprint_area_m2 == pytest.approx(3.0 * 2.25, rel=1e-3)
        finally:
            probe.destroy()
    analyzer_process.send_signal(signal.SIGINT)
    out, _ = analyzer_process.communicate(timeout=20)
    assert analyzer_process.returncode == 0, out
    assert 'dropped frame' in out and 'bayer_rggb8' in out
    doc = json.loads((tmp_path / 'camera_robot_seabed_map.geojson').read_text())
    assert doc['features'] and doc['properties']['vehicle'] == 'camera_robot'
    assert (tmp_path / 'camera_robot_seabed_map.png').exists()
