"""Water Linked DVL-A50 JSON protocol over TCP (pure).

The DVL serves newline-terminated JSON on TCP port 16171 (protocol json_v3.x, public in
Water Linked's documentation). kaiyo uses:
- velocity reports, `"type": "velocity"`: vx, vy, vz (m/s, DVL frame x forward, y right,
  z down), fom (figure of merit, m/s), covariance (3x3, (m/s)^2), altitude (m, -1 when
  invalid), velocity_valid, status, time_of_validity / time_of_transmission (unix us),
  and transducers[4] with id, distance (m), beam_valid;
- dead-reckoning reports, `"type": "position_local"`: ts, x, y, z (m), std, roll, pitch,
  yaw (deg);
- command responses, `"type": "response"`: response_to, success, error_message.
Commands are JSON lines such as {"command": "reset_dead_reckoning"}.

kaiyo's DvlVelocity is in the mounting frame with x forward, y left, z up (FLU), so y and
z (and the covariance's off-diagonal terms) change sign here. A line that is not valid
JSON or lacks a field raises DvlError naming the field.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from kaiyo_drivers.nmea import LineSplitter

PORT = 16171
MAX_LINE = 8192


class DvlError(ValueError):
    """A DVL line is not valid JSON or not a valid report; the message says what."""


@dataclass(frozen=True)
class VelocityReport:
    velocity_flu: tuple[float, float, float]      # m/s
    covariance_flu: tuple[float, ...]             # 9, row-major, (m/s)^2
    velocity_valid: bool
    altitude_m: float                             # NaN when invalid
    fom: float
    beam_valid: tuple[bool, ...]
    beam_range_m: tuple[float, ...]               # NaN when invalid
    status: int
    time_of_validity_s: float                     # transmission - validity, s (>= 0)


@dataclass(frozen=True)
class PositionReport:
    x: float
    y: float
    z: float
    std: float
    roll_deg: float
    pitch_deg: float
    yaw_deg: float
    status: int


@dataclass(frozen=True)
class Response:
    response_to: str
    success: bool
    error_message: str


def _num(d: dict, key: str, kind: str) -> float:
    if key not in d:
        raise DvlError(f'{kind} report without "{key}"')
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise DvlError(f'{kind} report: "{key}" = {v!r} is not a number')
    v = float(v)
    if not math.isfinite(v):
        raise DvlError(f'{kind} report: "{key}" = {v!r} is not finite')
    return v


def _bool(d: dict, key: str, kind: str) -> bool:
    v = d.get(key)
    if not isinstance(v, bool):
        raise DvlError(f'{kind} report: "{key}" = {v!r} is not true/false')
    return v


_FLIP = (1.0, -1.0, -1.0)     # FRD -> FLU


def parse_line(line: str):
    """One JSON line -> VelocityReport | PositionReport | Response | None (other types)."""
    try:
        d = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as err:
        raise DvlError(f'not JSON: {str(err)[:60]}: {line[:40]!r}') from None
    if not isinstance(d, dict):
        raise DvlError(f'not a JSON object: {line[:40]!r}')
    typ = d.get('type')
    if typ == 'velocity':
        k = 'velocity'
        v = tuple(_num(d, key, k) * s for key, s in zip(('vx', 'vy', 'vz'), _FLIP))
        cov = d.get('covariance')
        if (not isinstance(cov, list) or len(cov) != 3
                or not all(isinstance(r, list) and len(r) == 3 for r in cov)):
            raise DvlError('velocity report: "covariance" is not a 3x3 list')
        flat = []
        for i in range(3):
            for j in range(3):
                c = cov[i][j]
                if isinstance(c, bool) or not isinstance(c, (int, float)) or not \
                        math.isfinite(c):
                    raise DvlError(f'velocity report: covariance[{i}][{j}] = {c!r}')
                flat.append(float(c) * _FLIP[i] * _FLIP[j])
        alt = _num(d, 'altitude', k)
        beams = d.get('transducers')
        if not isinstance(beams, list) or len(beams) != 4 or \
                not all(isinstance(b, dict) for b in beams):
            raise DvlError('velocity report: "transducers" must list 4 beams')
        valid = tuple(_bool(b, 'beam_valid', 'transducer') for b in beams)
        ranges = tuple(_num(b, 'distance', 'transducer') if ok else math.nan
                       for b, ok in zip(beams, valid))
        tov = d.get('time_of_validity')
        tot = d.get('time_of_transmission')
        age = 0.0
        if isinstance(tov, (int, float)) and isinstance(tot, (int, float)) and \
                not isinstance(tov, bool) and not isinstance(tot, bool) and tot >= tov:
            age = (tot - tov) / 1e6
        return VelocityReport(v, tuple(flat), _bool(d, 'velocity_valid', k),
                              alt if alt > 0 else math.nan, _num(d, 'fom', k), valid, ranges,
                              int(_num(d, 'status', k)), age)
    if typ == 'position_local':
        k = 'position'
        return PositionReport(*(_num(d, key, k) for key in
                                ('x', 'y', 'z', 'std', 'roll', 'pitch', 'yaw')),
                              int(_num(d, 'status', k)))
    if typ == 'response':
        rt = d.get('response_to')
        if not isinstance(rt, str):
            raise DvlError('response without "response_to"')
        return Response(rt, d.get('success') is True, str(d.get('error_message') or ''))
    if typ is None:
        raise DvlError(f'JSON object without "type": {line[:40]!r}')
    return None


def command(name: str, **params) -> bytes:
    """A command line, e.g. command('reset_dead_reckoning')."""
    if not name or not name.replace('_', '').isalnum():
        raise ValueError(f'bad DVL command name {name!r}')
    return (json.dumps({'command': name, **params}) + '\n').encode()


class DvlDecoder:
    """Bytes -> reports; bad lines counted (never raises)."""

    def __init__(self):
        self.splitter = LineSplitter(MAX_LINE)
        self.good = 0
        self.bad = 0
        self.ignored = 0
        self.last_error = ''

    def feed(self, data: bytes) -> list:
        out = []
        dropped0 = self.splitter.dropped
        for line in self.splitter.feed(data):
            try:
                rep = parse_line(line)
            except DvlError as err:
                self.bad += 1
                self.last_error = str(err)
                continue
            if rep is None:
                self.ignored += 1
                continue
            self.good += 1
            out.append(rep)
        if self.splitter.dropped > dropped0:
            self.bad += self.splitter.dropped - dropped0
            self.last_error = 'overlong or non-ASCII line'
        return out
