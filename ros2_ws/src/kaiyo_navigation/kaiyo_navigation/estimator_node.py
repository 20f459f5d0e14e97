"""Estimator node: sensors -> NavEkf -> nav_msgs/Odometry (map / base_link) and a NavSatFix.

Thin ROS plumbing around kaiyo_navigation.ekf. Lever arms and the DVL mounting come from the
vehicle YAML (sim/vehicles/<vehicle>.yaml, `sensors:`), so drivers, simulator and filter
share one description. Bad messages are dropped with a throttled warning and counted in
`diagnostics`; the node keeps running.
"""
from __future__ import annotations

import math

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import FluidPressure, Imu, NavSatFix, NavSatStatus

from kaiyo_common import qos
from kaiyo_common.geodesy import GeodesyError, datum_from_spec
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParameterContractError, ParamSpec
from kaiyo_common.ros_params import declare_contract
from kaiyo_common.vehicles import VehicleFileError, load_vehicle
from kaiyo_interfaces.msg import DvlVelocity
from kaiyo_navigation.ekf import (
    GATE_PROBABILITIES,
    EkfConfig,
    NavEkf,
    UpdateResult,
    depth_from_pressure,
    normal_gravity,
    quaternion_from_rpy,
    rpy_from_quaternion,
)

SPECS = [
    ParamSpec('vehicle', 'str', 'Vehicle name (sim/vehicles/<name>.yaml) or path: lever arms '
              'and DVL mounting', read_only=True),
    ParamSpec('publish_rate_hz', 'float', 'Odometry publish rate, Hz', 50.0, min_value=1.0,
              max_value=200.0, read_only=True),
    ParamSpec('datum', 'str', "Site datum of the map frame (name, e.g. 'tower')", 'tower',
              read_only=True),
    ParamSpec('map_frame', 'str', 'World frame id (ENU)', 'map', read_only=True),
    ParamSpec('base_frame', 'str', 'Body frame id (FLU)', 'base_link', read_only=True),
    ParamSpec('water_density_kg_m3', 'float', 'Sea-water density for depth from pressure, '
              'kg/m^3', 1025.0, min_value=990.0, max_value=1050.0),
    ParamSpec('atmospheric_pressure_pa', 'float', 'Air pressure at the surface, Pa', 101325.0,
              min_value=85000.0, max_value=110000.0),
    ParamSpec('gravity_mps2', 'float', 'Gravity, m/s^2 (0: WGS-84 normal gravity at the datum)',
              0.0, min_value=0.0, max_value=10.0),
    ParamSpec('attitude_std_deg', 'float[]', 'Roll, pitch, yaw std when the IMU gives no '
              'covariance, deg', [0.5, 0.5, 2.0], min_value=0.001, min_length=3),
    ParamSpec('depth_std_m', 'float', 'Depth std when not derivable from the message, m', 0.02,
              min_value=0.0001),
    ParamSpec('dvl_std_mps', 'float', 'DVL velocity std when the covariance is zero, m/s', 0.01,
              min_value=0.0001),
    ParamSpec('gps_std_m', 'float', 'GPS horizontal std when the fix has no covariance, m', 2.5,
              min_value=0.01),
    ParamSpec('usbl_std_m', 'float', 'USBL std when the fix has no covariance, m', 1.0,
              min_value=0.01),
    ParamSpec('gps_max_depth_m', 'float', 'Use GPS only shallower than this, m', 0.5,
              min_value=0.01, max_value=10.0),
    ParamSpec('gate_probability', 'float', 'Chi-square gate probability per update',
              0.999, choices=GATE_PROBABILITIES),
    ParamSpec('accel_noise_mps2', 'float', 'Velocity random walk, m/s^2/sqrt(Hz)', 0.05,
              min_value=1e-5),
    ParamSpec('gyro_noise_rps', 'float', 'Attitude random walk, rad/s/sqrt(Hz)', 0.002,
              min_value=1e-6),
    ParamSpec('initial_position_m', 'float[]', 'Start position x, y, z in map (ENU), m',
              [0.0, 0.0, 0.0], min_length=3),
    ParamSpec('initial_position_std_m', 'float', 'Start position std, m (large: wait for a fix)',
              10.0, min_value=0.001),
    ParamSpec('max_lag_s', 'float', 'Drop measurements older than this behind the filter, s',
              0.5, min_value=0.01, max_value=10.0),
]


SURFACE_DEPTH_STD_M = 0.3   # m: a surface vessel's depth is the waterline's, +- the waves


def _stamp_s(header, fallback: float) -> float:
    t = header.stamp.sec + header.stamp.nanosec * 1e-9
    return t if t > 0.0 else fallback


class EstimatorNode(Node):
    def __init__(self, **kwargs):
        super().__init__('estimator', **kwargs)
        self.params = declare_contract(self, SPECS)
        p = self.params
        try:
            vehicle = load_vehicle(p.vehicle)
        except VehicleFileError as err:
            raise ParameterContractError('vehicle', p.vehicle, str(err)) from None
        try:
            self.datum = datum_from_spec(p.datum)
        except GeodesyError as err:
            raise ParameterContractError('datum', p.datum, str(err)) from None
        self.gravity = p.gravity_mps2 or normal_gravity(self.datum.lat_deg)
        # a surface vessel has no depth sensor and floats: without this its depth is
        # unobserved, drifts, and once below gps_max_depth_m the filter refuses every GPS fix
        self.surface = vehicle.kind == 'surface'
        sensors = vehicle.sensors

        def lever(name):
            return tuple(sensors[name].mounting.position_m) if name in sensors else (0, 0, 0)

        dvl_rot = sensors['dvl'].mounting.rotation() if 'dvl' in sensors else np.eye(3)
        self.ekf = NavEkf(EkfConfig(
            accel_noise_mps2=p.accel_noise_mps2, gyro_noise_rps=p.gyro_noise_rps,
            gate_probability=p.gate_probability, max_lag_s=p.max_lag_s,
            initial_position_m=tuple(p.initial_position_m[:3]),
            initial_position_std_m=(p.initial_position_std_m,) * 3,
            gps_max_depth_m=p.gps_max_depth_m, depth_lever_m=lever('pressure'),
            dvl_lever_m=lever('dvl'), dvl_rotation=dvl_rot, gps_lever_m=lever('gps'),
            usbl_lever_m=lever('usbl')))
        self.counts: dict[str, dict[str, int]] = {}
        self.odom_pub = self.create_publisher(Odometry, 'odometry', qos.RELIABLE)
        self.fix_pub = self.create_publisher(NavSatFix, 'odometry/fix', qos.RELIABLE)
        self.diag_pub = self.create_publisher(DiagnosticArray, 'diagnostics', qos.RELIABLE)
        self.create_subscription(Imu, 'imu/data', self.on_imu, qos.SENSOR)
        self.create_subscription(FluidPressure, 'pressure', self.on_pressure, qos.SENSOR)
        self.create_subscription(DvlVelocity, 'dvl', self.on_dvl, qos.SENSOR)
        self.create_subscription(NavSatFix, 'gps/fix', self.on_gps, qos.SENSOR)
        self.create_subscription(PoseWithCovarianceStamped, 'usbl/pose', self.on_usbl,
                                 qos.RELIABLE)
        self.create_timer(1.0 / p.publish_rate_hz, self.on_publish_timer)
        self.create_timer(1.0, self.on_diagnostics_timer)

    # -- helpers ---------------------------------------------------------------------------
    def now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _count(self, sensor: str, result: UpdateResult, reason: str = '') -> None:
        c = self.counts.setdefault(sensor, {})
        c[result.value] = c.get(result.value, 0) + 1
        if result in (UpdateResult.REJECTED_INVALID, UpdateResult.REJECTED_GATE):
            self.get_logger().warning(f'{sensor}: {result.value} ({reason})',
                                      throttle_duration_sec=5.0)

    # -- callbacks -------------------------------------------------------------------------
    def on_imu(self, msg: Imu) -> None:
        t = _stamp_s(msg.header, self.now_s())
        w = msg.angular_velocity
        rates = (w.x, w.y, w.z)
        if all(math.isfinite(v) for v in rates):
            self.ekf.set_rates(rates)
        if msg.orientation_covariance[0] < 0:
            return  # the IMU gives no orientation
        q = msg.orientation
        try:
            rpy = rpy_from_quaternion((q.w, q.x, q.y, q.z))
        except ValueError as err:
            self._count('imu', UpdateResult.REJECTED_INVALID, str(err))
            return
        cov = np.asarray(msg.orientation_covariance, dtype=float).reshape(3, 3)
        std = np.sqrt(np.diag(cov)) if np.all(np.diag(cov) > 0) else \
            np.radians(self.params.attitude_std_deg[:3])
        out = self.ekf.update_attitude(t, rpy, std)
        self._count('imu', out.result, out.reason)
        if self.surface:
            out = self.ekf.update_depth(t, 0.0, SURFACE_DEPTH_STD_M)
            self._count('waterline', out.result, out.reason)

    def on_pressure(self, msg: FluidPressure) -> None:
        p = self.params
        rho_g = p.water_density_kg_m3 * self.gravity
        depth = depth_from_pressure(msg.fluid_pressure, p.atmospheric_pressure_pa,
                                    p.water_density_kg_m3, self.gravity)
        std = math.sqrt(msg.variance) / rho_g if msg.variance > 0 else p.depth_std_m
        out = self.ekf.update_depth(_stamp_s(msg.header, self.now_s()), depth, std)
        self._count('pressure', out.result, out.reason)

    def on_dvl(self, msg: DvlVelocity) -> None:
        cov = np.asarray(msg.covariance, dtype=float).reshape(3, 3)
        if not np.any(cov):
            cov = np.eye(3) * self.params.dvl_std_mps ** 2
        v = msg.velocity
        out = self.ekf.update_dvl(_stamp_s(msg.header, self.now_s()) - msg.time_of_validity_s,
                                  (v.x, v.y, v.z), cov, valid=msg.velocity_valid)
        self._count('dvl', out.result, out.reason)

    def on_gps(self, msg: NavSatFix) -> None:
        if msg.status.status < NavSatStatus.STATUS_FIX:
            self._count('gps', UpdateResult.REJECTED_INVALID, 'no fix')
            return
        try:
            e, n, _ = self.datum.to_enu(msg.latitude, msg.longitude, 0.0)
        except GeodesyError as err:
            self._count('gps', UpdateResult.REJECTED_INVALID, str(err))
            return
        cov = np.asarray(msg.position_covariance, dtype=float).reshape(3, 3)[:2, :2]
        if msg.position_covariance_type == NavSatFix.COVARIANCE_TYPE_UNKNOWN or not np.any(cov):
            cov = np.eye(2) * self.params.gps_std_m ** 2
        out = self.ekf.update_gps(_stamp_s(msg.header, self.now_s()), e, n, cov)
        self._count('gps', out.result, out.reason)

    def on_usbl(self, msg: PoseWithCovarianceStamped) -> None:
        if msg.header.frame_id not in ('', self.params.map_frame):
            self._count('usbl', UpdateResult.REJECTED_INVALID,
                        f"frame '{msg.header.frame_id}' is not '{self.params.map_frame}'")
            return
        pos = msg.pose.pose.position
        cov = np.asarray(msg.pose.covariance, dtype=float).reshape(6, 6)[:3, :3]
        if not np.any(cov):
            cov = np.eye(3) * self.params.usbl_std_m ** 2
        out = self.ekf.update_usbl(_stamp_s(msg.header, self.now_s()), (pos.x, pos.y, pos.z), cov)
        self._count('usbl', out.result, out.reason)

    def on_publish_timer(self) -> None:
        if not self.ekf.initialized:
            return
        self.publish_state(self.ekf.state_at(self.now_s()))

    def publish_state(self, s) -> None:
        stamp = self.get_clock().now().to_msg()
        odom = Odometry()
        odom.header.stamp = stamp
        odom.header.frame_id = self.params.map_frame
        odom.child_frame_id = self.params.base_frame
        pos = odom.pose.pose.position
        pos.x, pos.y, pos.z = (float(v) for v in s.position_m)
        q = quaternion_from_rpy(*s.rpy_rad)
        o = odom.pose.pose.orientation
        o.w, o.x, o.y, o.z = (float(v) for v in q)
        pose_cov = np.zeros((6, 6))
        pose_cov[:3, :3] = s.covariance[0:3, 0:3]
        pose_cov[3:, 3:] = s.covariance[6:9, 6:9]
        pose_cov[:3, 3:] = s.covariance[0:3, 6:9]
        pose_cov[3:, :3] = s.covariance[6:9, 0:3]
        odom.pose.covariance = [float(v) for v in pose_cov.ravel()]
        lin = odom.twist.twist.linear
        lin.x, lin.y, lin.z = (float(v) for v in s.velocity_mps)
        ang = odom.twist.twist.angular
        ang.x, ang.y, ang.z = (float(v) for v in s.angular_rps)
        twist_cov = np.zeros((6, 6))
        twist_cov[:3, :3] = s.covariance[3:6, 3:6]
        twist_cov[3:, 3:] = np.eye(3) * self.params.gyro_noise_rps ** 2
        odom.twist.covariance = [float(v) for v in twist_cov.ravel()]
        self.odom_pub.publish(odom)
        fix = NavSatFix()
        fix.header.stamp = stamp
        fix.header.frame_id = self.params.base_frame
        lat, lon, alt = self.datum.to_geodetic(*s.position_m)
        fix.latitude, fix.longitude, fix.altitude = lat, lon, alt
        fix.status.status = NavSatStatus.STATUS_FIX
        fix.status.service = NavSatStatus.SERVICE_GPS
        # ENU position covariance is what NavSatFix wants (east, north, up)
        fix.position_covariance = [float(v) for v in s.covariance[0:3, 0:3].ravel()]
        fix.position_covariance_type = NavSatFix.COVARIANCE_TYPE_KNOWN
        self.fix_pub.publish(fix)

    def on_diagnostics_timer(self) -> None:
        arr = DiagnosticArray()
        arr.header.stamp = self.get_clock().now().to_msg()
        st = DiagnosticStatus(name=f'{self.get_namespace().strip("/")}/estimator',
                              hardware_id=self.params.vehicle)
        if not self.ekf.initialized:
            st.level, st.message = DiagnosticStatus.WARN, 'waiting for IMU attitude'
        else:
            s = self.ekf.state()
            sigma = math.sqrt(max(0.0, s.covariance[0, 0] + s.covariance[1, 1]))
            st.level = DiagnosticStatus.OK if sigma < 10.0 else DiagnosticStatus.WARN
            st.message = f'horizontal sigma {sigma:.2f} m'
        for sensor, c in sorted(self.counts.items()):
            for result, n in sorted(c.items()):
                st.values.append(KeyValue(key=f'{sensor}.{result}', value=str(n)))
        arr.status.append(st)
        self.diag_pub.publish(arr)


def main(args=None):
    run_node(EstimatorNode, args)


if __name__ == '__main__':
    main()
