"""Tier 2: executor and supervisor nodes in-process, against the ControllerPeer test fixture.

Each test waits on events (goal results, messages, service replies) with timeouts, never
on sleeps. Missions are small (tens of metres) and the test peer moves at 2 m/s, so each
run takes a few seconds of wall time.
"""
import json
import threading
import time

import pytest
from mission_test_peers import ControllerPeer
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from std_msgs.msg import Bool

from kaiyo_common.params import ParameterContractError
from kaiyo_common.qos import EVENTS, RELIABLE
from kaiyo_interfaces.msg import SafetyEvent, VehicleStatus
from kaiyo_mission.client import MissionClient, MissionOutcome
from kaiyo_mission.executor_node import MissionExecutorNode
from kaiyo_mission.supervisor_node import SafetySupervisorNode

pytestmark = pytest.mark.ros

MISSION = """\
mission: node-test
vehicle: hover_auv
limits: {max_depth: 25, min_altitude: 1, max_duration: 600, battery_reserve: 0.2,
         geofence: [{x: -100, y: -100}, {x: 100, y: -100}, {x: 100, y: 100}, {x: -100, y: 100}]}
steps:
  - goto: {x: 6, y: 0, depth: 2}
  - hover_photo: {x: 6, y: 4, depth: 2, duration: 1}
  - goto: {x: 20, y: 4, depth: 2}
  - surface: {}
"""


def executor_node(ctx, **params):
    overrides = [Parameter('timeout_margin_s', value=20.0)] + \
        [Parameter(k, value=v) for k, v in params.items()]
    return MissionExecutorNode(context=ctx, namespace='hover_auv',
                               parameter_overrides=overrides)


def supervisor_node(ctx, tmp_path, **params):
    overrides = [Parameter('event_log', value=str(tmp_path / 'safety.jsonl')),
                 Parameter('monitored_sensors', value=['dvl'])] + \
        [Parameter(k, value=v) for k, v in params.items()]
    return SafetySupervisorNode(context=ctx, namespace='hover_auv',
                                parameter_overrides=overrides)


def wait(cond, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)   # the rig spins in its own thread; this only polls a flag
    return True


def run_to_end(client, timeout=60.0):
    deadline = time.monotonic() + timeout
    seen = []
    while not client.is_done():
        if client.feedback is not None:
            seen.append(client.feedback)
        assert time.monotonic() < deadline, 'mission did not end'
    return seen


def test_mission_runs_to_success_with_feedback(rig):
    peer = rig.add(ControllerPeer(rig.ctx))
    rig.add(executor_node(rig.ctx))
    rig.start()
    client = MissionClient('hover_auv', context=rig.ctx)
    try:
        assert wait(lambda: peer.count_subscribers('/hover_auv/odometry') > 0)
        assert client.start(MISSION, 'node.yaml'), client.result
        feedback = run_to_end(client)
        res = client.result
        assert res.outcome is MissionOutcome.SUCCEEDED, res
        assert res.steps_completed == 4 and res.duration_s > 0
        progress = [f.progress for f in feedback]
        assert progress and max(progress) > 0.5
        assert {f.step_name for f in feedback} >= {'goto', 'hover_photo'}
        assert peer.mode_requests[0] == VehicleStatus.MODE_AUTO
        assert peer.mode_requests[-1] == VehicleStatus.MODE_HOLD   # left holding
        assert peer.depth < 0.5 and abs(peer.x - 20) < 1.5
        assert all(sp.header.frame_id == 'map' for sp in peer.setpoints)
    finally:
        client.destroy()


def test_mission_runs_on_a_single_threaded_executor(rig):
    # the action callback waits for the run in a thread of its own, so the timer that drives
    # the run keeps going on the executor's one thread (as in `kaiyo demo`, executor: single)
    peer = rig.add(ControllerPeer(rig.ctx))
    rig.start()
    # this test is about threading, not the odometry watchdog: a loaded host may leave the
    # peer's thread unscheduled for longer than the at-sea 2 s
    node = executor_node(rig.ctx, odometry_timeout_s=10.0)
    single = SingleThreadedExecutor(context=rig.ctx)
    single.add_node(node)
    thread = threading.Thread(target=single.spin, daemon=True)
    thread.start()
    client = MissionClient('hover_auv', context=rig.ctx)
    try:
        assert wait(lambda: peer.count_subscribers('/hover_auv/odometry') > 0)
        assert client.start(MISSION, 'node.yaml'), client.result
        run_to_end(client)
        assert client.result.outcome is MissionOutcome.SUCCEEDED, client.result
        assert client.result.steps_completed == 4
    finally:
        client.destroy()
        node.shutdown()
        single.shutdown(timeout_sec=2.0)
        thread.join(timeout=5.0)
        node.destroy_node()


def test_invalid_mission_is_refused_with_file_line_errors(rig):
    rig.add(ControllerPeer(rig.ctx))
    rig.add(executor_node(rig.ctx))
    rig.start()
    client = MissionClient('hover_auv', context=rig.ctx)
    try:
        bad = MISSION.replace('depth: 2, duration: 1', 'depth: 40, duration: 1')
        assert client.start(bad, 'bad.yaml')
        run_to_end(client)
        assert client.result.outcome is MissionOutcome.INVALID
        assert 'bad.yaml:7: max_depth:' in client.result.reason
        resp = client.validate(bad, 'bad.yaml')
        assert resp is not None and not resp.valid
        assert any(e.startswith('bad.yaml:7: max_depth:') for e in resp.errors)
        ok = client.validate(MISSION, 'ok.yaml')
        assert ok.valid and ok.estimated_duration_s > 0 and ok.estimated_energy_wh > 0
    finally:
        client.destroy()


def test_controller_refusing_auto_fails_the_mission(rig):
    peer = rig.add(ControllerPeer(rig.ctx))
    peer.refuse_auto = True
    rig.add(executor_node(rig.ctx))
    rig.start()
    client = MissionClient('hover_auv', context=rig.ctx)
    try:
        assert wait(lambda: peer.count_subscribers('/hover_auv/odometry') > 0)
        assert client.start(MISSION, 'node.yaml')
        run_to_end(client)
        assert client.result.outcome is MissionOutcome.FAILED
        assert 'refused AUTO' in client.result.reason
    finally:
        client.destroy()


def test_pause_resume_and_cancel(rig):
    peer = rig.add(ControllerPeer(rig.ctx))
    rig.add(executor_node(rig.ctx))
    rig.start()
    client = MissionClient('hover_auv', context=rig.ctx)
    try:
        assert wait(lambda: peer.count_subscribers('/hover_auv/odometry') > 0)
        assert client.start(MISSION.replace('x: 20', 'x: 90'), 'node.yaml')
        while client.feedback is None:
            assert not client.is_done()
        ok, msg = client.pause(True)
        assert ok, msg
        deadline = time.monotonic() + 5
        while client.feedback.state != 'paused':
            client.is_done()
            assert time.monotonic() < deadline
        x_paused = peer.x
        n = len(peer.setpoints)
        deadline = time.monotonic() + 5
        while len(peer.setpoints) < n + 5:   # half a second of setpoints at 10 Hz
            client.is_done()
            assert time.monotonic() < deadline
        assert abs(peer.x - x_paused) < 1.0          # holding, not flying on
        assert peer.setpoints[-1].mask == 1 | 2      # USE_POSITION | USE_DEPTH
        ok, msg = client.pause(False)
        assert ok, msg
        assert client.cancel(timeout=10.0)
        assert client.result.outcome is MissionOutcome.CANCELED
        assert peer.mode_requests[-1] == VehicleStatus.MODE_HOLD
        ok, msg = client.pause(True)
        assert not ok and 'no mission' in msg
    finally:
        client.destroy()


def test_supervisor_takes_over_on_leak_and_latches_until_acknowledged(rig, tmp_path):
    peer = rig.add(ControllerPeer(rig.ctx))
    rig.add(executor_node(rig.ctx))
    # this test is about the leak rule: a loaded CI host must not fire the status watchdog
    rig.add(supervisor_node(rig.ctx, tmp_path, status_timeout_s=10.0))
    events = []
    probe = rig.add(_probe(rig.ctx, events))
    leak_pub = probe.create_publisher(Bool, '/hover_auv/leak', RELIABLE)
    rig.start()
    client = MissionClient('hover_auv', context=rig.ctx)
    try:
        assert wait(lambda: peer.count_subscribers('/hover_auv/odometry') > 1)
        assert client.start(MISSION.replace('x: 20', 'x: 90'), 'node.yaml')
        while client.feedback is None or client.feedback.step_index < 1:
            assert not client.is_done()   # spins the client for up to 0.1 s
        assert wait(lambda: leak_pub.get_subscription_count() > 0)
        leak_pub.publish(Bool(data=True))
        run_to_end(client)
        assert client.result.outcome is MissionOutcome.ABORTED_SAFETY, client.result
        assert 'leak' in client.result.reason
        assert wait(lambda: peer.mode == VehicleStatus.MODE_SURFACE)
        assert wait(lambda: peer.depth < 0.3)
        leak = [e for e in events if e.rule == 'leak']
        assert leak and leak[0].action == SafetyEvent.ACTION_SURFACE and leak[0].latched
        # latched: a new mission is refused until an operator acknowledges
        client.result = None
        assert client.start(MISSION, 'again.yaml')
        run_to_end(client)
        assert client.result.outcome is MissionOutcome.ABORTED_SAFETY
        assert 'acknowledge' in client.result.reason
        ok, msg = client.acknowledge('leak', 'tester')
        assert ok and 'cleared 1' in msg, msg
        assert wait(lambda: any(e.rule == 'leak' and not e.active for e in events))
        log = [json.loads(line) for line in (tmp_path / 'safety.jsonl').read_text().splitlines()]
        assert [(r['rule'], r['active']) for r in log] == [('leak', True), ('leak', False)]
        assert log[0]['mission'] == 'node-test' and 'tester' in log[1]['message']
    finally:
        client.destroy()


def test_supervisor_reenforces_its_action_if_someone_switches_back(rig, tmp_path):
    peer = rig.add(ControllerPeer(rig.ctx))
    rig.add(supervisor_node(rig.ctx, tmp_path, max_depth_m=10.0, command_retry_s=0.2))
    events = []
    rig.add(_probe(rig.ctx, events))
    rig.start()
    peer.depth = 12.0
    assert wait(lambda: peer.mode == VehicleStatus.MODE_SURFACE)
    assert [e.rule for e in events if e.active] == ['max_depth']
    assert events[0].value == pytest.approx(12.0, abs=0.3) and events[0].limit == 10.0
    peer.frozen = True                      # stay deep, then an "executor" sets AUTO again
    peer.mode = VehicleStatus.MODE_AUTO
    n = len(peer.mode_requests)
    assert wait(lambda: len(peer.mode_requests) > n and peer.mode == VehicleStatus.MODE_SURFACE)
    assert len([e for e in events if e.active]) == 1   # latched: one event, not a stream


def test_bad_supervisor_parameters_are_refused(rig, tmp_path):
    with pytest.raises(ParameterContractError, match='geofence'):
        supervisor_node(rig.ctx, tmp_path, geofence='35.3, 139.3; 35.31')
    with pytest.raises(ParameterContractError, match='monitored_sensors'):
        supervisor_node(rig.ctx, tmp_path, monitored_sensors=['sonar'])
    with pytest.raises(ParameterContractError, match='action_leak'):
        supervisor_node(rig.ctx, tmp_path, action_leak='panic')
    with pytest.raises(ParameterContractError, match='rate_hz'):
        executor_node(rig.ctx, rate_hz=0.0)


def _probe(ctx, events):
    from rclpy.node import Node
    node = Node('probe', context=ctx)
    node.create_subscription(SafetyEvent, '/hover_auv/safety/events', events.append, EVENTS)
    return node


def test_installed_params_files_load(rig, tmp_path):
    config = __import__('pathlib').Path(__file__).resolve().parents[1] / 'config'
    sup = supervisor_node(rig.ctx, tmp_path)
    sup.destroy_node()
    sup = SafetySupervisorNode(context=rig.ctx, namespace='hover_auv', cli_args=[
        '--ros-args', '--params-file', str(config / 'safety_supervisor.yaml'),
        '-p', f'event_log:={tmp_path / "s.jsonl"}'])
    assert sup.config.max_depth_m == 300.0 and sup.config.geofence_xy is None
    assert {w.name for w in sup.config.sensors} == {'imu', 'pressure', 'dvl', 'altimeter'}
    sup.shutdown()
    sup.destroy_node()
    ex = MissionExecutorNode(context=rig.ctx, namespace='hover_auv', cli_args=[
        '--ros-args', '--params-file', str(config / 'mission_executor.yaml')])
    assert ex.params.rate_hz == 10.0 and ex.params.acceptance_radius_m == 1.0
    ex.destroy_node()


def test_fence_parameter_parsing():
    from kaiyo_mission.supervisor_node import parse_fence
    assert parse_fence('35.31, 139.34; 35.31, 139.35; 35.30, 139.35;') == \
        [(35.31, 139.34), (35.31, 139.35), (35.30, 139.35)]
    with pytest.raises(ParameterContractError, match="point 2 '35.31' must be 'lat, lon'"):
        parse_fence('35.31, 139.34; 35.31; 35.30, 139.35')
    with pytest.raises(ParameterContractError, match='outside lat'):
        parse_fence('95, 139.34; 35.31, 139.35; 35.30, 139.35')


def test_invalid_dvl_samples_count_as_silence():
    from kaiyo_interfaces.msg import DvlVelocity
    from kaiyo_mission.supervisor_node import _sensor_value
    msg = DvlVelocity(velocity_valid=True)
    msg.velocity.x = 0.3
    assert _sensor_value('dvl', msg) == (0.3, 0.0, 0.0)
    msg.velocity_valid = False
    assert _sensor_value('dvl', msg) is None
    msg.velocity_valid, msg.velocity.x = True, float('nan')
    assert _sensor_value('dvl', msg) is None
