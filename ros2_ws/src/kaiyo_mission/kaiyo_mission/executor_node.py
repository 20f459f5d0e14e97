"""Mission executor node: the RunMission action server of one vehicle (thin ROS wrapper).

Runs in the vehicle's namespace (e.g. /hover_auv):
  action  run_mission        kaiyo_interfaces/RunMission   (feedback: step, progress, ETA)
  service validate_mission   kaiyo_interfaces/ValidateMission
  service mission/pause      std_srvs/SetBool  (true: pause and hold, false: resume)
  pub     setpoint           kaiyo_interfaces/MotionSetpoint (auto mode of the controller)
  pub     mission/active     std_msgs/String (latched: the running mission's YAML, '' idle;
                             the safety supervisor reads the mission's limits from it)
  sub     odometry, altimeter, status, safety/events
  client  set_control_mode   kaiyo_interfaces/SetControlMode

The state machine is `execution.MissionExecution` (pure). A timer drives it at `rate_hz`;
the action's execute callback only validates, switches the controller to AUTO, waits for
the run to end and reports the outcome. That waiting happens in a thread of its own (the
execute callback awaits it), so the node runs on rclpy's SingleThreadedExecutor (a
multi-threaded one cost ~1.7x the CPU per wake-up) and cancel requests and the timer are
served while a goal executes. Not on rclpy's EventsExecutor: it re-polls an awaiting
callback without pause, so `main` asks for rclpy's whatever KAIYO_EXECUTOR says.

Outcomes map to action terminal states honestly: only SUCCEEDED calls `succeed()`; a
cancel calls `canceled()`; everything else `abort()` with the outcome and the reason.
After success, failure or cancel the controller is put in HOLD; after a safety takeover the
executor leaves the vehicle alone (the supervisor owns it).
"""
from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

from nav_msgs.msg import Odometry
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node
from rclpy.task import Future
from sensor_msgs.msg import Range
from std_msgs.msg import String
from std_srvs.srv import SetBool

from kaiyo_common.node_main import run_node
from kaiyo_common.params import ParamSpec
from kaiyo_common.qos import EVENTS, LATCHED, RELIABLE, SENSOR
from kaiyo_common.ros_params import declare_contract
from kaiyo_interfaces.action import RunMission
from kaiyo_interfaces.msg import MotionSetpoint, SafetyEvent, VehicleStatus
from kaiyo_interfaces.srv import SetControlMode, ValidateMission
from kaiyo_mission.execution import ExecConfig, MissionExecution, Outcome, VehicleState
from kaiyo_mission.planner import DEFAULT_WATER_DEPTH_M
from kaiyo_mission.validator import validate_text

SPECS = [
    ParamSpec('vehicle_type', 'str', "Vehicle YAML name missions must name (''= the namespace, "
              "e.g. /hover_auv2 may set hover_auv)", ''),
    ParamSpec('rate_hz', 'float', 'Setpoint and feedback rate, Hz', 10.0,
              min_value=1.0, max_value=100.0),
    ParamSpec('acceptance_radius_m', 'float', 'Horizontal radius counting as arrived, m', 1.0,
              min_value=0.1, max_value=50.0),
    ParamSpec('vertical_tolerance_m', 'float', 'Depth / altitude error counting as arrived, m',
              0.5, min_value=0.05, max_value=10.0),
    ParamSpec('surface_depth_m', 'float', 'Depth above which the vehicle counts as surfaced, m',
              0.3, min_value=0.05, max_value=5.0),
    ParamSpec('timeout_factor', 'float', 'A leg fails after factor x its estimated time + margin',
              3.0, min_value=1.0, max_value=100.0),
    ParamSpec('timeout_margin_s', 'float', 'Margin added to every leg timeout, s', 60.0,
              min_value=0.0, max_value=3600.0),
    ParamSpec('odometry_timeout_s', 'float', 'No odometry for this long fails the mission, s',
              2.0, min_value=0.1, max_value=60.0),
    ParamSpec('start_timeout_s', 'float', 'At a goal, wait this long for fresh odometry, s',
              5.0, min_value=0.1, max_value=120.0),
    ParamSpec('control_timeout_s', 'float', 'Wait for set_control_mode to answer, s', 5.0,
              min_value=0.1, max_value=60.0),
    ParamSpec('water_depth_m', 'float', 'Site water depth assumed by the estimate, m',
              DEFAULT_WATER_DEPTH_M, min_value=1.0, max_value=11000.0),
]

_FINAL_MODES = {VehicleStatus.MODE_HOLD: 'HOLD', VehicleStatus.MODE_SURFACE: 'SURFACE',
                VehicleStatus.MODE_RETURN: 'RETURN', VehicleStatus.MODE_MANUAL: 'MANUAL',
                VehicleStatus.MODE_STABILIZED: 'STABILIZED'}


class MissionExecutorNode(Node):
    def __init__(self, **kwargs):
        super().__init__('mission_executor', **kwargs)
        self.params = declare_contract(self, SPECS)
        self.vehicle = self.get_namespace().strip('/') or 'vehicle'
        self.vehicle_type = self.params.vehicle_type or self.vehicle
        self.group = ReentrantCallbackGroup()
        self.lock = threading.Lock()
        self.run: MissionExecution | None = None
        self.goal_handle = None
        self.done_event = threading.Event()
        self.odom_event = threading.Event()
        self.state: VehicleState | None = None
        self.altitude = math.nan
        self.altitude_stamp = -math.inf
        self.mode: int | None = None
        self.seen_auto = False          # the controller confirmed AUTO for this run
        self.latched: dict[str, int] = {}   # rule -> latched events not yet acknowledged
        self.dropped = 0

        self.setpoint_pub = self.create_publisher(MotionSetpoint, 'setpoint', RELIABLE)
        self.active_pub = self.create_publisher(String, 'mission/active', LATCHED)
        self.active_pub.publish(String(data=''))
        # best-effort subscriptions match both reliable and best-effort publishers
        self.create_subscription(Odometry, 'odometry', self.on_odometry, SENSOR,
                                 callback_group=self.group)
        self.create_subscription(Range, 'altimeter', self.on_altimeter, SENSOR,
                                 callback_group=self.group)
        self.create_subscription(VehicleStatus, 'status', self.on_status, SENSOR,
                                 callback_group=self.group)
        self.create_subscription(SafetyEvent, 'safety/events', self.on_safety_event, EVENTS,
                                 callback_group=self.group)
        self.mode_client = self.create_client(SetControlMode, 'set_control_mode',
                                              callback_group=self.group)
        self.validate_srv = self.create_service(ValidateMission, 'validate_mission',
                                                self.on_validate, callback_group=self.group)
        self.pause_srv = self.create_service(SetBool, 'mission/pause', self.on_pause,
                                             callback_group=self.group)
        # the goals' waiting (execute) runs here, off the executor's thread
        self.runner = ThreadPoolExecutor(max_workers=2, thread_name_prefix='mission_run')
        self.action_server = ActionServer(
            self, RunMission, 'run_mission', execute_callback=self.execute_in_thread,
            goal_callback=self.on_goal, cancel_callback=self.on_cancel,
            callback_group=self.group)
        self.timer = self.create_timer(1.0 / self.params.rate_hz, self.on_tick,
                                       callback_group=self.group)
        self.get_logger().info(f'mission executor for {self.vehicle} '
                               f'({self.vehicle_type}) ready')

    # -- helpers ----------------------------------------------------------------------
    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def exec_config(self) -> ExecConfig:
        p = self.params
        return ExecConfig(p.acceptance_radius_m, p.vertical_tolerance_m, p.surface_depth_m,
                          p.timeout_factor, p.timeout_margin_s, p.odometry_timeout_s)

    def call_mode(self, mode: int, arm: bool, wait: bool = True) -> tuple[bool, str]:
        """Ask the controller for a mode; (accepted, message)."""
        wait_s = self.params.control_timeout_s if wait else 0.0
        if not self.mode_client.wait_for_service(timeout_sec=wait_s):
            return False, f'{self.mode_client.srv_name} is not available'
        future = self.mode_client.call_async(SetControlMode.Request(mode=mode, arm=arm))
        if not wait:
            return True, 'requested'
        done = threading.Event()
        future.add_done_callback(lambda _f: done.set())
        if not done.wait(self.params.control_timeout_s):
            return False, f'{self.mode_client.srv_name} did not answer in ' \
                          f'{self.params.control_timeout_s:g} s'
        resp = future.result()
        if resp is None:
            return False, 'no response'
        return bool(resp.success), resp.message

    # -- subscriptions ----------------------------------------------------------------
    def on_odometry(self, msg: Odometry) -> None:
        p = msg.pose.pose.position
        if not all(math.isfinite(v) for v in (p.x, p.y, p.z)):
            self.dropped += 1
            self.get_logger().warn(f'dropped odometry with a non-finite position '
                                   f'({self.dropped} dropped)', throttle_duration_sec=5.0)
            return
        q = msg.pose.pose.orientation
        yaw = math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))
        now = self.now()
        alt = self.altitude if now - self.altitude_stamp < 2.0 else math.nan
        self.state = VehicleState(now, p.x, p.y, -p.z, alt, yaw)
        self.odom_event.set()

    def on_altimeter(self, msg: Range) -> None:
        r = msg.range
        if math.isfinite(r) and msg.min_range <= r <= msg.max_range:
            self.altitude, self.altitude_stamp = float(r), self.now()

    def on_status(self, msg: VehicleStatus) -> None:
        self.mode = msg.mode
        if not math.isfinite(self.altitude) and math.isfinite(msg.altitude_m):
            self.altitude, self.altitude_stamp = float(msg.altitude_m), self.now()
        with self.lock:
            run = self.run
            if run is None or run.done:
                return
            if msg.mode == VehicleStatus.MODE_AUTO:
                self.seen_auto = True
            elif self.seen_auto and msg.mode in _FINAL_MODES:
                name = _FINAL_MODES[msg.mode]
                if msg.mode in (VehicleStatus.MODE_MANUAL, VehicleStatus.MODE_STABILIZED):
                    run.fail(f'the pilot took control ({name} mode)')
                else:
                    run.abort_safety(f'the vehicle left AUTO for {name} (safety supervisor)')

    def on_safety_event(self, msg: SafetyEvent) -> None:
        # count latches per rule: one rule may latch for several subjects (two stale sensors)
        if msg.active and msg.latched:
            self.latched[msg.rule] = self.latched.get(msg.rule, 0) + 1
        elif not msg.active and msg.rule in self.latched:
            self.latched[msg.rule] -= 1
            if self.latched[msg.rule] <= 0:
                del self.latched[msg.rule]
        if msg.active and msg.severity == SafetyEvent.SEVERITY_CRITICAL:
            with self.lock:
                if self.run is not None and not self.run.done:
                    self.run.abort_safety(f'safety: {msg.rule}: {msg.message}')

    # -- services ---------------------------------------------------------------------
    def on_validate(self, request, response):
        report = validate_text(request.mission_yaml, request.file_name or '<mission>',
                               water_depth_m=self.params.water_depth_m)
        response.valid = report.ok
        response.errors = [str(e) for e in report.errors]
        response.warnings = [str(w) for w in report.warnings]
        response.estimated_duration_s = float(report.estimated_duration_s)
        response.estimated_energy_wh = float(report.estimated_energy_wh)
        return response

    def on_pause(self, request, response):
        with self.lock:
            run = self.run
            if run is None or run.done:
                response.success, response.message = False, 'no mission is running'
                return response
            now = self.now()
            ok = run.pause(now) if request.data else run.resume(now)
        verb = 'paused' if request.data else 'resumed'
        response.success = ok
        response.message = verb if ok else f'not {verb}: mission is {run.state.value}'
        self.get_logger().info(f'mission {response.message}')
        return response

    # -- action -----------------------------------------------------------------------
    def on_goal(self, goal_request) -> GoalResponse:
        with self.lock:
            busy = self.run is not None and not self.run.done
        if busy:
            self.get_logger().warn('refused a mission goal: a mission is already running')
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def on_cancel(self, goal_handle) -> CancelResponse:
        return CancelResponse.ACCEPT

    async def execute_in_thread(self, goal_handle):
        """The action's execute callback: `execute` blocks until the run ends, so it runs in
        `runner`; the executor's thread only awaits its result (exceptions come through)."""
        finished = Future(executor=self.executor)
        job = self.runner.submit(self.execute, goal_handle)
        job.add_done_callback(finished.set_result)
        return (await finished).result()

    def execute(self, goal_handle):
        goal = goal_handle.request
        name = goal.file_name or '<mission>'
        result = RunMission.Result()
        report = validate_text(goal.mission_yaml, name, water_depth_m=self.params.water_depth_m)
        if not report.ok:
            result.outcome = RunMission.Result.OUTCOME_INVALID
            result.reason = '\n'.join(str(e) for e in report.errors)
            self.get_logger().error(f'mission {name} is invalid:\n{result.reason}')
            goal_handle.abort()
            return result
        mission = report.mission
        if mission.vehicle != self.vehicle_type:
            return self._refuse(goal_handle, result, Outcome.INVALID,
                                f'{name} is for {mission.vehicle}, this executor drives '
                                f'{self.vehicle} ({self.vehicle_type})')
        if self.latched:
            rules = ', '.join(sorted(self.latched))
            return self._refuse(goal_handle, result, Outcome.ABORTED_SAFETY,
                                f'latched safety events ({rules}): acknowledge them first '
                                f'(safety/acknowledge)')
        if not self._wait_for_odometry(self.params.start_timeout_s):
            return self._refuse(goal_handle, result, Outcome.FAILED,
                                f'no fresh odometry in {self.params.start_timeout_s:g} s: is '
                                'the navigation running?')
        ok, msg = self.call_mode(VehicleStatus.MODE_AUTO, True)
        if not ok:
            return self._refuse(goal_handle, result, Outcome.FAILED,
                                f'the controller refused AUTO: {msg}')
        run = MissionExecution(mission, report.plan, self.exec_config())
        with self.lock:
            self.seen_auto = self.mode == VehicleStatus.MODE_AUTO
            self.done_event.clear()
            self.goal_handle = goal_handle
            run.start(self.now(), self.state)
            self.run = run
        self.active_pub.publish(String(data=goal.mission_yaml))
        self.get_logger().info(f'mission {mission.name} started: {len(mission.steps)} steps, '
                               f'{len(report.plan.legs)} legs, estimate '
                               f'{report.plan.duration_s:.0f} s / {report.plan.energy_wh:.0f} Wh')
        while not self.done_event.wait(0.2):
            if not self.context.ok():
                run.cancel(self.now(), 'executor shutting down')
                break
        self.active_pub.publish(String(data=''))
        with self.lock:
            self.goal_handle = None
        if run.outcome is not Outcome.ABORTED_SAFETY:
            ok, msg = self.call_mode(VehicleStatus.MODE_HOLD, False)
            if not ok:
                self.get_logger().error(f'could not put {self.vehicle} in HOLD after the '
                                        f'mission: {msg}')
        result.outcome = int(run.outcome)
        result.reason = run.reason
        result.steps_completed = run.steps_completed
        result.duration_s = run.elapsed(self.now())
        text = f'mission {mission.name}: {run.outcome.name}: {run.reason}'
        if run.outcome is Outcome.SUCCEEDED:
            self.get_logger().info(text)
        else:
            self.get_logger().warn(text)
        if run.outcome is Outcome.SUCCEEDED:
            goal_handle.succeed()
        elif run.outcome is Outcome.CANCELED and goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.abort()
        return result

    def _wait_for_odometry(self, timeout: float) -> bool:
        """True once odometry younger than `timeout` is in hand (waits up to `timeout`)."""
        def fresh():
            return self.state is not None and \
                self.now() - self.state.stamp <= self.params.odometry_timeout_s
        if fresh():
            return True
        self.odom_event.clear()
        return self.odom_event.wait(timeout) and fresh()

    def _refuse(self, goal_handle, result, outcome: Outcome, reason: str):
        result.outcome, result.reason = int(outcome), reason
        self.get_logger().error(f'mission refused: {reason}')
        goal_handle.abort()
        return result

    # -- timer ------------------------------------------------------------------------
    def on_tick(self) -> None:
        with self.lock:
            run, gh = self.run, self.goal_handle
            if run is None or gh is None:
                return
            now = self.now()
            if gh.is_cancel_requested and not run.done:
                run.cancel(now)
            sp = run.update(now, self.state) if not run.done else None
            fb = run.feedback(now)
        if sp is not None:
            msg = MotionSetpoint(mask=sp.mask, x=sp.x, y=sp.y, path_start_x=sp.path_start_x,
                                 path_start_y=sp.path_start_y, depth_m=sp.depth_m,
                                 altitude_m=sp.altitude_m, heading_rad=sp.heading_rad,
                                 surge_mps=sp.surge_mps, sway_mps=sp.sway_mps)
            msg.header.stamp = self.get_clock().now().to_msg()
            msg.header.frame_id = 'map'
            self.setpoint_pub.publish(msg)
        gh.publish_feedback(RunMission.Feedback(
            step_index=fb.step_index, step_count=fb.step_count, step_name=fb.step_name,
            progress=float(fb.progress), eta_s=float(fb.eta_s), state=fb.state))
        if run.done:
            self.done_event.set()

    def shutdown(self) -> None:
        """Ctrl-C: stop the running mission and leave the vehicle holding."""
        with self.lock:
            run = self.run
            if run is not None and not run.done:
                run.cancel(self.now(), 'executor shutting down')
                self.done_event.set()
                active = True
            else:
                active = False
        if active and self.context.ok():
            self.call_mode(VehicleStatus.MODE_HOLD, False, wait=False)
        self.action_server.destroy()
        self.destroy_client(self.mode_client)
        self.runner.shutdown(wait=False)


def main(args=None):
    # whatever KAIYO_EXECUTOR says: the EventsExecutor would poll the awaiting goal non-stop
    run_node(MissionExecutorNode, args, executor='single')
