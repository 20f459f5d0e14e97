"""An ArduSub autopilot emulator speaking MAVLink 2 over UDP (a separate process in tests).

It sends what ArduSub sends a ground station (HEARTBEAT as MAV_TYPE_SUBMARINE, ATTITUDE,
SCALED_IMU2, SCALED_PRESSURE2, SYS_STATUS), answers COMMAND_LONG arm/disarm and
DO_SET_MODE with COMMAND_ACK (refusing unknown modes, and arming when --refuse-arm), and
applies MANUAL_CONTROL. Every command it receives is printed on stdout as one JSON line,
so a test can check the round trip. Depth follows the pilot's throttle (z) for realism.

    python -m kaiyo_drivers.peers.ardusub --target 127.0.0.1:14550
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mav

from kaiyo_drivers.mavlink_core import SUB_MANUAL, SUB_MODE_NAMES


def say(**kw) -> None:
    print(json.dumps(kw), flush=True)


def main(argv=None) -> int:
    try:
        return _serve(argv)
    except KeyboardInterrupt:
        return 0


def _serve(argv) -> int:
    ap = argparse.ArgumentParser(description='ArduSub MAVLink emulator')
    ap.add_argument('--target', default='127.0.0.1:14550', help='GCS host:port to send to')
    ap.add_argument('--heartbeat-hz', type=float, default=1.0)
    ap.add_argument('--telemetry-hz', type=float, default=10.0)
    ap.add_argument('--refuse-arm', action='store_true', help='pre-arm checks fail')
    ap.add_argument('--system-id', type=int, default=1)
    ap.add_argument('--serial', metavar='DEVICE', help='talk on this serial port / PTY '
                    'instead of UDP (as ArduSub on a USB or telemetry-radio link)')
    ap.add_argument('--baud', type=int, default=115200)
    args = ap.parse_args(argv)
    device = args.serial or f'udpout:{args.target}'
    conn = mavutil.mavlink_connection(device, baud=args.baud, source_system=args.system_id,
                                      source_component=1, dialect='ardupilotmega')
    m = conn.mav
    armed, mode, depth = False, SUB_MANUAL, 2.0
    manual = (0, 0, 500, 0)
    next_hb = next_tel = time.monotonic()
    t0 = time.monotonic()
    say(event='started')
    while True:
        now = time.monotonic()
        if now >= next_hb:
            base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (
                mav.MAV_MODE_FLAG_SAFETY_ARMED if armed else 0)
            m.heartbeat_send(mav.MAV_TYPE_SUBMARINE, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, base,
                             mode, mav.MAV_STATE_ACTIVE if armed else mav.MAV_STATE_STANDBY)
            next_hb = now + 1.0 / args.heartbeat_hz
        if now >= next_tel:
            dt = 1.0 / args.telemetry_hz
            if armed:
                depth = max(0.0, depth - (manual[2] - 500) / 500.0 * 0.3 * dt)  # 0.3 m/s
            ms = int((now - t0) * 1000)
            m.attitude_send(ms, 0.05, -0.02, 0.5 * math.sin(now - t0), 0.0, 0.0, 0.01)
            m.scaled_imu2_send(ms, 0, 0, -1000, 0, 0, 0, 0, 0, 0)
            p_hpa = (101325.0 + 1025.0 * 9.80665 * depth) / 100.0
            m.scaled_pressure2_send(ms, p_hpa, 0.0, 1850)
            m.sys_status_send(0, 0, 0, 500, 15800, 250, 81, 0, 0, 0, 0, 0, 0)
            next_tel = now + dt
        try:
            msg = conn.recv_match(blocking=True, timeout=0.01)
        except OSError:        # the serial line is gone: the autopilot is unplugged
            return 0
        if msg is None:
            continue
        t = msg.get_type()
        if t == 'COMMAND_LONG':
            result = mav.MAV_RESULT_ACCEPTED
            if msg.command == mav.MAV_CMD_COMPONENT_ARM_DISARM:
                want = msg.param1 > 0.5
                if want and args.refuse_arm:
                    result = mav.MAV_RESULT_DENIED
                else:
                    armed = want
                say(event='arm', arm=want, result=int(result))
            elif msg.command == mav.MAV_CMD_DO_SET_MODE:
                custom = int(msg.param2)
                if custom in SUB_MODE_NAMES:
                    mode = custom
                else:
                    result = mav.MAV_RESULT_DENIED
                say(event='mode', mode=custom, result=int(result))
            else:
                result = mav.MAV_RESULT_UNSUPPORTED
            m.command_ack_send(msg.command, result)
        elif t == 'MANUAL_CONTROL':
            manual = (msg.x, msg.y, msg.z, msg.r)
            say(event='manual', x=msg.x, y=msg.y, z=msg.z, r=msg.r)
        elif t == 'HEARTBEAT':
            pass


if __name__ == '__main__':
    sys.exit(main())
