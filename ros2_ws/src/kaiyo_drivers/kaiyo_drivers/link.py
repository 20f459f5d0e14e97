"""Byte links to devices (serial, TCP, UDP) that survive unplugging (pure: no rclpy).

A `LinkRunner` owns one link in a background thread: it opens the link, reads chunks into a
queue the node drains from a timer (so the ROS executor never blocks on I/O), and when the
device goes away (cable pulled, PTY closed, socket reset) it closes the link and retries
with exponential backoff (`Backoff`) until the device is back. State changes and counters
are kept in `LinkStats` for diagnostics. Writes from the node go straight to the open link
under a lock and fail softly (return False) while disconnected.
"""
from __future__ import annotations

import enum
import queue
import socket
import threading
import time
from dataclasses import dataclass, replace

import serial


class LinkError(OSError):
    """The link could not be opened, or broke while in use."""


class Backoff:
    """Exponential reconnect delay: initial_s, x factor each failure, capped at max_s."""

    def __init__(self, initial_s: float = 0.2, max_s: float = 5.0, factor: float = 2.0):
        if initial_s <= 0 or max_s < initial_s or factor < 1.0:
            raise ValueError(f'Backoff needs 0 < initial_s <= max_s and factor >= 1, got '
                             f'initial_s={initial_s}, max_s={max_s}, factor={factor}')
        self.initial_s, self.max_s, self.factor = initial_s, max_s, factor
        self._next = initial_s

    def next_delay(self) -> float:
        d = self._next
        self._next = min(self._next * self.factor, self.max_s)
        return d

    def reset(self) -> None:
        self._next = self.initial_s


class LinkState(enum.Enum):
    CONNECTING = 'connecting'
    CONNECTED = 'connected'
    DISCONNECTED = 'disconnected'    # lost; waiting to retry
    STOPPED = 'stopped'


@dataclass(frozen=True)
class LinkStats:
    state: LinkState = LinkState.CONNECTING
    bytes_in: int = 0
    bytes_out: int = 0
    connects: int = 0                # successful opens (1 after the first, +1 per reconnect)
    disconnects: int = 0
    last_error: str = ''
    last_rx_monotonic: float = float('nan')


class SerialLink:
    """A serial port (or PTY) through pyserial."""

    def __init__(self, port: str, baud: int = 115200, read_timeout_s: float = 0.1):
        self.port, self.baud, self.read_timeout_s = port, baud, read_timeout_s
        self._ser: serial.Serial | None = None

    def describe(self) -> str:
        return f'serial {self.port} @ {self.baud} bit/s'

    def open(self) -> None:
        try:
            self._ser = serial.Serial(self.port, self.baud, timeout=self.read_timeout_s,
                                      write_timeout=1.0)
        except (serial.SerialException, OSError, ValueError) as err:
            raise LinkError(f'cannot open {self.describe()}: {err}') from err

    def read(self) -> bytes:
        try:
            # at least one byte (waits up to the timeout), then whatever else is buffered
            data = self._ser.read(1)
            if data and self._ser.in_waiting:
                data += self._ser.read(self._ser.in_waiting)
            return data
        except (serial.SerialException, OSError, TypeError) as err:
            # pyserial raises SerialException (or TypeError from a closed fd) when the
            # device disappears: "device reports readiness to read but returned no data"
            raise LinkError(f'{self.describe()} lost: {err}') from err

    def write(self, data: bytes) -> None:
        try:
            self._ser.write(data)
        except (serial.SerialException, OSError) as err:
            raise LinkError(f'{self.describe()} write failed: {err}') from err

    def close(self) -> None:
        if self._ser is not None:
            try:
                self._ser.close()
            except (serial.SerialException, OSError):
                pass   # already gone: nothing left to release
            self._ser = None


class TcpLink:
    """A TCP client connection (e.g. a DVL, a serial-to-Ethernet gateway)."""

    def __init__(self, host: str, port: int, connect_timeout_s: float = 2.0,
                 read_timeout_s: float = 0.1):
        self.host, self.port = host, port
        self.connect_timeout_s, self.read_timeout_s = connect_timeout_s, read_timeout_s
        self._sock: socket.socket | None = None

    def describe(self) -> str:
        return f'tcp {self.host}:{self.port}'

    def open(self) -> None:
        try:
            self._sock = socket.create_connection((self.host, self.port),
                                                  timeout=self.connect_timeout_s)
            self._sock.settimeout(self.read_timeout_s)
        except OSError as err:
            raise LinkError(f'cannot connect {self.describe()}: {err}') from err

    def read(self) -> bytes:
        try:
            data = self._sock.recv(65536)
        except TimeoutError:
            return b''
        except OSError as err:
            raise LinkError(f'{self.describe()} lost: {err}') from err
        if not data:
            raise LinkError(f'{self.describe()} closed by the device')
        return data

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as err:
            raise LinkError(f'{self.describe()} write failed: {err}') from err

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None


class UdpLink:
    """A bound UDP socket receiving datagrams (e.g. NMEA over UDP); writes go to the last
    sender."""

    def __init__(self, host: str, port: int, read_timeout_s: float = 0.1):
        self.host, self.port, self.read_timeout_s = host, port, read_timeout_s
        self._sock: socket.socket | None = None
        self._peer = None

    def describe(self) -> str:
        return f'udp {self.host}:{self.port}'

    def open(self) -> None:
        try:
            self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((self.host, self.port))
            self._sock.settimeout(self.read_timeout_s)
        except OSError as err:
            self.close()
            raise LinkError(f'cannot bind {self.describe()}: {err}') from err

    @property
    def bound_port(self) -> int:
        return self._sock.getsockname()[1] if self._sock else self.port

    def read(self) -> bytes:
        try:
            data, self._peer = self._sock.recvfrom(65536)
            return data
        except TimeoutError:
            return b''
        except OSError as err:
            raise LinkError(f'{self.describe()} failed: {err}') from err

    def write(self, data: bytes) -> None:
        if self._peer is None:
            raise LinkError(f'{self.describe()}: no peer has sent anything yet')
        try:
            self._sock.sendto(data, self._peer)
        except OSError as err:
            raise LinkError(f'{self.describe()} write failed: {err}') from err

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def make_link(transport: str, *, port: str = '', baud: int = 115200, host: str = '',
              net_port: int = 0):
    """Build a link from driver parameters; raises ValueError naming a bad transport."""
    if transport == 'serial':
        if not port:
            raise ValueError("transport 'serial' needs a serial 'port'")
        return SerialLink(port, baud)
    if transport == 'tcp':
        return TcpLink(host, net_port)
    if transport == 'udp':
        return UdpLink(host, net_port)
    raise ValueError(f"unknown transport {transport!r}; use serial, tcp or udp")


class LinkRunner:
    """Keeps a link open in a thread; received chunks go to `self.rx` as (monotonic_s, bytes)."""

    def __init__(self, link, backoff: Backoff | None = None):
        self.link = link
        self.backoff = backoff or Backoff()
        self.rx: queue.SimpleQueue = queue.SimpleQueue()
        self._stats = LinkStats()
        self._lock = threading.Lock()        # guards _stats
        self._io_lock = threading.Lock()     # guards link open/close/write
        self._connected = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f'link {link.describe()}',
                                        daemon=True)

    @property
    def stats(self) -> LinkStats:
        with self._lock:
            return self._stats

    def _update(self, **kw) -> None:
        with self._lock:
            self._stats = replace(self._stats, **kw)

    def start(self) -> LinkRunner:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        with self._io_lock:
            self.link.close()
            self._connected = False
        self._update(state=LinkState.STOPPED)

    def write(self, data: bytes) -> bool:
        """Send now if connected; False (and a counted disconnect later) if not."""
        if not self._connected:   # never wait behind a slow (re)connect
            return False
        with self._io_lock:
            if not self._connected:
                return False
            try:
                self.link.write(data)
            except LinkError as err:
                self._update(last_error=str(err))
                return False
        with self._lock:
            self._stats = replace(self._stats, bytes_out=self._stats.bytes_out + len(data))
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self._update(state=LinkState.CONNECTING)
            try:
                with self._io_lock:
                    self.link.open()
                    self._connected = True
            except LinkError as err:
                self._update(state=LinkState.DISCONNECTED, last_error=str(err))
                self._stop.wait(self.backoff.next_delay())
                continue
            self.backoff.reset()
            with self._lock:
                self._stats = replace(self._stats, state=LinkState.CONNECTED,
                                      connects=self._stats.connects + 1)
            self._pump()
            with self._io_lock:
                self.link.close()
                self._connected = False
            if not self._stop.is_set():
                self._stop.wait(self.backoff.next_delay())

    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.link.read()
            except LinkError as err:
                with self._lock:
                    self._stats = replace(self._stats, state=LinkState.DISCONNECTED,
                                          disconnects=self._stats.disconnects + 1,
                                          last_error=str(err))
                return
            if data:
                now = time.monotonic()
                self.rx.put((now, data))
                with self._lock:
                    self._stats = replace(self._stats, bytes_in=self._stats.bytes_in + len(data),
                                          last_rx_monotonic=now)

    def drain(self, max_chunks: int = 1000) -> list[tuple[float, bytes]]:
        """Take what has arrived (for the node's timer)."""
        out = []
        for _ in range(max_chunks):
            try:
                out.append(self.rx.get_nowait())
            except queue.Empty:
                break
        return out
