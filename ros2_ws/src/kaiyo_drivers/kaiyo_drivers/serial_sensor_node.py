"""ROS node: a line-based ASCII sensor on a serial line (kaiyo_drivers.ascii_sensors).

`protocol` picks the device: `vectornav_ymr` -> `imu/data` (sensor_msgs/Imu, FLU/ENU),
`paroscientific` -> `pressure` (FluidPressure, Pa) and `depth` (std_msgs/Float64, m down),
`altimeter` -> `altimeter` (sensor_msgs/Range, m; +inf = no echo). Bad lines are dropped
and counted in diagnostics; the port is re-opened with backoff when it disappears.
"""
from __future__ import annotations

import math

from sensor_msgs.msg import FluidPressure, Imu, Range
from std_msgs.msg import Float64

from kaiyo_common import qos
from kaiyo_common.frames import attitude_ned_to_enu, frd_to_flu, quat_from_rpy, quat_to_ros
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParamSpec
from kaiyo_drivers.ascii_sensors import (
    PRESSURE_UNITS_PA,
    SensorError,
    depth_m,
    parse_altimeter,
    parse_paroscientific,
    parse_vn_ymr,
)
from kaiyo_drivers.nmea import LineSplitter
from kaiyo_drivers.stream_node import StreamDriverNode, link_specs

SPECS = link_specs(transport='serial', baud=115200, stale_after_s=1.0) + [
    ParamSpec('protocol', 'str', 'Device protocol', choices=(
        'vectornav_ymr', 'paroscientific', 'altimeter')),
    ParamSpec('allow_no_checksum', 'bool', 'VectorNav: accept lines sent with checksum XX',
              False),
    ParamSpec('pressure_unit', 'str', 'Unit the pressure transmitter is set to', 'dbar',
              choices=tuple(PRESSURE_UNITS_PA)),
    ParamSpec('surface_pressure_pa', 'float', 'Air pressure at the surface, Pa', 101325.0,
              min_value=80000.0, max_value=110000.0),
    ParamSpec('water_density_kg_m3', 'float', 'Sea water density for depth, kg/m^3', 1025.0,
              min_value=990.0, max_value=1050.0),
    ParamSpec('min_range_m', 'float', 'Altimeter: shortest valid range, m', 0.1,
              min_value=0.0, max_value=100.0),
    ParamSpec('max_range_m', 'float', 'Altimeter: longest valid range, m', 50.0,
              min_value=0.1, max_value=1000.0),
    ParamSpec('field_of_view_deg', 'float', 'Altimeter: beam width, deg', 6.0,
              min_value=0.1, max_value=90.0),
]


class SerialSensorNode(StreamDriverNode):
    def __init__(self, **kwargs):
        super().__init__('serial_sensor', SPECS, **kwargs)
        self.lines = LineSplitter(512)
        proto = self.params.protocol
        if proto == 'vectornav_ymr':
            self.imu_pub = self.create_publisher(Imu, 'imu/data', qos.SENSOR)
        elif proto == 'paroscientific':
            self.pressure_pub = self.create_publisher(FluidPressure, 'pressure', qos.SENSOR)
            self.depth_pub = self.create_publisher(Float64, 'depth', qos.SENSOR)
        else:
            self.range_pub = self.create_publisher(Range, 'altimeter', qos.SENSOR)
        self._dropped = 0

    def on_bytes(self, stamp, data: bytes) -> None:
        lines = self.lines.feed(data)
        if self.lines.dropped > self._dropped:
            self.count_bad('overlong or non-ASCII line', self.lines.dropped - self._dropped)
            self._dropped = self.lines.dropped
        for line in lines:
            try:
                self.handle_line(stamp, line)
            except SensorError as err:
                self.count_bad(str(err))
            else:
                self.count_good()

    def handle_line(self, stamp, line: str) -> None:
        p = self.params
        header_stamp = stamp.to_msg()
        if p.protocol == 'vectornav_ymr':
            s = parse_vn_ymr(line, p.allow_no_checksum)
            yaw, pitch, roll = (math.radians(a) for a in s.ypr_deg)
            msg = Imu()
            msg.header.stamp = header_stamp
            msg.header.frame_id = p.frame_id
            x, y, z, w = quat_to_ros(quat_from_rpy(*attitude_ned_to_enu(roll, pitch, yaw)))
            msg.orientation.x, msg.orientation.y, msg.orientation.z, msg.orientation.w = \
                x, y, z, w
            a = frd_to_flu(s.accel_mps2)
            g = frd_to_flu(s.gyro_rps)
            msg.linear_acceleration.x, msg.linear_acceleration.y, msg.linear_acceleration.z = \
                (float(v) for v in a)
            msg.angular_velocity.x, msg.angular_velocity.y, msg.angular_velocity.z = \
                (float(v) for v in g)
            self.imu_pub.publish(msg)
        elif p.protocol == 'paroscientific':
            pa = parse_paroscientific(line, p.pressure_unit)
            fp = FluidPressure()
            fp.header.stamp = header_stamp
            fp.header.frame_id = p.frame_id
            fp.fluid_pressure = pa
            self.pressure_pub.publish(fp)
            self.depth_pub.publish(Float64(data=depth_m(pa, p.surface_pressure_pa,
                                                        p.water_density_kg_m3)))
        else:
            r = parse_altimeter(line, p.min_range_m, p.max_range_m)
            msg = Range()
            msg.header.stamp = header_stamp
            msg.header.frame_id = p.frame_id
            msg.radiation_type = Range.ULTRASOUND
            msg.field_of_view = math.radians(p.field_of_view_deg)
            msg.min_range, msg.max_range = p.min_range_m, p.max_range_m
            msg.range = r
            self.range_pub.publish(msg)


def main(args=None):
    run_node(SerialSensorNode, args)
