"""Test fixtures' building blocks for real device peers (pure: no rclpy).

`SocatPty` makes a pair of linked pseudo-terminals with socat: the driver opens one end as
its serial port, a peer opens the other. `close()` kills socat, which is exactly what
unplugging a USB-serial adapter looks like to the driver (the device node disappears);
`SocatPty(same paths).start()` plugs it back in.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


class SocatPty:
    def __init__(self, a: str | os.PathLike, b: str | os.PathLike):
        self.a, self.b = str(a), str(b)
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 5.0) -> SocatPty:
        if shutil.which('socat') is None:
            raise FileNotFoundError('socat is not installed (apt-get install socat)')
        self.proc = subprocess.Popen(
            ['socat', f'pty,raw,echo=0,link={self.a}', f'pty,raw,echo=0,link={self.b}'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        # the links appear when socat has opened both ends: wait for that event
        while not (os.path.exists(self.a) and os.path.exists(self.b)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise TimeoutError(f'socat did not create {self.a} and {self.b}')
            time.sleep(0.01)
        return self

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(5.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        for p in (self.a, self.b):
            try:
                Path(p).unlink()
            except FileNotFoundError:
                pass


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
