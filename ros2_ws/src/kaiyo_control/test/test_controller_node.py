"""Tier 2: the controller node in-process: service, thrust output, status, bad input."""
import math
import os

import pytest
from nav_msgs.msg import Odometry
from rclpy.parameter import Parameter

from kaiyo_common.params import ParameterContractError
from kaiyo_common.testing import Probe, ros_context
from kaiyo_control import vehicle_controller as vc
from kaiyo_control.controller_node import ControllerNode
from kaiyo_control.modes import Mode
from kaiyo_interfaces.msg import MotionSetpoint, ThrusterCommand, VehicleStatus
from kaiyo_interfaces.srv import SetControlMode

# a namespace of our own: other test processes on this host may share the ROS domain
NS = f'/ctl_test_{os.getpid()}'


def test_constants_match_the_interfaces():
    for m in Mode:
        assert getattr(VehicleStatus, f'MODE_{m.name}') == m.value
        assert getattr(SetControlMode.Request, f'MODE_{m.name}') == m.value
    for name in ('USE_POSITION', 'USE_DEPTH', 'USE_ALTITUDE', 'USE_HEADING', 'USE_SURGE',
                 'USE_SWAY', 'USE_PATH'):
        assert getattr(MotionSetpoint, name) == getattr(vc, name)
    for h in vc.Health:
        assert getattr(VehicleStatus, f'HEALTH_{h.name}') == h.value


def test_bad_parameters_refused():
    with ros_context() as ctx:
        with pytest.raises(ParameterContractError, match='vehicle'):
            ControllerNode(context=ctx)
        with pytest.raises(ParameterContractError, match='depth_kp'):
            ControllerNode(context=ctx, parameter_overrides=[
                Parameter('vehicle', value='hover_auv'), Parameter('depth_kp', value=-3.0)])


def odom(probe, depth):
    m = Odometry()
    m.header.stamp = probe.node.get_clock().now().to_msg()
    m.header.frame_id, m.child_frame_id = 'map', 'base_link'
    m.pose.pose.position.z = -depth
    m.pose.pose.orientation.w = 1.0
    return m


def call(probe, node, client, mode, arm=True):
    fut = client.call_async(SetControlMode.Request(mode=mode, arm=arm))
    assert probe.spin_until(fut.done, timeout=5.0, nodes=[node])
    return fut.result()


def test_modes_thrust_status_and_bad_setpoint():
    with ros_context() as ctx:
        node = ControllerNode(context=ctx, namespace=NS, parameter_overrides=[
            Parameter('vehicle', value='hover_auv')])
        probe = Probe(ctx)
        cmds = probe.collect(ThrusterCommand, f'{NS}/thrusters/command')
        status = probe.collect(VehicleStatus, f'{NS}/status')
        client = probe.node.create_client(SetControlMode, f'{NS}/set_control_mode')
        odom_pub = probe.node.create_publisher(Odometry, f'{NS}/odometry', 10)
        sp_pub = probe.node.create_publisher(MotionSetpoint, f'{NS}/setpoint', 10)
        assert probe.spin_until(client.service_is_ready, timeout=5.0, nodes=[node])
        # no odometry yet: AUTO refused, names the reason
        res = call(probe, node, client, SetControlMode.Request.MODE_AUTO)
        assert not res.success and 'odometry' in res.message
        assert probe.wait_for_subscribers(odom_pub, nodes=[node])
        assert probe.wait_for_subscribers(sp_pub, nodes=[node])
        odom_pub.publish(odom(probe, 5.0))
        assert probe.spin_until(lambda: node.estimate is not None, timeout=5.0, nodes=[node])
        res = call(probe, node, client, SetControlMode.Request.MODE_AUTO)
        assert res.success and res.previous_mode == SetControlMode.Request.MODE_MANUAL
        bad = MotionSetpoint(mask=MotionSetpoint.USE_DEPTH, depth_m=math.nan)
        sp_pub.publish(bad)                                    # dropped, node lives on
        sp = MotionSetpoint(mask=MotionSetpoint.USE_DEPTH | MotionSetpoint.USE_HEADING,
                            depth_m=8.0, heading_rad=0.0)
        sp_pub.publish(sp)

        def pushing_down():
            odom_pub.publish(odom(probe, 5.0))
            return cmds and cmds[-1].thrust_n[3] < -1.0 and cmds[-1].thrust_n[4] < -1.0
        assert probe.spin_until(pushing_down, timeout=5.0, nodes=[node])
        assert list(cmds[-1].names) == ['surge_l', 'surge_r', 'sway', 'heave_f', 'heave_a']
        assert node.dropped >= 1
        assert probe.spin_until(lambda: any(s.armed and s.mode == Mode.AUTO for s in status),
                                timeout=5.0, nodes=[node])
        assert status[-1].depth_m == pytest.approx(5.0)
        # odometry stops: stale -> zero thrust and HEALTH_STALE, node keeps publishing
        n = len(cmds)
        assert probe.spin_until(lambda: len(cmds) > n + 5 and not any(cmds[-1].thrust_n),
                                timeout=5.0, nodes=[node])
        assert probe.spin_until(lambda: status[-1].health == VehicleStatus.HEALTH_STALE,
                                timeout=5.0, nodes=[node])
        # shutdown publishes a zero command
        n = len(cmds)
        node.shutdown()
        assert probe.spin_until(lambda: len(cmds) > n, timeout=5.0, nodes=[])
        assert not any(cmds[-1].thrust_n)
        probe.destroy()
        node.destroy_node()


def test_wave_boat_command_carries_rudder():
    with ros_context() as ctx:
        node = ControllerNode(context=ctx, namespace=NS, parameter_overrides=[
            Parameter('vehicle', value='wave_boat')])
        probe = Probe(ctx)
        cmds = probe.collect(ThrusterCommand, f'{NS}/thrusters/command')
        assert probe.spin_until(lambda: cmds, timeout=5.0, nodes=[node])
        assert list(cmds[-1].names) == ['aux', 'rudder_deg']
        probe.destroy()
        node.destroy_node()


def test_a_stop_during_a_publish_still_ends_on_zero(monkeypatch):
    """SIGINT lands while a non-zero command is on its way out (Python runs the handler
    between the controller's check and its publish): that command goes first, the zero
    command after it, and nothing follows the zero."""
    import signal as sig
    with ros_context() as ctx:
        node = ControllerNode(context=ctx, namespace=NS, parameter_overrides=[
            Parameter('vehicle', value='wave_boat')])
        old = {s: sig.getsignal(s) for s in (sig.SIGINT, sig.SIGTERM)}
        try:
            node.install_stop_handlers()
            on_stop = sig.getsignal(sig.SIGINT)
            probe = Probe(ctx)
            # a subscriber, so the zero command's acknowledgement wait has someone to wait for
            probe.collect(ThrusterCommand, f'{NS}/thrusters/command')
            assert probe.wait_for_subscribers(node.thrust_pub, nodes=[node])
            publish = node.thrust_pub.publish
            sent = []

            def publish_with_a_signal(msg):
                if not sent:
                    on_stop(sig.SIGINT, None)      # the handler runs just before the C call
                sent.append(list(msg.thrust_n))
                publish(msg)
            monkeypatch.setattr(node.thrust_pub, 'publish', publish_with_a_signal)
            node.publish_thrust([3.0, 10.0])
            assert sent == [[3.0, 10.0], [0.0, 0.0]]
            assert not ctx.ok()                     # the handler shut the context down after
            node.publish_thrust([4.0, 0.0])         # a timer firing late sends nothing
            assert len(sent) == 2
        finally:
            for s, h in old.items():
                sig.signal(s, h)
        node.destroy_node()
