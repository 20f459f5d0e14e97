"""Tier 2: the thruster node over a socat PTY to a KTP controller peer: arm via the service,
command round trip in telemetry, the command watchdog, corrupt frames, and unplug/replug."""
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.parameter import Parameter
from std_srvs.srv import SetBool

from kaiyo_common import qos
from kaiyo_common.testing import Probe, ros_context
from kaiyo_drivers.peers.thruster_controller import ThrusterControllerPeer
from kaiyo_drivers.testing import SocatPty
from kaiyo_drivers.thruster_node import ThrusterNode
from kaiyo_interfaces.msg import ThrusterCommand, ThrusterState

NAMES = ['surge_l', 'surge_r']


def call(probe, node, client, req, timeout=5.0):
    fut = client.call_async(req)
    assert probe.spin_until(fut.done, timeout, [node])
    return fut.result()


def test_thrusters_over_pty(tmp_path):
    a, b = tmp_path / 'thr', tmp_path / 'board'
    pair = SocatPty(a, b).start()
    peer = ThrusterControllerPeer(str(b), 2).start()
    try:
        with ros_context() as ctx:
            node = ThrusterNode(context=ctx, namespace='/hover_auv', parameter_overrides=[
                Parameter('port', value=str(a)), Parameter('thruster_names', value=NAMES),
                Parameter('reconnect_initial_s', value=0.05),
                Parameter('reconnect_max_s', value=0.2), Parameter('stale_after_s', value=0.5),
                Parameter('diagnostic_period_s', value=0.1),
                Parameter('command_timeout_s', value=0.3)])
            probe = Probe(ctx)
            states = probe.collect(ThrusterState, '/hover_auv/thrusters/state', qos.SENSOR)
            diags = probe.collect(DiagnosticArray, '/hover_auv/diagnostics')
            pub = probe.node.create_publisher(ThrusterCommand, '/hover_auv/thrusters/command',
                                              qos.RELIABLE)
            arm = probe.node.create_client(SetBool, '/hover_auv/thrusters/arm')
            assert arm.wait_for_service(timeout_sec=5.0)
            assert probe.spin_until(lambda: node.runner.stats.connects == 1, 5, [node])
            res = call(probe, node, arm, SetBool.Request(data=True))
            assert res.success, res.message
            assert probe.wait_for_subscribers(pub, 1, 5, [node])

            def command(t0, t1):
                pub.publish(ThrusterCommand(names=NAMES, thrust_n=[t0, t1]))
                return False

            # the commanded thrust comes back in the controller's telemetry
            assert probe.spin_until(lambda: command(12.5, -4.0) or (
                states and abs(states[-1].thrust_n[0] - 12.5) < 0.01
                and abs(states[-1].thrust_n[1] + 4.0) < 0.01), 5, [node])
            assert all(states[-1].ok)
            # unknown names are dropped, not applied
            pub.publish(ThrusterCommand(names=['nope'], thrust_n=[30.0]))
            assert probe.spin_until(lambda: node.rejected_commands >= 1, 5, [node])
            # commands stop: the driver's watchdog sends zeros within command_timeout_s
            assert probe.spin_until(lambda: states and states[-1].thrust_n[0] == 0.0
                                    and node.watchdog_trips == 1, 5, [node])
            # a corrupted telemetry frame is dropped and counted, the stream goes on
            peer.corrupt_next = True
            assert probe.spin_until(lambda: node.bad_frames >= 1, 5, [node])
            n = len(states)
            assert probe.spin_until(lambda: len(states) > n + 2, 5, [node])
            assert probe.spin_until(lambda: diags and diags[-1].status[0].level
                                    == DiagnosticStatus.OK, 5, [node])

            # unplug the board: ERROR with the reason; arm fails cleanly while it is gone
            peer.stop()
            pair.close()
            assert probe.spin_until(lambda: diags[-1].status[0].level
                                    == DiagnosticStatus.ERROR, 10, [node])
            res = call(probe, node, arm, SetBool.Request(data=True))
            assert not res.success and 'not connected' in res.message

            # plug it back in: reconnect, re-arm, thrust flows again
            pair = SocatPty(a, b).start()
            peer = ThrusterControllerPeer(str(b), 2).start()
            assert probe.spin_until(lambda: node.runner.stats.connects >= 2, 10, [node])
            res = call(probe, node, arm, SetBool.Request(data=True))
            assert res.success, res.message
            assert probe.spin_until(lambda: command(3.0, 3.0) or (
                abs(states[-1].thrust_n[0] - 3.0) < 0.01), 5, [node])
            assert probe.spin_until(lambda: diags[-1].status[0].level
                                    == DiagnosticStatus.OK, 5, [node])
            # the controller refuses out-of-range / not-armed requests: the service says so
            peer.silent = True
            res = call(probe, node, arm, SetBool.Request(data=False))
            assert not res.success and 'no ACK' in res.message
            node.shutdown()
            node.destroy_node()
            probe.destroy()
    finally:
        peer.stop()
        pair.close()
