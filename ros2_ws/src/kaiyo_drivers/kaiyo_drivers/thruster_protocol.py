"""kaiyo thruster serial protocol (KTP v1): framing, messages, and the controller's logic (pure).

The custom-built robots drive their ESCs from a small microcontroller board on a serial
line (115200 bit/s 8N1, RS-485 or USB-serial). The protocol is binary, framed and
checksummed so a noisy tether cannot turn into thrust:

    frame = SYNC1 SYNC2 LEN SEQ TYPE PAYLOAD[LEN] CRC_HI CRC_LO
    SYNC1 = 0xA5, SYNC2 = 0x5A
    LEN   = payload length, 0..64
    SEQ   = host sequence number 0..255 (the controller echoes it in its ACK)
    TYPE  = message type (below)
    CRC   = CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over LEN SEQ TYPE PAYLOAD

Host -> controller (each answered by an ACK with the same SEQ):
    0x01 THRUST   N x int16 big-endian, thrust per thruster in 0.01 N (±327.67 N)
    0x02 ARM      uint8 1 = arm, 0 = disarm (disarmed: every output is zero)
    0x03 PING     empty (keeps the watchdog fed without changing thrust)
Controller -> host:
    0x81 ACK      uint8 acked type, uint8 status (0 ok, 1 bad length, 2 value out of range,
                  3 not armed, 4 unknown type)
    0x82 TELEMETRY uint8 flags (bit0 armed, bit1 watchdog tripped), uint16 bus voltage in
                  0.01 V, uint8 N, then per thruster: int16 thrust 0.01 N, int16 speed rpm,
                  uint16 current 0.01 A, uint8 fault (0 ok)

Watchdog (in the controller): if no THRUST or PING arrives for `watchdog_s` (default
0.5 s), every output is set to zero and the tripped flag is raised until the next THRUST.
The host driver has its own watchdog on the ROS command topic and sends zeros when the
commands stop, so thrust stops whichever side fails.

A frame with a bad CRC or length is dropped and counted; the parser resynchronises on the
next SYNC pair, so a corrupted byte costs one frame, never the stream.
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

SYNC = b'\xA5\x5A'
MAX_PAYLOAD = 64
THRUST_LSB_N = 0.01
CURRENT_LSB_A = 0.01
VOLT_LSB_V = 0.01


class MsgType(enum.IntEnum):
    THRUST = 0x01
    ARM = 0x02
    PING = 0x03
    ACK = 0x81
    TELEMETRY = 0x82


class AckStatus(enum.IntEnum):
    OK = 0
    BAD_LENGTH = 1
    OUT_OF_RANGE = 2
    NOT_ARMED = 3
    UNKNOWN_TYPE = 4


class ProtocolError(ValueError):
    """A frame or payload does not follow KTP v1; the message says what."""


def crc16_ccitt(data: bytes, crc: int = 0xFFFF) -> int:
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


@dataclass(frozen=True)
class Frame:
    seq: int
    type: int
    payload: bytes


def encode_frame(seq: int, msg_type: int, payload: bytes = b'') -> bytes:
    if not 0 <= seq <= 255:
        raise ProtocolError(f'seq {seq} must be 0..255')
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f'payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}')
    body = bytes([len(payload), seq, int(msg_type)]) + payload
    return SYNC + body + struct.pack('>H', crc16_ccitt(body))


class FrameParser:
    """Bytes in any chunking -> frames; bad frames dropped and counted."""

    def __init__(self):
        self._buf = bytearray()
        self.frames = 0
        self.bad_crc = 0
        self.bad_length = 0
        self.skipped_bytes = 0
        self.last_error = ''

    @property
    def bad(self) -> int:
        return self.bad_crc + self.bad_length

    def feed(self, data: bytes) -> list[Frame]:
        self._buf.extend(data)
        out = []
        while True:
            i = self._buf.find(SYNC)
            if i < 0:
                # keep a trailing 0xA5: it may be the first half of the next SYNC
                keep = 1 if self._buf[-1:] == SYNC[:1] else 0
                self.skipped_bytes += len(self._buf) - keep
                del self._buf[:len(self._buf) - keep]
                return out
            if i:
                self.skipped_bytes += i
                del self._buf[:i]
            if len(self._buf) < 5:
                return out
            n = self._buf[2]
            if n > MAX_PAYLOAD:
                self.bad_length += 1
                self.last_error = f'length {n} > {MAX_PAYLOAD}'
                del self._buf[:2]            # not a real frame start: resync after it
                continue
            total = 2 + 3 + n + 2
            if len(self._buf) < total:
                return out
            body = bytes(self._buf[2:5 + n])
            (crc,) = struct.unpack('>H', self._buf[5 + n:total])
            if crc != crc16_ccitt(body):
                self.bad_crc += 1
                self.last_error = f'CRC {crc:04X} != {crc16_ccitt(body):04X}'
                del self._buf[:2]
                continue
            del self._buf[:total]
            self.frames += 1
            out.append(Frame(body[1], body[2], body[3:]))


# ------------------------------------------------------------------- messages


def thrust_payload(thrust_n) -> bytes:
    raw = []
    for i, t in enumerate(thrust_n):
        if t != t:  # NaN
            raise ProtocolError(f'thrust[{i}] is NaN')
        r = int(round(t / THRUST_LSB_N))
        if not -32767 <= r <= 32767:
            raise ProtocolError(f'thrust[{i}] = {t} N outside ±327.67 N')
        raw.append(r)
    return struct.pack(f'>{len(raw)}h', *raw)


def parse_thrust(payload: bytes) -> list[float]:
    if len(payload) % 2:
        raise ProtocolError(f'THRUST payload of {len(payload)} bytes is not N x int16')
    n = len(payload) // 2
    return [r * THRUST_LSB_N for r in struct.unpack(f'>{n}h', payload)]


@dataclass(frozen=True)
class Ack:
    seq: int
    acked_type: int
    status: AckStatus


def ack_payload(acked_type: int, status: AckStatus) -> bytes:
    return bytes([acked_type, int(status)])


def parse_ack(frame: Frame) -> Ack:
    if len(frame.payload) != 2:
        raise ProtocolError(f'ACK payload of {len(frame.payload)} bytes, 2 expected')
    try:
        status = AckStatus(frame.payload[1])
    except ValueError:
        raise ProtocolError(f'ACK status {frame.payload[1]} unknown') from None
    return Ack(frame.seq, frame.payload[0], status)


@dataclass(frozen=True)
class ThrusterReading:
    thrust_n: float
    rpm: float
    current_a: float
    fault: int


@dataclass(frozen=True)
class Telemetry:
    armed: bool
    watchdog_tripped: bool
    bus_voltage_v: float
    thrusters: tuple[ThrusterReading, ...]


def telemetry_payload(t: Telemetry) -> bytes:
    flags = (1 if t.armed else 0) | (2 if t.watchdog_tripped else 0)
    out = struct.pack('>BHB', flags, int(round(t.bus_voltage_v / VOLT_LSB_V)),
                      len(t.thrusters))
    for r in t.thrusters:
        out += struct.pack('>hhHB', int(round(r.thrust_n / THRUST_LSB_N)), int(round(r.rpm)),
                           int(round(r.current_a / CURRENT_LSB_A)), r.fault)
    return out


def parse_telemetry(payload: bytes) -> Telemetry:
    if len(payload) < 4:
        raise ProtocolError(f'TELEMETRY payload of {len(payload)} bytes, at least 4 expected')
    flags, volt, n = struct.unpack('>BHB', payload[:4])
    if len(payload) != 4 + 7 * n:
        raise ProtocolError(f'TELEMETRY for {n} thrusters needs {4 + 7 * n} bytes, '
                            f'got {len(payload)}')
    readings = []
    for i in range(n):
        th, rpm, cur, fault = struct.unpack('>hhHB', payload[4 + 7 * i:11 + 7 * i])
        readings.append(ThrusterReading(th * THRUST_LSB_N, float(rpm), cur * CURRENT_LSB_A,
                                        fault))
    return Telemetry(bool(flags & 1), bool(flags & 2), volt * VOLT_LSB_V, tuple(readings))


# -------------------------------------------------------- the controller's logic


class ThrusterControllerLogic:
    """What the controller board does with frames (reference implementation, used as the
    device peer in tests and at the bench). `handle()` answers one frame; `tick()` runs
    the watchdog and returns a telemetry frame."""

    def __init__(self, n_thrusters: int, max_thrust_n: float = 50.0, watchdog_s: float = 0.5):
        self.n = n_thrusters
        self.max_thrust_n = max_thrust_n
        self.watchdog_s = watchdog_s
        self.armed = False
        self.tripped = False
        self.output = [0.0] * n_thrusters
        self.last_feed = None
        self.bus_voltage_v = 16.0

    def handle(self, frame: Frame, now: float) -> bytes:
        status = AckStatus.OK
        if frame.type == MsgType.THRUST:
            try:
                demand = parse_thrust(frame.payload)
            except ProtocolError:
                demand = None
            if demand is None or len(demand) != self.n:
                status = AckStatus.BAD_LENGTH
            elif any(abs(t) > self.max_thrust_n for t in demand):
                status = AckStatus.OUT_OF_RANGE
            elif not self.armed:
                status = AckStatus.NOT_ARMED
                self.last_feed = now
            else:
                self.output = demand
                self.last_feed = now
                self.tripped = False
        elif frame.type == MsgType.ARM:
            if len(frame.payload) != 1 or frame.payload[0] not in (0, 1):
                status = AckStatus.OUT_OF_RANGE
            else:
                self.armed = frame.payload[0] == 1
                self.last_feed = now
                if not self.armed:
                    self.output = [0.0] * self.n
        elif frame.type == MsgType.PING:
            self.last_feed = now
        else:
            status = AckStatus.UNKNOWN_TYPE
        return encode_frame(frame.seq, MsgType.ACK, ack_payload(frame.type, status))

    def tick(self, now: float, seq: int = 0) -> bytes:
        if self.last_feed is not None and now - self.last_feed > self.watchdog_s:
            if any(self.output):
                self.tripped = True
            self.output = [0.0] * self.n
        readings = tuple(ThrusterReading(t, 60.0 * t, abs(t) * 0.1, 0) for t in self.output)
        return encode_frame(seq, MsgType.TELEMETRY, telemetry_payload(
            Telemetry(self.armed, self.tripped, self.bus_voltage_v, readings)))


# ------------------------------------------------------------- the host's session


@dataclass(frozen=True)
class AckResult:
    seq: int
    msg_type: int
    status: AckStatus | None      # None: no ACK within the timeout


class HostSession:
    """Host side of KTP: numbers frames, matches ACKs to requests, expires missing ACKs."""

    def __init__(self, ack_timeout_s: float = 0.2):
        self.ack_timeout_s = ack_timeout_s
        self.parser = FrameParser()
        self._seq = 0
        self._pending: dict[int, tuple[int, float]] = {}   # seq -> (type, deadline)
        self.acks_ok = 0
        self.nacks = 0
        self.missed_acks = 0
        self.telemetry: Telemetry | None = None
        self.bad_payloads = 0
        self.last_error = ''

    def _frame(self, msg_type: MsgType, payload: bytes, now: float) -> tuple[int, bytes]:
        seq = self._seq
        self._seq = (self._seq + 1) % 256
        self._pending[seq] = (int(msg_type), now + self.ack_timeout_s)
        return seq, encode_frame(seq, msg_type, payload)

    def thrust(self, thrust_n, now: float) -> tuple[int, bytes]:
        return self._frame(MsgType.THRUST, thrust_payload(thrust_n), now)

    def arm(self, armed: bool, now: float) -> tuple[int, bytes]:
        return self._frame(MsgType.ARM, bytes([1 if armed else 0]), now)

    def ping(self, now: float) -> tuple[int, bytes]:
        return self._frame(MsgType.PING, b'', now)

    def feed(self, data: bytes, now: float) -> tuple[list[AckResult], list[Telemetry]]:
        """Bytes from the controller -> ACK results and telemetry; bad input counted."""
        acks, tel = [], []
        for frame in self.parser.feed(data):
            try:
                if frame.type == MsgType.ACK:
                    ack = parse_ack(frame)
                    pending = self._pending.pop(ack.seq, None)
                    if pending is None:
                        continue      # late ACK of an expired request: already counted
                    if ack.status == AckStatus.OK:
                        self.acks_ok += 1
                    else:
                        self.nacks += 1
                        self.last_error = (f'controller refused {MsgType(pending[0]).name} '
                                           f'seq {ack.seq}: {ack.status.name}')
                    acks.append(AckResult(ack.seq, pending[0], ack.status))
                elif frame.type == MsgType.TELEMETRY:
                    self.telemetry = parse_telemetry(frame.payload)
                    tel.append(self.telemetry)
                else:
                    raise ProtocolError(f'unexpected message type 0x{frame.type:02X}')
            except ProtocolError as err:
                self.bad_payloads += 1
                self.last_error = str(err)
        return acks, tel

    def expire(self, now: float) -> list[AckResult]:
        gone = [(s, t) for s, (t, d) in self._pending.items() if now > d]
        for s, _ in gone:
            del self._pending[s]
        self.missed_acks += len(gone)
        if gone:
            self.last_error = f'no ACK for {len(gone)} frame(s) within {self.ack_timeout_s} s'
        return [AckResult(s, t, None) for s, t in gone]
