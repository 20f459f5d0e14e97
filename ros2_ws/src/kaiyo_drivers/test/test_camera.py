"""Camera: calibration parsing (errors say where, fuzzing) and the node on a real video file,
including a source that appears only later (reconnect)."""
import cv2
import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from rclpy.parameter import Parameter
from sensor_msgs.msg import CameraInfo, Image

from kaiyo_common import qos
from kaiyo_common.params import ParameterContractError
from kaiyo_common.paths import data_path
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers.camera_core import CalibrationError, load_calibration, parse_calibration
from kaiyo_drivers.camera_node import CameraNode

CAL = data_path('hardware', 'calibration', 'hover_auv_down.yaml')


def write_video(path, n=5, size=(640, 480)):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*'MJPG'), 10, size)
    assert w.isOpened()
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), 40 * i, np.uint8))
    w.release()


def test_hardware_calibrations_load():
    for name in ('hover_auv_down', 'camera_robot_front'):
        c = load_calibration(data_path('hardware', 'calibration', f'{name}.yaml'))
        assert (c.width, c.height) == (640, 480) and c.k[0] == 457.0 and len(c.p) == 12


@pytest.mark.parametrize('change, match', [
    ({'image_width': 0}, 'image_width'),
    ({'camera_matrix': {'rows': 3, 'cols': 3, 'data': [1, 2]}}, 'must be 3x3'),
    ({'distortion_model': 'fisheye9'}, 'unknown'),
    ({'distortion_coefficients': {'rows': 1, 'cols': 4, 'data': [0, 0, 0, 0]}},
     'needs 5 distortion'),
])
def test_bad_calibration_says_where(change, match):
    doc = {**yaml.safe_load(CAL.read_text()), **change}
    with pytest.raises(CalibrationError, match=match):
        parse_calibration(doc, 'cam.yaml')


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(['image_width', 'image_height', 'camera_matrix',
                                        'distortion_model', 'distortion_coefficients',
                                        'projection_matrix']),
                       st.recursive(st.none() | st.integers() | st.floats() | st.text(max_size=5),
                                    lambda c: st.lists(c, max_size=12) | st.dictionaries(
                                        st.sampled_from(['rows', 'cols', 'data']), c),
                                    max_leaves=20)))
def test_fuzz_calibration_only_raises_calibration_error(doc):
    try:
        parse_calibration(doc)
    except CalibrationError:
        pass


def test_camera_node_publishes_image_and_info_and_waits_for_the_source(tmp_path):
    video = tmp_path / 'dive.avi'           # not there yet: the node must keep retrying
    with ros_context() as ctx:
        node = CameraNode(context=ctx, namespace='/hover_auv', parameter_overrides=[
            Parameter('source', value=str(video)),
            Parameter('calibration_file', value=str(CAL)),
            Parameter('fps_limit', value=50.0), Parameter('reconnect_max_s', value=0.2)])
        probe = Probe(ctx)
        images = probe.collect(Image, '/hover_auv/camera/image_raw', qos.SENSOR)
        infos = probe.collect(CameraInfo, '/hover_auv/camera/camera_info', qos.SENSOR)
        assert probe.spin_until(lambda: node.worker.failures >= 2, 5, [node])
        assert node.health().level == 2 and 'cannot open' in node.health().message
        write_video(video)
        assert probe.spin_until(lambda: len(images) >= 3 and len(infos) >= 3, 10, [node])
        img, info = images[-1], infos[-1]
        assert (img.width, img.height, img.encoding) == (640, 480, 'bgr8')
        info_stamps = {(i.header.stamp.sec, i.header.stamp.nanosec) for i in infos}
        assert any((m.header.stamp.sec, m.header.stamp.nanosec) in info_stamps for m in images)
        assert list(info.k) == [457.0, 0.0, 320.0, 0.0, 457.0, 240.0, 0.0, 0.0, 1.0]
        # the file ends: the worker re-opens it (a lost stream is re-opened the same way)
        assert probe.spin_until(lambda: node.worker.opens >= 2, 10, [node])
        node.shutdown()
        node.destroy_node()
        probe.destroy()


def test_wrong_size_frames_are_dropped(tmp_path):
    video = tmp_path / 'small.avi'
    write_video(video, size=(64, 48))
    with ros_context() as ctx:
        node = CameraNode(context=ctx, parameter_overrides=[
            Parameter('source', value=str(video)), Parameter('calibration_file', value=str(CAL)),
            Parameter('fps_limit', value=50.0)])
        probe = Probe(ctx)
        images = probe.collect(Image, 'camera/image_raw', qos.SENSOR)
        assert probe.spin_until(lambda: node.wrong_size >= 2, 10, [node])
        assert not images and node.health().level == 1
        node.shutdown()
        node.destroy_node()
        probe.destroy()


def test_missing_calibration_is_refused():
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match='cannot read calibration'):
            CameraNode(context=ctx, parameter_overrides=[
                Parameter('source', value='0'),
                Parameter('calibration_file', value='hardware/calibration/nope.yaml')])
