"""Tier 2: the estimator node in-process (parameter_overrides, events not sleeps)."""
import math
import os
import time

import pytest
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter
from sensor_msgs.msg import FluidPressure, Imu, NavSatFix

from kaiyo_common.geodesy import TOWER
from kaiyo_common.params import ParameterContractError
from kaiyo_common.testing import Probe, ros_context
from kaiyo_navigation.ekf import normal_gravity, quaternion_from_rpy
from kaiyo_navigation.estimator_node import EstimatorNode

NS = f'/est_test_{os.getpid()}'   # other test processes may share the ROS domain


def imu_msg(node, yaw):
    m = Imu()
    m.header.stamp = node.get_clock().now().to_msg()
    w, x, y, z = quaternion_from_rpy(0.0, 0.0, yaw)
    m.orientation.w, m.orientation.x, m.orientation.y, m.orientation.z = w, x, y, z
    return m


def pressure_msg(node, depth):
    m = FluidPressure()
    m.header.stamp = node.get_clock().now().to_msg()
    m.fluid_pressure = 101325.0 + 1025.0 * normal_gravity(TOWER.lat_deg) * depth
    return m


def test_missing_vehicle_parameter_is_refused():
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match='vehicle'):
            EstimatorNode(context=ctx)
        with pytest.raises(ParameterContractError, match='no_such_boat'):
            EstimatorNode(context=ctx, parameter_overrides=[
                Parameter('vehicle', value='no_such_boat')])


def test_odometry_from_imu_and_pressure_and_bad_input_survives():
    with ros_context() as ctx:
        node = EstimatorNode(context=ctx, namespace=NS, parameter_overrides=[
            Parameter('vehicle', value='hover_auv'),
            Parameter('initial_position_m', value=[5.0, 6.0, -7.0])])
        probe = Probe(ctx)
        odom = probe.collect(Odometry, f'{NS}/odometry')
        fixes = probe.collect(NavSatFix, f'{NS}/odometry/fix')
        imu_pub = probe.node.create_publisher(Imu, f'{NS}/imu/data', 10)
        p_pub = probe.node.create_publisher(FluidPressure, f'{NS}/pressure', 10)
        assert probe.wait_for_subscribers(p_pub, nodes=[node])
        assert probe.wait_for_subscribers(imu_pub, nodes=[node])
        yaw = 0.7
        bad = pressure_msg(probe.node, 0.0)
        bad.fluid_pressure = math.nan                  # must be dropped, not crash the node

        sent = [0, 0.0]

        def consumed() -> int:
            return sum(sum(c.values()) for c in node.counts.values())

        def feed():
            # send the next IMU + pressure pair (and a bad one) once the last was consumed,
            # so a loaded machine never builds a backlog the filter would find stale
            # (or after 1 s, should a best-effort message have been lost)
            if consumed() >= sent[0] or time.monotonic() - sent[1] > 1.0:
                imu_pub.publish(imu_msg(probe.node, yaw))
                p_pub.publish(pressure_msg(probe.node, 7.0))
                p_pub.publish(bad)
                sent[0], sent[1] = consumed() + 3, time.monotonic()
            return False
        # hover_auv's pressure port sits 0.2 m above base_link (vehicle YAML lever arm), so
        # 7.0 m at the port is 7.2 m at the body origin
        assert probe.spin_until(lambda: feed() or (
            odom and abs(odom[-1].pose.pose.position.z + 7.2) < 0.02), timeout=30.0,
            nodes=[node])
        o = odom[-1]
        assert o.header.frame_id == 'map' and o.child_frame_id == 'base_link'
        q = o.pose.pose.orientation
        assert math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y ** 2 + q.z ** 2)) == \
            pytest.approx(yaw, abs=0.01)
        assert o.pose.pose.position.x == pytest.approx(5.0, abs=0.5)
        assert o.pose.covariance[0] > 0
        assert probe.spin_until(lambda: fixes, timeout=5.0, nodes=[node])
        lat, lon, _ = TOWER.to_geodetic(o.pose.pose.position.x, o.pose.pose.position.y, 0.0)
        assert fixes[-1].latitude == pytest.approx(lat, abs=1e-4)
        assert fixes[-1].longitude == pytest.approx(lon, abs=1e-4)
        assert node.counts['pressure'].get('rejected_invalid', 0) >= 1
        probe.destroy()
        node.destroy_node()


def test_shipped_params_files_match_the_contract():
    from pathlib import Path

    import yaml

    from kaiyo_common.params import validate_all
    from kaiyo_navigation.estimator_node import SPECS
    config = Path(__file__).resolve().parent.parent / 'config'
    for name in ('hover_auv', 'camera_robot', 'wave_boat'):
        values = yaml.safe_load((config / f'{name}.yaml').read_text())['/**']['ros__parameters']
        assert validate_all(SPECS, values)['vehicle'] == name
