"""ROS node `seabed_analyzer`: camera frames -> SeabedObservation, overlay and a survey map.

Runs in a vehicle namespace (e.g. /hover_auv). Subscribes `camera/image_raw`,
`camera/camera_info`, `odometry` and the altitude (`altimeter`, sensor_msgs/Range, or `dvl`,
kaiyo DvlVelocity). Frames are analysed at up to `max_rate_hz` by a timer, newest frame first
(older frames waiting are dropped and counted), so a slow CPU never builds a backlog.
Publishes `seabed/observations`, `seabed/overlay` and, every `map_period_s`, `seabed/map`
(latched); the map is also saved as GeoJSON + PNG in `output_dir` on that period and on
shutdown. Bad frames (unsupported encoding, wrong size) are dropped with a warning and a
counter; frames without a recent pose/altitude are analysed but not mapped.
"""
from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import cv2
import numpy as np
from geometry_msgs.msg import Point, Point32, Pose
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image, Range

from kaiyo_common import qos
from kaiyo_common.geodesy import GeodesyError, datum_from_spec
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_interfaces.msg import DvlVelocity, ImageBox, ImageQuality, SeabedObservation, SurveyMap
from kaiyo_seabed.backbone import BackboneError
from kaiyo_seabed.features import ImageFormatError
from kaiyo_seabed.image_codec import (
    ImageEncodingError,
    array_to_image_fields,
    check_image_fields,
    image_to_array,
)
from kaiyo_seabed.mapping import (
    QUANTITIES,
    CameraIntrinsics,
    CameraMount,
    GeoreferenceError,
    SurveyGrid,
    VehiclePose,
    georeference_frame,
    project_mask_to_cells,
)
from kaiyo_seabed.model import ModelError, SeabedModel, load_default_model, model_file
from kaiyo_seabed.pipeline import SeabedAnalyzer, overlay_image
from kaiyo_seabed.pose_buffer import TimedBuffer

SPECS = [
    ParamSpec('vehicle', 'str', 'Vehicle name for messages and file names; empty = the '
              'node namespace without "/"', ''),
    ParamSpec('model_path', 'str', "Classifier model file (.yml.gz); '' = the shipped "
              '(real-photo) model; a bare file name = a model in the package config folder, e.g. '
              'seabed_sim_rtrees.yml.gz (simulator imagery only)', ''),
    ParamSpec('max_rate_hz', 'float', 'Most frames analysed per second, Hz', 5.0,
              min_value=0.1, max_value=60.0),
    ParamSpec('cell_size_m', 'float', 'Survey map cell edge, m', 1.0, min_value=0.05,
              max_value=100.0, read_only=True),
    ParamSpec('altitude_source', 'str', 'Altitude topic: altimeter (sensor_msgs/Range) or dvl '
              '(DvlVelocity.altitude_m)', 'altimeter', choices=('altimeter', 'dvl'),
              read_only=True),
    ParamSpec('camera_pitch_deg', 'float', 'Camera pitch below the bow, deg (90 = straight down)',
              90.0, min_value=-90.0, max_value=90.0),
    ParamSpec('camera_offset_m', 'float[]', 'Camera position in base_link (x fwd, y left, z up), m',
              [0.0, 0.0, 0.0], min_length=3, min_value=-10.0, max_value=10.0),
    ParamSpec('altitude_sensor_z_m', 'float', 'Height of the altitude sensor (altimeter or DVL) '
              'in base_link, m (z up, negative = below): it ranges from there, so the '
              'base_link altitude is the reading minus this', 0.0, min_value=-10.0,
              max_value=10.0),
    ParamSpec('camera_hfov_deg', 'float', 'Horizontal field of view used until camera_info '
              'arrives, deg (0 = wait for camera_info)', 0.0, min_value=0.0, max_value=170.0),
    ParamSpec('max_pose_age_s', 'float', 'Oldest odometry/altitude used for a frame, s', 1.0,
              min_value=0.01, max_value=60.0),
    ParamSpec('map_period_s', 'float', 'Publish (and save) the survey map this often, s', 5.0,
              min_value=0.1, max_value=3600.0),
    ParamSpec('output_dir', 'str', "Folder for <vehicle>_seabed_map.geojson/.png ('' = "
              '$KAIYO_LOG_DIR/seabed, else ~/.local/state/kaiyo/seabed)', ''),
    ParamSpec('save_map', 'bool', 'Save the map to output_dir every map_period_s and on exit',
              True),
    ParamSpec('datum', 'str', "Map datum for GeoJSON: a site name ('tower') or 'LAT,LON' in deg",
              'tower', read_only=True),
    ParamSpec('publish_overlay', 'bool', 'Publish the class overlay image', True),
    ParamSpec('detect_urchins', 'bool', 'Run the urchin detector', True),
    ParamSpec('map_unusable_frames', 'bool', 'Also map frames failing the quality check', False),
    ParamSpec('max_map_altitude_m', 'float', 'Map only frames taken at most this high above the '
              'seabed, m (higher frames cover cells too coarsely to classify; they are still '
              'analysed and published)', 5.0, min_value=0.1, max_value=100.0),
]

#: Seconds of odometry and altitude kept to place a frame at its own stamp.
POSE_HISTORY_S = 5.0


def _stamp_s(stamp) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


class SeabedAnalyzerNode(Node):
    def __init__(self, **kwargs):
        super().__init__('seabed_analyzer', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        self.vehicle = p.vehicle or self.get_namespace().strip('/').split('/')[0]
        spec = p.datum
        if ',' in spec:
            lat, lon = spec.split(',', 1)
            spec = {'lat': lat, 'lon': lon}
        try:
            self.datum = datum_from_spec(spec)
        except GeodesyError as err:
            raise ParameterContractError('datum', p.datum, str(err)) from None
        try:
            model = SeabedModel.load(model_file(p.model_path)) if p.model_path \
                else load_default_model()
            self.analyzer = SeabedAnalyzer(model, p.detect_urchins)
        except (ModelError, BackboneError) as err:
            raise ParameterContractError('model_path', p.model_path, str(err)) from None
        self.grid = SurveyGrid(p.cell_size_m)
        self.counters = {'analysed': 0, 'dropped_bad': 0, 'skipped_stale': 0, 'mapped': 0,
                         'not_georeferenced': 0, 'too_high': 0}
        self._latest: Image | None = None
        self._info: CameraInfo | None = None
        # pose (x, y, z, qw, qx, qy, qz) and altitude histories, read at each image's stamp
        self._poses = TimedBuffer(POSE_HISTORY_S, quat_slice=slice(3, 7))
        self._alts = TimedBuffer(POSE_HISTORY_S)
        self._map_dirty = False         # cells changed since the last save
        self._map_behind = False        # frames analysed since the last published map

        self.obs_pub = self.create_publisher(SeabedObservation, 'seabed/observations', qos.RELIABLE)
        self.overlay_pub = self.create_publisher(Image, 'seabed/overlay', qos.SENSOR)
        self.map_pub = self.create_publisher(SurveyMap, 'seabed/map', qos.LATCHED)
        self.create_subscription(Image, 'camera/image_raw', self.on_image, qos.SENSOR)
        self.create_subscription(CameraInfo, 'camera/camera_info', self.on_camera_info, qos.SENSOR)
        self.create_subscription(Odometry, 'odometry', self.on_odometry, qos.SENSOR)
        if p.altitude_source == 'altimeter':
            self.create_subscription(Range, 'altimeter', self.on_range, qos.SENSOR)
        else:
            self.create_subscription(DvlVelocity, 'dvl', self.on_dvl, qos.SENSOR)
        self.analyse_timer = self.create_timer(1.0 / p.max_rate_hz, self.on_analyse_timer)
        self.map_timer = self.create_timer(p.map_period_s, self.on_map_timer)
        self.get_logger().info(f'seabed analyzer for {self.vehicle!r}: model '
                               f'{p.model_path or "shipped"}, cell {p.cell_size_m} m')

    # -- input callbacks (store only) -----------------------------------------------------
    def on_image(self, msg: Image) -> None:
        problem = check_image_fields(msg.encoding, msg.height, msg.width, msg.step, len(msg.data))
        if problem:     # drop at arrival, so a bad frame never displaces a good one
            self.counters['dropped_bad'] += 1
            self.get_logger().warn(f'dropped frame: {problem}', throttle_duration_sec=5.0)
            return
        if self._latest is not None:
            self.counters['skipped_stale'] += 1
        self._latest = msg

    def on_camera_info(self, msg: CameraInfo) -> None:
        self._info = msg

    def on_odometry(self, msg: Odometry) -> None:
        pos, q = msg.pose.pose.position, msg.pose.pose.orientation
        values = (pos.x, pos.y, pos.z, q.w, q.x, q.y, q.z)
        if all(math.isfinite(v) for v in values):
            self._poses.add(_stamp_s(msg.header.stamp), values)

    def on_range(self, msg: Range) -> None:
        if math.isfinite(msg.range) and msg.min_range <= msg.range <= msg.max_range:
            self._alts.add(_stamp_s(msg.header.stamp), (float(msg.range),))

    def on_dvl(self, msg: DvlVelocity) -> None:
        if math.isfinite(msg.altitude_m) and msg.altitude_m > 0:
            self._alts.add(_stamp_s(msg.header.stamp), (float(msg.altitude_m),))

    # -- work ---------------------------------------------------------------------------
    def on_analyse_timer(self) -> None:
        msg, self._latest = self._latest, None
        if msg is not None:
            self.analyse(msg)

    def on_map_timer(self) -> None:
        if self._map_dirty:
            self.publish_map()
            self.save_map()
            self._map_dirty = self._map_behind = False
        elif self._map_behind and len(self.grid):
            # frames analysed but not mapped (too high, unusable): republish so the map's
            # stamp says it accounts for them (a consumer waiting for a map newer than the
            # last observation, like `kaiyo demo`, is not left waiting)
            self.publish_map()
            self._map_behind = False

    def _intrinsics(self, width: int, height: int) -> CameraIntrinsics | None:
        info = self._info
        if info is not None and info.k[0] > 0:
            try:
                k = CameraIntrinsics.from_k(info.k, info.width or width, info.height or height)
                return k.scaled(width, height)
            except GeoreferenceError as err:
                self.get_logger().warn(f'camera_info unusable: {err}', throttle_duration_sec=10.0)
        if self.params.camera_hfov_deg > 0:
            return CameraIntrinsics.from_hfov(width, height, self.params.camera_hfov_deg)
        return None

    def _georeference(self, stamp_s: float, width: int, height: int):
        """(VehiclePose, altitude, FrameGeoref or None, reason)."""
        p = self.params
        # pose and altitude at the image's stamp (interpolated), not the latest ones: the
        # vehicle moved on while the frame waited for the analysis timer
        v = self._poses.at(stamp_s, p.max_pose_age_s)
        if v is None:
            return None, float('nan'), None, 'no recent odometry'
        pose = VehiclePose(v[0], v[1], v[2], tuple(v[3:7]))
        a = self._alts.at(stamp_s, p.max_pose_age_s)
        if a is None:
            return pose, float('nan'), None, 'no recent altitude'
        # the sensor ranges from its own mount, georeference_frame wants base_link's altitude
        # (a 0.3 m offset at 2 m altitude is a 15 % scale error of the footprint)
        altitude = a[0] - p.altitude_sensor_z_m
        k = self._intrinsics(width, height)
        if k is None:
            return pose, altitude, None, 'no camera_info'
        mount = CameraMount.tilted(p.camera_pitch_deg, tuple(p.camera_offset_m))
        try:
            return pose, altitude, georeference_frame(pose, altitude, k, mount), ''
        except GeoreferenceError as err:
            return pose, altitude, None, str(err)

    def analyse(self, msg: Image) -> None:
        try:
            img = image_to_array(msg.encoding, msg.height, msg.width, msg.step, msg.data,
                                 bool(msg.is_bigendian))
            stamp_s = _stamp_s(msg.header.stamp)
            pose, altitude, geo, why = self._georeference(stamp_s, msg.width, msg.height)
            res = self.analyzer.analyze(
                img, footprint_area_m2=geo.area_m2 if geo else None,
                metres_per_pixel=geo.metres_per_pixel() if geo else None)
        except (ImageEncodingError, ImageFormatError) as err:
            self.counters['dropped_bad'] += 1
            self.get_logger().warn(f'dropped frame: {err}', throttle_duration_sec=5.0)
            return
        self.counters['analysed'] += 1
        self._map_behind = True
        if geo is None:
            self.counters['not_georeferenced'] += 1
            self.get_logger().info(f'frame not georeferenced: {why}', throttle_duration_sec=10.0)
        elif altitude > self.params.max_map_altitude_m:
            # a frame from high up spreads each classified cell over decimetres: it would
            # blur the map more than it adds (it is still published as an observation)
            self.counters['too_high'] += 1
        elif res.quality.usable or self.params.map_unusable_frames:
            centres = [u.centre for u in res.urchins]
            self.grid.add_cells(project_mask_to_cells(geo, res.class_map, self.grid.cell_size_m,
                                                      centres))
            self.counters['mapped'] += 1
            self._map_dirty = True
        self.obs_pub.publish(self.observation_msg(msg, res, pose, altitude, geo))
        if self.params.publish_overlay and self.overlay_pub.get_subscription_count() > 0:
            self.overlay_pub.publish(self.overlay_msg(msg, img, res))

    # -- message building ---------------------------------------------------------------
    def observation_msg(self, image: Image, res, pose, altitude, geo) -> SeabedObservation:
        out = SeabedObservation()
        out.header.stamp = self.get_clock().now().to_msg()
        out.header.frame_id = 'map'
        out.image_stamp = image.header.stamp
        out.vehicle = self.vehicle
        if pose is not None:
            out.vehicle_pose = Pose()
            out.vehicle_pose.position.x, out.vehicle_pose.position.y = pose.x, pose.y
            out.vehicle_pose.position.z = pose.z
            (out.vehicle_pose.orientation.w, out.vehicle_pose.orientation.x,
             out.vehicle_pose.orientation.y, out.vehicle_pose.orientation.z) = pose.q_wxyz
        # the message field is the camera's height above the seabed; `altitude` is base_link's
        out.altitude_m = float(geo.camera_position[2] - geo.seabed_z) if geo is not None \
            else float(altitude)
        if geo is not None:
            out.footprint = [Point32(x=float(x), y=float(y), z=float(geo.seabed_z))
                             for x, y in geo.footprint]
            out.footprint_area_m2 = float(geo.area_m2)
        else:
            out.footprint_area_m2 = float('nan')
        out.cover = [float(v) for v in res.cover]
        out.seabed_cover = [float(v) for v in res.seabed_cover]
        out.urchin_count = len(res.urchins)
        out.urchins = [ImageBox(x=float(u.x), y=float(u.y), width=float(u.w), height=float(u.h),
                                score=float(u.score)) for u in res.urchins]
        out.urchin_density_per_m2 = float(res.urchin_density_per_m2)
        out.isoyake_index = float(res.isoyake_index)
        out.cover_class = res.cover_class
        q = res.quality
        out.quality = ImageQuality(usable=q.usable, reason=q.reason, sharpness=q.sharpness,
                                   brightness=q.brightness, dark_fraction=q.dark_fraction,
                                   saturated_fraction=q.saturated_fraction)
        return out

    def overlay_msg(self, image: Image, img: np.ndarray, res) -> Image:
        over = overlay_image(img, res)
        if over.shape[1] > 640:      # overlays are for eyes on a tether: keep them light
            over = cv2.resize(over, (640, int(over.shape[0] * 640 / over.shape[1])),
                              interpolation=cv2.INTER_AREA)
        out = Image(**array_to_image_fields(over, 'bgr8'))
        out.header = image.header
        return out

    def map_msg(self) -> SurveyMap:
        arr = self.grid.to_arrays()
        out = SurveyMap()
        out.header.stamp = self.get_clock().now().to_msg()
        out.header.frame_id = 'map'
        out.origin = Point(x=arr.origin_x, y=arr.origin_y, z=0.0)
        out.cell_size_m = float(arr.cell_size_m)
        out.width, out.height = arr.width, arr.height
        out.frame_count = arr.frame_count.astype(np.uint32).tolist()
        names = {'seaweed': 'seaweed', 'coralline': 'coralline', 'bare': 'bare'}
        for q, field in names.items():
            setattr(out, f'{field}_mean', arr.mean[q].tolist())
            setattr(out, f'{field}_se', arr.se[q].tolist())
        out.urchin_density_per_m2 = arr.mean['urchin_density_per_m2'].tolist()
        out.urchin_density_se = arr.se['urchin_density_per_m2'].tolist()
        out.isoyake_index = arr.mean['isoyake_index'].tolist()
        return out

    def publish_map(self) -> None:
        self.map_pub.publish(self.map_msg())

    def output_dir(self) -> Path:
        if self.params.output_dir:
            return Path(self.params.output_dir).expanduser()
        env = os.environ.get('KAIYO_LOG_DIR')
        return (Path(env) if env else Path.home() / '.local' / 'state' / 'kaiyo') / 'seabed'

    def save_map(self) -> list[Path]:
        if not self.params.save_map or len(self.grid) == 0:
            return []
        base = self.output_dir() / f'{self.vehicle or "vehicle"}_seabed_map'
        try:
            paths = [self.grid.write_geojson(base.with_suffix('.geojson'), self.datum,
                                             {'vehicle': self.vehicle})]
            paths.append(self.grid.write_png(base.with_suffix('.png'), 'isoyake_index'))
        except OSError as err:
            self.get_logger().error(f'cannot save survey map to {base}: {err}')
            return []
        return paths

    def shutdown(self) -> None:
        """Save the map one last time (called by run_node on exit)."""
        lines = []
        if len(self.grid):
            saved = self.save_map()
            if saved:
                lines.append('saved survey map: ' + ', '.join(map(str, saved)))
        lines.append(f'seabed analyzer stopped: {self.counters}')
        for line in lines:
            if self.context.ok():
                self.get_logger().info(line)
            else:       # after Ctrl-C the context is gone and rosout cannot publish
                print(f'[{self.get_name()}] {line}', file=sys.stderr)


assert set(QUANTITIES) >= {'seaweed', 'coralline', 'bare'}   # map_msg relies on these names


def main(args=None):
    run_node(SeabedAnalyzerNode, args)
