"""A DVL-A50 on TCP: serves velocity and dead-reckoning JSON lines like the real unit.

`send_raw()` injects arbitrary bytes (malformed JSON in tests); `drop_clients()` resets the
connection as a power-cycled DVL would; commands get a `response` line.
"""
from __future__ import annotations

import json
import socket
import threading
import time


def velocity_report(t: float, vx=0.2, vy=-0.05, vz=0.01, altitude=3.5, valid=True) -> dict:
    us = int(t * 1e6)
    return {
        'time': 106.3, 'vx': vx, 'vy': vy, 'vz': vz, 'fom': 0.0022,
        'covariance': [[2.1e-06, -1.2e-07, 1.0e-08], [-1.2e-07, 2.5e-06, 3.0e-08],
                       [1.0e-08, 3.0e-08, 1.1e-07]],
        'altitude': altitude if valid else -1.0,
        'transducers': [{'id': i, 'velocity': 0.0, 'distance': altitude + 0.1 * i,
                         'rssi': -30.5, 'nsd': -88.9, 'beam_valid': valid} for i in range(4)],
        'velocity_valid': valid, 'status': 0, 'format': 'json_v3.1', 'type': 'velocity',
        'time_of_validity': us - 150_000, 'time_of_transmission': us}


class DvlA50Peer:
    def __init__(self, host: str = '127.0.0.1', port: int = 0, rate_hz: float = 10.0):
        self.server = socket.create_server((host, port))
        self.port = self.server.getsockname()[1]
        self.period = 1.0 / rate_hz
        self.clients: list[socket.socket] = []
        self.commands: list[dict] = []
        self.velocity = dict(vx=0.2, vy=-0.05, vz=0.01, altitude=3.5, valid=True)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True),
                         threading.Thread(target=self._stream, daemon=True)]

    def start(self) -> DvlA50Peer:
        for t in self._threads:
            t.start()
        return self

    def _accept(self) -> None:
        self.server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                c, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.clients.append(c)
            threading.Thread(target=self._read, args=(c,), daemon=True).start()

    def _read(self, c: socket.socket) -> None:
        buf = b''
        while not self._stop.is_set():
            try:
                data = c.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                try:
                    cmd = json.loads(line)
                except json.JSONDecodeError:
                    continue
                self.commands.append(cmd)
                self.send_raw((json.dumps({'response_to': cmd.get('command'), 'success': True,
                                           'error_message': '', 'result': None,
                                           'format': 'json_v3.1', 'type': 'response'})
                               + '\n').encode())

    def _stream(self) -> None:
        while not self._stop.wait(self.period):
            line = json.dumps(velocity_report(time.time(), **self.velocity)) + '\n'
            self.send_raw(line.encode())

    def send_raw(self, data: bytes) -> None:
        with self._lock:
            for c in list(self.clients):
                try:
                    c.sendall(data)
                except OSError:
                    self.clients.remove(c)

    def drop_clients(self) -> None:
        with self._lock:
            for c in self.clients:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self.clients.clear()

    def stop(self) -> None:
        self._stop.set()
        self.drop_clients()
        self.server.close()
        for t in self._threads:
            t.join(2.0)
