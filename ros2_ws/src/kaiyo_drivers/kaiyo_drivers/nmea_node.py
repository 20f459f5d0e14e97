"""ROS node: NMEA 0183 GNSS / heading receiver over serial, UDP or TCP.

Publishes, per receiver reporting cycle (kaiyo_drivers.nmea): `fix` (sensor_msgs/NavSatFix;
status NO_FIX with NaN position when the receiver has no fix), `vel`
(geometry_msgs/TwistStamped, ENU m/s from speed over ground and track), and `heading`
(geometry_msgs/QuaternionStamped, ENU yaw from a true heading: HDT / THS / PASHR, which
also carries roll and pitch). Bad sentences are dropped and counted in diagnostics.
"""
from __future__ import annotations

import math
import time

from geometry_msgs.msg import QuaternionStamped, TwistStamped
from sensor_msgs.msg import NavSatFix, NavSatStatus

from kaiyo_common import qos
from kaiyo_common.frames import attitude_ned_to_enu, quat_from_rpy, quat_to_ros
from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParamSpec
from kaiyo_drivers.nmea import Fix, NmeaDecoder
from kaiyo_drivers.stream_node import StreamDriverNode, link_specs

SPECS = link_specs(transport='serial', baud=4800, stale_after_s=3.0) + [
    ParamSpec('require_checksum', 'bool', 'Drop sentences without a *HH checksum', True),
    ParamSpec('cycle_gap_s', 'float', 'A silence this long ends the receiver\'s reporting '
              'cycle, so a fix is published without waiting for the next cycle, s', 0.15,
              min_value=0.01, max_value=2.0),
    ParamSpec('uere_m', 'float', 'User equivalent range error: 1-sigma horizontal error = '
              'HDOP x this, m', 4.0, min_value=0.01, max_value=100.0),
]

_SERVICE = {'GP': NavSatStatus.SERVICE_GPS, 'GL': NavSatStatus.SERVICE_GLONASS,
            'GA': NavSatStatus.SERVICE_GALILEO, 'GB': NavSatStatus.SERVICE_COMPASS,
            'BD': NavSatStatus.SERVICE_COMPASS, 'QZ': NavSatStatus.SERVICE_GPS,
            'GN': NavSatStatus.SERVICE_GPS | NavSatStatus.SERVICE_GLONASS}


def navsat_status(fix: Fix) -> int:
    if fix.mode is None or fix.mode < 2:
        return NavSatStatus.STATUS_NO_FIX
    if fix.quality in (4, 5):                 # RTK fixed / float
        return NavSatStatus.STATUS_GBAS_FIX
    if fix.quality == 2:                      # DGPS / SBAS
        return NavSatStatus.STATUS_SBAS_FIX
    return NavSatStatus.STATUS_FIX


class NmeaNode(StreamDriverNode):
    def __init__(self, **kwargs):
        super().__init__('nmea_driver', SPECS, **kwargs)
        self.decoder = NmeaDecoder(require_checksum=self.params.require_checksum)
        self.fix_pub = self.create_publisher(NavSatFix, 'fix', qos.SENSOR)
        self.vel_pub = self.create_publisher(TwistStamped, 'vel', qos.SENSOR)
        self.heading_pub = self.create_publisher(QuaternionStamped, 'heading', qos.SENSOR)
        self._dropped_seen = 0
        self._last_rx = time.monotonic()
        self.create_timer(0.02, self.on_gap)

    def on_gap(self) -> None:
        # receivers send a cycle as one burst: after a pause it is complete (latency of
        # cycle_gap_s instead of a whole epoch)
        if self.decoder.pending and time.monotonic() - self._last_rx > self.params.cycle_gap_s:
            for fix in self.decoder.flush():
                self.publish_fix(self.get_clock().now(), fix)

    def on_bytes(self, stamp, data: bytes) -> None:
        self._last_rx = time.monotonic()
        fixes = self.decoder.feed_bytes(data)
        records = self.decoder.take_records()
        s = self.decoder.stats
        dropped = s.bad_checksum + s.malformed + self.decoder.splitter.dropped
        if dropped > self._dropped_seen:
            self.count_bad(s.last_error or 'unterminated / binary line',
                           dropped - self._dropped_seen)
            self._dropped_seen = dropped
        if records:
            self.count_good(len(records))
        for fix in fixes:
            self.publish_fix(stamp, fix)

    def publish_fix(self, stamp, fix: Fix) -> None:
        header_stamp = stamp.to_msg()
        msg = NavSatFix()
        msg.header.stamp = header_stamp
        msg.header.frame_id = self.params.frame_id
        msg.status.status = navsat_status(fix)
        service = 0
        for t in fix.talkers:
            service |= _SERVICE.get(t, 0)
        msg.status.service = service or NavSatStatus.SERVICE_GPS
        if msg.status.status == NavSatStatus.STATUS_NO_FIX or fix.lat is None:
            msg.latitude = msg.longitude = msg.altitude = math.nan
            msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_UNKNOWN
        else:
            msg.latitude, msg.longitude = fix.lat, fix.lon
            msg.altitude = fix.alt_msl if fix.alt_msl is not None else math.nan
            if fix.hdop is not None:
                h = (fix.hdop * self.params.uere_m) ** 2
                msg.position_covariance = [h, 0.0, 0.0, 0.0, h, 0.0, 0.0, 0.0, 4.0 * h]
                msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_APPROXIMATED
        self.fix_pub.publish(msg)
        if fix.speed_mps is not None and fix.track_deg is not None:
            vel = TwistStamped()
            vel.header.stamp = header_stamp
            vel.header.frame_id = self.params.frame_id
            track = math.radians(fix.track_deg)        # clockwise from true north
            vel.twist.linear.x = fix.speed_mps * math.sin(track)   # east
            vel.twist.linear.y = fix.speed_mps * math.cos(track)   # north
            self.vel_pub.publish(vel)
        if fix.heading_deg is not None:
            q = QuaternionStamped()
            q.header.stamp = header_stamp
            q.header.frame_id = self.params.frame_id
            # heading/roll/pitch are marine angles (body FRD w.r.t. NED): convert to ENU/FLU
            rpy = attitude_ned_to_enu(math.radians(fix.roll_deg or 0.0),
                                      math.radians(fix.pitch_deg or 0.0),
                                      math.radians(fix.heading_deg))
            x, y, z, w = quat_to_ros(quat_from_rpy(*rpy))
            q.quaternion.x, q.quaternion.y, q.quaternion.z, q.quaternion.w = x, y, z, w
            self.heading_pub.publish(q)

    def extra_health(self) -> dict:
        s = self.decoder.stats
        return {'sentences': str(s.sentences), 'bad_checksum': str(s.bad_checksum),
                'malformed': str(s.malformed), 'unused_types': str(s.unknown)}


def main(args=None):
    run_node(NmeaNode, args)
