"""Peer process for test_interfaces_ipc: serves kaiyo's custom service and action and
publishes a custom message, all from a separate process (run as a script)."""
import time

import rclpy
from rclpy.action import ActionServer
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node

from kaiyo_common.qos import LATCHED
from kaiyo_interfaces.action import RunMission
from kaiyo_interfaces.msg import SeabedObservation
from kaiyo_interfaces.srv import SetControlMode


class Peer(Node):
    def __init__(self):
        super().__init__('interfaces_peer')
        self.mode = SetControlMode.Request.MODE_MANUAL
        self.pub = self.create_publisher(SeabedObservation, 'seabed/observations', LATCHED)
        obs = SeabedObservation(vehicle='peer', urchin_count=7, cover_class='25-50')
        obs.seabed_cover[SeabedObservation.CLASS_SEAWEED] = 0.375
        self.pub.publish(obs)
        self.create_service(SetControlMode, 'set_control_mode', self.on_set_mode)
        self.action = ActionServer(self, RunMission, 'run_mission', self.on_goal)

    def on_set_mode(self, request, response):
        response.previous_mode = self.mode
        response.success = request.mode <= SetControlMode.Request.MODE_RETURN
        response.message = '' if response.success else f'unknown mode {request.mode}'
        if response.success:
            self.mode = request.mode
        return response

    def on_goal(self, goal_handle):
        steps = goal_handle.request.mission_yaml.count('- ')
        for i in range(steps):
            fb = RunMission.Feedback(step_index=i, step_count=steps, step_name=f'step{i}',
                                     progress=(i + 1) / steps, eta_s=float(steps - i - 1))
            goal_handle.publish_feedback(fb)
            time.sleep(0.01)
        goal_handle.succeed()
        return RunMission.Result(outcome=RunMission.Result.OUTCOME_SUCCEEDED,
                                 reason=goal_handle.request.file_name, steps_completed=steps)


def main():
    rclpy.init()
    node = Peer()
    ex = MultiThreadedExecutor()
    ex.add_node(node)
    try:
        ex.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


if __name__ == '__main__':
    main()
