"""Line-based ASCII sensors on serial lines: IMU, pressure/depth, altimeter (pure).

- IMU: VectorNav ASCII `$VNYMR,yaw,pitch,roll,magX,magY,magZ,accX,accY,accZ,gyrX,gyrY,gyrZ*CS`
  (VN-100/200/300 user manuals). Attitude is yaw-pitch-roll (deg) of the body (FRD) w.r.t.
  NED; magnetic field in gauss, acceleration in m/s^2 (specific force: -9.8 on z at rest),
  angular rate in rad/s, all body FRD. The checksum is either 2 hex digits (XOR of the
  bytes between `$` and `*`, as NMEA) or 4 hex digits (CRC-16-CCITT, init 0); `XX`
  means the device was set to send no checksum, which kaiyo refuses unless allowed.
- Pressure: Paroscientific Digiquartz continuous output `*DDSSvalue`, e.g. `*000114.69750`
  (DD destination, SS source address; value in the unit the transmitter is set to:
  psi, hPa, kPa, bar or dbar). Depth = (p - p_surface) / (rho g), positive down.
- Altimeter: the plain ASCII range line `ddd.dddm` of echo-sounder altimeters (Tritech
  PA-series, Valeport VA500 style). A range outside [min, max] means no echo (+inf, as
  REP-117 asks for "no return").
Every parser raises `SensorError` naming the problem; callers count and drop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from kaiyo_drivers.nmea import checksum
from kaiyo_drivers.thruster_protocol import crc16_ccitt

G = 9.80665
PRESSURE_UNITS_PA = {'psi': 6894.757293168, 'hPa': 100.0, 'kPa': 1000.0, 'bar': 1e5,
                     'dbar': 1e4}


class SensorError(ValueError):
    """A sensor line is malformed; the message says which part."""


@dataclass(frozen=True)
class ImuSample:
    ypr_deg: tuple[float, float, float]      # yaw, pitch, roll: body FRD w.r.t. NED
    mag_gauss: tuple[float, float, float]    # body FRD
    accel_mps2: tuple[float, float, float]   # body FRD, specific force
    gyro_rps: tuple[float, float, float]     # body FRD


def parse_vn_ymr(line: str, allow_no_checksum: bool = False) -> ImuSample:
    line = line.strip()
    if not line.startswith('$VN'):
        raise SensorError(f'not a VectorNav line: {line[:30]!r}')
    body, star, cs = line[1:].rpartition('*')
    if not star:
        raise SensorError(f'no checksum in {line[:30]!r}')
    if cs == 'XX':
        if not allow_no_checksum:
            raise SensorError('checksum disabled on the device (XX); enable it')
    elif len(cs) == 2:
        try:
            want = int(cs, 16)
        except ValueError:
            raise SensorError(f'bad checksum {cs!r}') from None
        if checksum(body) != want:
            raise SensorError(f'checksum {cs} != computed {checksum(body):02X}')
    elif len(cs) == 4:
        try:
            want = int(cs, 16)
        except ValueError:
            raise SensorError(f'bad CRC {cs!r}') from None
        got = crc16_ccitt(body.encode('ascii', 'replace'), 0)
        if got != want:
            raise SensorError(f'CRC {cs} != computed {got:04X}')
    else:
        raise SensorError(f'bad checksum field {cs!r}')
    parts = body.split(',')
    if parts[0] != 'VNYMR':
        raise SensorError(f'{parts[0]} is not VNYMR (set the async output to YMR)')
    if len(parts) != 13:
        raise SensorError(f'VNYMR has {len(parts) - 1} values, 12 expected')
    try:
        v = [float(x) for x in parts[1:]]
    except ValueError:
        raise SensorError(f'VNYMR value is not a number in {line[:50]!r}') from None
    if not all(math.isfinite(x) for x in v):
        raise SensorError('VNYMR value is not finite')
    if not (-180.0 <= v[0] <= 360.0 and -90.0 <= v[1] <= 90.0 and -180.0 <= v[2] <= 180.0):
        raise SensorError(f'VNYMR attitude out of range: {v[:3]}')
    return ImuSample(tuple(v[0:3]), tuple(v[3:6]), tuple(v[6:9]), tuple(v[9:12]))


def parse_paroscientific(line: str, unit: str) -> float:
    """`*DDSSvalue` -> pressure in Pa."""
    if unit not in PRESSURE_UNITS_PA:
        raise ValueError(f"pressure unit {unit!r} must be one of {', '.join(PRESSURE_UNITS_PA)}")
    line = line.strip()
    if len(line) < 6 or line[0] != '*' or not line[1:5].isdigit():
        raise SensorError(f'not a Paroscientific *DDSS line: {line[:30]!r}')
    try:
        p = float(line[5:])
    except ValueError:
        raise SensorError(f'pressure {line[5:]!r} is not a number') from None
    if not math.isfinite(p) or p < 0:
        raise SensorError(f'pressure {line[5:]!r} is not a non-negative number')
    return p * PRESSURE_UNITS_PA[unit]


def depth_m(pressure_pa: float, surface_pa: float, density: float) -> float:
    return (pressure_pa - surface_pa) / (density * G)


def parse_altimeter(line: str, min_m: float, max_m: float) -> float:
    """`ddd.dddm` -> range in m; +inf when outside [min_m, max_m] (no echo)."""
    line = line.strip()
    if not line.endswith('m'):
        raise SensorError(f'altimeter line {line[:20]!r} does not end in m')
    try:
        r = float(line[:-1])
    except ValueError:
        raise SensorError(f'altimeter range {line[:-1][:20]!r} is not a number') from None
    if not math.isfinite(r) or r < 0:
        raise SensorError(f'altimeter range {r} is not a distance')
    return r if min_m <= r <= max_m else math.inf
