"""Tier 2: gamepad and keyboard teleop nodes in-process (keyboard fed through a pipe)."""
import os

from geometry_msgs.msg import TwistStamped
from sensor_msgs.msg import Joy

from kaiyo_common.testing import Probe, ros_context
from kaiyo_control.teleop_nodes import JoyTeleopNode, KeyboardTeleopNode

NS = f'/teleop_test_{os.getpid()}'   # other test processes may share the ROS domain


def test_joy_to_pilot_command_and_timeout():
    with ros_context() as ctx:
        node = JoyTeleopNode(context=ctx, namespace=NS)
        probe = Probe(ctx)
        got = probe.collect(TwistStamped, f'{NS}/pilot/command')
        pub = probe.node.create_publisher(Joy, f'{NS}/joy', 10)
        assert probe.wait_for_subscribers(pub, nodes=[node])

        def surging():
            pub.publish(Joy(axes=[0.0, 0.8, 0.0, 0.0, 0.0], buttons=[0, 0, 0, 0]))
            return got and got[-1].twist.linear.x > 0.7
        assert probe.spin_until(surging, timeout=5.0, nodes=[node])
        pub.publish(Joy(axes=[0.0], buttons=[]))                 # too few axes: dropped
        # no more joy messages: the node falls back to zero sticks
        assert probe.spin_until(lambda: got[-1].twist.linear.x == 0.0, timeout=5.0,
                                nodes=[node])
        probe.destroy()
        node.destroy_node()


def test_keyboard_from_a_pipe():
    r, w = os.pipe()
    stream = os.fdopen(r, 'r')
    try:
        with ros_context() as ctx:
            node = KeyboardTeleopNode(stream=stream, context=ctx, namespace=NS)
            probe = Probe(ctx)
            got = probe.collect(TwistStamped, f'{NS}/pilot/command')
            os.write(w, b'www wwra')         # space zeroes all before 'wwra'
            assert probe.spin_until(
                lambda: got and abs(got[-1].twist.linear.x - 0.2) < 1e-6
                and abs(got[-1].twist.angular.z - 0.1) < 1e-6
                and abs(got[-1].twist.linear.z - 0.1) < 1e-6,
                timeout=5.0, nodes=[node])
            probe.destroy()
            node.destroy_node()
    finally:
        os.close(w)
        stream.close()
