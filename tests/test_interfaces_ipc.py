"""kaiyo_interfaces across two processes: a custom message, a service and an action."""
import subprocess
import sys
from pathlib import Path

import pytest
from rclpy.action import ActionClient

from kaiyo_common.qos import LATCHED
from kaiyo_common.testing import Probe, ros_context, stop_process
from kaiyo_interfaces.action import RunMission
from kaiyo_interfaces.msg import SeabedObservation
from kaiyo_interfaces.srv import SetControlMode

PEER = Path(__file__).with_name('interfaces_peer.py')


@pytest.fixture
def peer():
    proc = subprocess.Popen([sys.executable, str(PEER), '--ros-args', '-r', '__ns:=/ipc'])
    yield proc
    # the peer is test scaffolding: ask politely, then make sure it is gone
    stop_process(proc, timeout=10)


def test_message_service_and_action_cross_processes(peer):
    with ros_context() as ctx:
        probe = Probe(ctx)
        got = probe.collect(SeabedObservation, '/ipc/seabed/observations', LATCHED)
        assert probe.spin_until(lambda: got, timeout=20.0)
        assert got[0].vehicle == 'peer' and got[0].urchin_count == 7
        assert got[0].seabed_cover[SeabedObservation.CLASS_SEAWEED] == pytest.approx(0.375)

        client = probe.node.create_client(SetControlMode, '/ipc/set_control_mode')
        assert probe.spin_until(client.service_is_ready, timeout=20.0)
        future = client.call_async(SetControlMode.Request(mode=SetControlMode.Request.MODE_AUTO))
        assert probe.spin_until(future.done, timeout=10.0)
        assert future.result().success
        assert future.result().previous_mode == SetControlMode.Request.MODE_MANUAL
        future = client.call_async(SetControlMode.Request(mode=42))
        assert probe.spin_until(future.done, timeout=10.0)
        assert not future.result().success and 'unknown mode 42' in future.result().message

        action = ActionClient(probe.node, RunMission, '/ipc/run_mission')
        assert probe.spin_until(action.server_is_ready, timeout=20.0)
        feedback = []
        send = action.send_goal_async(
            RunMission.Goal(mission_yaml='steps:\n- a\n- b\n- c\n', file_name='m.yaml'),
            feedback_callback=lambda f: feedback.append(f.feedback))
        assert probe.spin_until(send.done, timeout=10.0)
        handle = send.result()
        assert handle.accepted
        result = handle.get_result_async()
        assert probe.spin_until(result.done, timeout=20.0)
        res = result.result().result
        assert res.outcome == RunMission.Result.OUTCOME_SUCCEEDED
        assert res.steps_completed == 3 and res.reason == 'm.yaml'
        assert [f.step_index for f in feedback] == [0, 1, 2]
        assert feedback[-1].progress == pytest.approx(1.0)
        action.destroy()
        client.destroy()
        probe.destroy()
