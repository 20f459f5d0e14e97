"""ROS node: camera through OpenCV (device, RTSP/GStreamer URL or file) with camera_info.

Publishes `camera/image_raw` (sensor_msgs/Image, bgr8) and `camera/camera_info`
(CameraInfo from the calibration YAML in hardware/, same stamp) for each new frame, and
`diagnostics` (frame rate, reconnects, why it is unhappy). A frame whose size differs from
the calibration is dropped and counted: its camera_info would be wrong.
"""
from __future__ import annotations

import time
from pathlib import Path

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from kaiyo_common import qos
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.paths import data_path
from kaiyo_common.ros_params import declare_contract
from kaiyo_drivers.camera_core import CalibrationError, CaptureWorker, load_calibration
from kaiyo_drivers.health import ERROR, OK, STALE, WARN, Health
from kaiyo_drivers.link import Backoff
from kaiyo_drivers.ros_diag import diagnostic_array

SPECS = [
    ParamSpec('source', 'str', "Device index ('0'), RTSP / GStreamer URL, or a video file"),
    ParamSpec('calibration_file', 'str', 'Camera calibration YAML (ROS format); relative '
              'to the repository root'),
    ParamSpec('frame_id', 'str', 'Optical frame (z forward, x right, y down)',
              'camera_optical'),
    ParamSpec('rate_hz', 'float', 'Publish check rate; frames are published when new, Hz',
              30.0, min_value=1.0, max_value=120.0),
    ParamSpec('fps_limit', 'float', 'Read at most this many frames per second (0: as fast as '
              'the source; set it for files), fps', 0.0, min_value=0.0, max_value=120.0),
    ParamSpec('stale_after_s', 'float', 'No new frame for this long -> STALE, s', 2.0,
              min_value=0.1, max_value=60.0),
    ParamSpec('reconnect_max_s', 'float', 'Longest reconnect delay, s', 5.0,
              min_value=0.1, max_value=600.0),
]


class CameraNode(Node):
    def __init__(self, **kwargs):
        super().__init__('camera_driver', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        path = Path(p.calibration_file)
        if not path.is_absolute():
            path = data_path(p.calibration_file)
        try:
            self.calib = load_calibration(path)
        except CalibrationError as err:
            raise ParameterContractError('calibration_file', p.calibration_file,
                                         str(err)) from err
        self.worker = CaptureWorker(p.source, Backoff(0.2, p.reconnect_max_s), p.fps_limit)
        self.last_seq = 0
        self.published = 0
        self.wrong_size = 0
        self.last_new = time.monotonic()
        self.image_pub = self.create_publisher(Image, 'camera/image_raw', qos.SENSOR)
        self.info_pub = self.create_publisher(CameraInfo, 'camera/camera_info', qos.SENSOR)
        self.diag_pub = self.create_publisher(DiagnosticArray, 'diagnostics', qos.RELIABLE)
        self.create_timer(1.0 / p.rate_hz, self.on_frame)
        self.create_timer(1.0, self.on_diagnostics)
        self.worker.start()

    def camera_info(self, header) -> CameraInfo:
        c = self.calib
        info = CameraInfo()
        info.header = header
        info.width, info.height = c.width, c.height
        info.distortion_model = c.distortion_model
        info.d = list(c.d)
        info.k, info.r, info.p = list(c.k), list(c.r), list(c.p)
        return info

    def on_frame(self) -> None:
        latest = self.worker.latest()
        if latest is None or latest[0] == self.last_seq:
            return
        seq, _, img = latest
        self.last_seq = seq
        self.last_new = time.monotonic()
        h, w = img.shape[:2]
        if (w, h) != (self.calib.width, self.calib.height):
            self.wrong_size += 1
            if self.wrong_size == 1 or self.wrong_size % 100 == 0:
                self.get_logger().warning(
                    f'frame {w}x{h} does not match the calibration '
                    f'{self.calib.width}x{self.calib.height}: dropped ({self.wrong_size})')
            return
        msg = Image()
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = self.params.frame_id
        msg.height, msg.width = h, w
        msg.encoding = 'bgr8'
        msg.step = w * 3
        msg.data = img.tobytes()
        self.image_pub.publish(msg)
        self.info_pub.publish(self.camera_info(msg.header))
        self.published += 1

    def health(self) -> Health:
        w = self.worker
        age = time.monotonic() - self.last_new
        values = {'source': self.params.source, 'frames_read': str(w.frames),
                  'published': str(self.published), 'opens': str(w.opens),
                  'open_failures': str(w.failures), 'wrong_size': str(self.wrong_size),
                  'last_error': w.last_error}
        if not w.connected and self.published == 0 and w.failures:
            return Health(ERROR, f'{w.last_error}; retrying', values)
        if age > self.params.stale_after_s:
            return Health(STALE, f'no new frame for {age:.1f} s ({w.last_error or "waiting"})',
                          values)
        if self.wrong_size:
            return Health(WARN, f'{self.wrong_size} frames with the wrong size', values)
        return Health(OK, 'streaming', values)

    def on_diagnostics(self) -> None:
        self.diag_pub.publish(diagnostic_array(self.get_clock().now().to_msg(),
                                               self.get_name(), self.params.source,
                                               self.health()))

    def shutdown(self) -> None:
        self.worker.stop()


def main(args=None):
    run_node(CameraNode, args)
