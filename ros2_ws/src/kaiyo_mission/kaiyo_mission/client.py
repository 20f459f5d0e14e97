"""Front-end API for running missions from Python (the `kaiyo mission` CLI uses it).

In the style of nav2_simple_commander's BasicNavigator: a small object that owns a node,
sends one goal, is polled with `is_done()`, and reports a result enum plus plain words,
never an exception for a mission that went badly.

    client = MissionClient('hover_auv')
    if client.wait_for_server(10.0) and client.start(text, 'survey.yaml'):
        while not client.is_done():
            print(client.feedback)
    print(client.result)                     # MissionResult(outcome=..., reason=...)
    client.destroy()                         # cancels a goal still running, destroys clients
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum

import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_srvs.srv import SetBool

from kaiyo_interfaces.action import RunMission
from kaiyo_interfaces.srv import AcknowledgeSafety, ValidateMission


class MissionOutcome(Enum):
    SUCCEEDED = 0
    INVALID = 1
    CANCELED = 2
    ABORTED_SAFETY = 3
    FAILED = 4
    REJECTED = 10          # the executor refused the goal (another mission is running)
    NO_SERVER = 11         # no executor answered
    UNKNOWN = 12           # the goal ended without a result (executor died)


@dataclass(frozen=True)
class MissionResult:
    outcome: MissionOutcome
    reason: str
    steps_completed: int = 0
    duration_s: float = 0.0


class MissionClient:
    def __init__(self, vehicle: str, context: Context | None = None,
                 node_name: str = 'mission_client'):
        ns = '/' + vehicle.strip('/')
        self.vehicle = vehicle.strip('/')
        self.node = Node(node_name, namespace=ns, context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.action = ActionClient(self.node, RunMission, 'run_mission')
        self.pause_client = self.node.create_client(SetBool, 'mission/pause')
        self.validate_client = self.node.create_client(ValidateMission, 'validate_mission')
        self.ack_client = self.node.create_client(AcknowledgeSafety, 'safety/acknowledge')
        self.goal_handle = None
        self.feedback: RunMission.Feedback | None = None
        self.result: MissionResult | None = None
        self._result_future = None

    # -- helpers ----------------------------------------------------------------------
    def _spin_until(self, future, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not future.done():
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.05)
        return True

    def wait_for_server(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.action.server_is_ready():
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.1)
        return True

    # -- mission ----------------------------------------------------------------------
    def start(self, mission_yaml: str, file_name: str = '<mission>',
              timeout: float = 10.0) -> bool:
        """Send the goal; False (with `result` set) if nobody answers or it is refused."""
        if not self.wait_for_server(timeout):
            self.result = MissionResult(MissionOutcome.NO_SERVER,
                                        f'no mission executor on /{self.vehicle}/run_mission')
            return False
        future = self.action.send_goal_async(
            RunMission.Goal(mission_yaml=mission_yaml, file_name=file_name),
            feedback_callback=self._on_feedback)
        if not self._spin_until(future, timeout) or future.result() is None:
            self.result = MissionResult(MissionOutcome.NO_SERVER, 'the goal was not answered')
            return False
        handle = future.result()
        if not handle.accepted:
            self.result = MissionResult(MissionOutcome.REJECTED,
                                        'the executor refused the goal (a mission is running?)')
            return False
        self.goal_handle = handle
        self._result_future = handle.get_result_async()
        return True

    def _on_feedback(self, msg) -> None:
        self.feedback = msg.feedback

    def is_done(self, spin_s: float = 0.1) -> bool:
        if self._result_future is None:
            return True
        if not self._result_future.done():
            self.executor.spin_once(timeout_sec=spin_s)
        if not self._result_future.done():
            return False
        if self.result is None:
            wrapped = self._result_future.result()
            if wrapped is None or wrapped.status == GoalStatus.STATUS_UNKNOWN:
                self.result = MissionResult(MissionOutcome.UNKNOWN, 'no result')
            else:
                r = wrapped.result
                try:
                    outcome = MissionOutcome(int(r.outcome))
                except ValueError:
                    outcome = MissionOutcome.UNKNOWN
                self.result = MissionResult(outcome, r.reason, int(r.steps_completed),
                                            float(r.duration_s))
        self.goal_handle = None
        return True

    def cancel(self, timeout: float = 10.0) -> bool:
        """Cancel the running goal and wait for its result. True if it ended."""
        if self.goal_handle is None:
            return True
        future = self.goal_handle.cancel_goal_async()
        self._spin_until(future, timeout)
        deadline = time.monotonic() + timeout
        while not self.is_done():
            if time.monotonic() > deadline:
                return False
        return True

    def pause(self, paused: bool, timeout: float = 5.0) -> tuple[bool, str]:
        return self._call(self.pause_client, SetBool.Request(data=paused), timeout)

    def validate(self, mission_yaml: str, file_name: str, timeout: float = 10.0):
        req = ValidateMission.Request(mission_yaml=mission_yaml, file_name=file_name)
        if not self.validate_client.wait_for_service(timeout_sec=timeout):
            return None
        future = self.validate_client.call_async(req)
        return future.result() if self._spin_until(future, timeout) else None

    def acknowledge(self, rule: str, operator: str, timeout: float = 5.0) -> tuple[bool, str]:
        return self._call(self.ack_client,
                          AcknowledgeSafety.Request(rule=rule, operator_name=operator), timeout)

    def _call(self, client, request, timeout: float) -> tuple[bool, str]:
        if not client.wait_for_service(timeout_sec=timeout):
            return False, f'{client.srv_name} is not available'
        future = client.call_async(request)
        if not self._spin_until(future, timeout) or future.result() is None:
            return False, f'{client.srv_name} did not answer in {timeout:g} s'
        resp = future.result()
        return bool(resp.success), resp.message

    def destroy(self) -> None:
        """Cancel a goal still running, then destroy clients and the node."""
        if self.goal_handle is not None and rclpy.ok(context=self.node.context):
            self.cancel(timeout=5.0)
        self.action.destroy()
        for c in (self.pause_client, self.validate_client, self.ack_client):
            self.node.destroy_client(c)
        self.executor.shutdown()
        self.node.destroy_node()
