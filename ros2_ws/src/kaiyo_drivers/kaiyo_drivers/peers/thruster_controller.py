"""A thruster controller board on a serial line, speaking KTP v1 (see thruster_protocol).

Runs ThrusterControllerLogic (ACKs, arming, the 0.5 s command watchdog) in a thread on a
real serial port or PTY and sends telemetry at `telemetry_hz`. For tests and bench work
without the robot: `python -m kaiyo_drivers.peers.thruster_controller /dev/pts/N 4`.
"""
from __future__ import annotations

import argparse
import threading
import time

import serial

from kaiyo_drivers.thruster_protocol import FrameParser, ThrusterControllerLogic


class ThrusterControllerPeer:
    def __init__(self, port: str, n_thrusters: int, baud: int = 115200,
                 telemetry_hz: float = 20.0, watchdog_s: float = 0.5,
                 max_thrust_n: float = 50.0):
        self.port, self.baud, self.period = port, baud, 1.0 / telemetry_hz
        self.logic = ThrusterControllerLogic(n_thrusters, max_thrust_n, watchdog_s)
        self.parser = FrameParser()
        self.corrupt_next = False      # fault injection: flip a byte of the next telemetry
        self.silent = False            # fault injection: stop answering
        self._stop = threading.Event()
        self._ser = serial.Serial(port, baud, timeout=0.01)
        self._thread = threading.Thread(target=self._run, name='thruster peer', daemon=True)

    def start(self) -> ThrusterControllerPeer:
        self._thread.start()
        return self

    def _run(self) -> None:
        next_tel = time.monotonic()
        seq = 0
        while not self._stop.is_set():
            try:
                data = self._ser.read(256)
            except (serial.SerialException, OSError, TypeError):
                return       # the line is gone (PTY closed): the board is unplugged
            now = time.monotonic()
            out = b''
            for frame in self.parser.feed(data):
                reply = self.logic.handle(frame, now)
                if not self.silent:
                    out += reply
            if now >= next_tel:
                tel = self.logic.tick(now, seq)
                seq = (seq + 1) % 256
                if self.corrupt_next:
                    tel = tel[:-1] + bytes([tel[-1] ^ 0xFF])
                    self.corrupt_next = False
                if not self.silent:
                    out += tel
                next_tel = now + self.period
            if out:
                try:
                    self._ser.write(out)
                except (serial.SerialException, OSError):
                    return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        try:
            self._ser.close()
        except (serial.SerialException, OSError):
            pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('port')
    ap.add_argument('thrusters', type=int)
    ap.add_argument('--baud', type=int, default=115200)
    args = ap.parse_args(argv)
    peer = ThrusterControllerPeer(args.port, args.thrusters, args.baud).start()
    try:
        while peer._thread.is_alive():
            peer._thread.join(0.5)
    except KeyboardInterrupt:
        pass
    peer.stop()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
