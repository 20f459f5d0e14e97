"""Probe process for test_multi_machine: one per "computer" (network namespace).

Prints one JSON object per line on stdout (flushed), so the test waits on events:

  --role station   (the tower side, next to `kaiyo bringup station`)
      {"event": "status", ...}        first VehicleStatus from /<vehicle>/status
      {"event": "validate", ...}      ValidateMission answers (a valid and an invalid mission)
      {"event": "set_mode", ...}      SetControlMode answer (HOLD)
  --role vehicle   (the vehicle side, next to its controller / executor / supervisor)
      {"event": "heartbeat", ...}     first /tower/heartbeat (frame_id = station name)
      {"event": "safety", ...}        every SafetyEvent on /<vehicle>/safety/events

Run as a script: python multi_machine_probe.py --role station --vehicle hover_auv --mission F
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import Header

from kaiyo_common.qos import EVENTS, SENSOR
from kaiyo_interfaces.msg import SafetyEvent, VehicleStatus
from kaiyo_interfaces.srv import SetControlMode, ValidateMission


def emit(**fields) -> None:
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()


class StationProbe(Node):
    """Receives vehicle telemetry and sends the vehicle mission commands."""

    def __init__(self, vehicle: str, mission: Path):
        super().__init__('station_probe')
        self.mission = mission
        self.seen_status = False
        self.create_subscription(VehicleStatus, f'/{vehicle}/status', self.on_status, SENSOR)
        self.validate = self.create_client(ValidateMission, f'/{vehicle}/validate_mission')
        self.set_mode = self.create_client(SetControlMode, f'/{vehicle}/set_control_mode')
        self.step = 'wait_services'
        self.future = None
        self.timer = self.create_timer(0.1, self.on_timer)

    def on_status(self, msg: VehicleStatus) -> None:
        if not self.seen_status:
            self.seen_status = True
            emit(event='status', vehicle=msg.vehicle, mode=int(msg.mode), armed=bool(msg.armed))

    def on_timer(self) -> None:
        if self.future is not None and not self.future.done():
            return
        if self.step == 'wait_services':
            if self.validate.service_is_ready() and self.set_mode.service_is_ready():
                text = self.mission.read_text(encoding='utf-8')
                self.future = self.validate.call_async(ValidateMission.Request(
                    mission_yaml=text, file_name=self.mission.name))
                self.step = 'valid_sent'
        elif self.step == 'valid_sent':
            self.emit_validate('valid_mission', self.future.result())
            bad = self.mission.read_text(encoding='utf-8').replace('max_depth: 25.0',
                                                                    'max_depth: 900.0')
            self.future = self.validate.call_async(ValidateMission.Request(
                mission_yaml=bad, file_name='too_deep.yaml'))
            self.step = 'invalid_sent'
        elif self.step == 'invalid_sent':
            self.emit_validate('invalid_mission', self.future.result())
            self.future = self.set_mode.call_async(SetControlMode.Request(
                mode=SetControlMode.Request.MODE_HOLD, arm=False))
            self.step = 'mode_sent'
        elif self.step == 'mode_sent':
            r = self.future.result()
            emit(event='set_mode', success=bool(r.success), message=r.message,
                 previous_mode=int(r.previous_mode))
            self.step = 'done'

    @staticmethod
    def emit_validate(what: str, r) -> None:
        emit(event='validate', what=what, valid=bool(r.valid), errors=list(r.errors),
             estimated_duration_s=float(r.estimated_duration_s))


class VehicleProbe(Node):
    """Sees the station heartbeat arrive and the vehicle's safety events."""

    def __init__(self, vehicle: str):
        super().__init__('vehicle_probe')
        self.seen_heartbeat = False
        self.create_subscription(Header, '/tower/heartbeat', self.on_heartbeat, SENSOR)
        self.create_subscription(SafetyEvent, f'/{vehicle}/safety/events', self.on_event, EVENTS)

    def on_heartbeat(self, msg: Header) -> None:
        if not self.seen_heartbeat:
            self.seen_heartbeat = True
            emit(event='heartbeat', station=msg.frame_id)

    def on_event(self, msg: SafetyEvent) -> None:
        emit(event='safety', rule=msg.rule, action=int(msg.action), active=bool(msg.active),
             message=msg.message)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--role', choices=('station', 'vehicle'), required=True)
    ap.add_argument('--vehicle', default='hover_auv')
    ap.add_argument('--mission', type=Path)
    a = ap.parse_args()
    rclpy.init()
    node = StationProbe(a.vehicle, a.mission) if a.role == 'station' else VehicleProbe(a.vehicle)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    emit(event='ready', role=a.role)
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
