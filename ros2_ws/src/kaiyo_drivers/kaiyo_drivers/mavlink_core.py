"""ArduSub over MAVLink: vehicle state, heartbeat watch, command mapping (pure: pymavlink only).

The camera robot's autopilot is ArduSub (MAV_TYPE_SUBMARINE). It reports in marine frames:
ATTITUDE is body FRD w.r.t. NED (rad), SCALED_IMU2 accelerations are mG in FRD,
SCALED_PRESSURE2 is the external (Bar30) depth sensor in hPa, SYS_STATUS carries the
battery (mV, cA, %). kaiyo converts to ENU/FLU at this boundary (kaiyo_common.frames).

Pilot input goes as MANUAL_CONTROL: x forward, y right, r yaw clockwise, each -1000..1000,
and z throttle 0..1000 with 500 neutral (ArduSub's convention). kaiyo's manual command is
normalised FLU (forward, left, up, yaw left, each -1..1), so y and r change sign.

kaiyo control modes map to ArduSub flight modes; RETURN has no ArduSub equivalent and is
refused with a reason rather than silently approximated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mav

# kaiyo VehicleStatus / SetControlMode constants
MODE_MANUAL, MODE_STABILIZED, MODE_AUTO, MODE_HOLD, MODE_SURFACE, MODE_RETURN = range(6)

# ArduSub custom modes (ArduSub/mode.h)
SUB_STABILIZE, SUB_ACRO, SUB_ALT_HOLD, SUB_AUTO, SUB_GUIDED = 0, 1, 2, 3, 4
SUB_SURFACE, SUB_POSHOLD, SUB_MANUAL = 9, 16, 19

KAIYO_TO_SUB = {MODE_MANUAL: SUB_MANUAL, MODE_STABILIZED: SUB_ALT_HOLD, MODE_AUTO: SUB_GUIDED,
                MODE_HOLD: SUB_POSHOLD, MODE_SURFACE: SUB_SURFACE}
SUB_TO_KAIYO = {SUB_MANUAL: MODE_MANUAL, SUB_STABILIZE: MODE_STABILIZED,
                SUB_ALT_HOLD: MODE_STABILIZED, SUB_ACRO: MODE_MANUAL, SUB_GUIDED: MODE_AUTO,
                SUB_AUTO: MODE_AUTO, SUB_POSHOLD: MODE_HOLD, SUB_SURFACE: MODE_SURFACE}
SUB_MODE_NAMES = {0: 'STABILIZE', 1: 'ACRO', 2: 'ALT_HOLD', 3: 'AUTO', 4: 'GUIDED',
                  7: 'CIRCLE', 9: 'SURFACE', 16: 'POSHOLD', 19: 'MANUAL'}
G = 9.80665


class UnsupportedModeError(ValueError):
    """A kaiyo control mode the autopilot cannot do."""


def ardusub_mode(kaiyo_mode: int) -> int:
    try:
        return KAIYO_TO_SUB[kaiyo_mode]
    except KeyError:
        raise UnsupportedModeError(f'kaiyo mode {kaiyo_mode} has no ArduSub equivalent '
                              f'(supported: MANUAL, STABILIZED, AUTO, HOLD, SURFACE)') from None


def manual_control(forward: float, left: float, up: float, yaw_left: float
                   ) -> tuple[int, int, int, int]:
    """Normalised FLU pilot command -> MANUAL_CONTROL (x, y, z, r); NaN and overrange clip."""
    def c(v):
        return 0.0 if not math.isfinite(v) else max(-1.0, min(1.0, v))
    return (int(round(1000 * c(forward))), int(round(-1000 * c(left))),
            int(round(500 + 500 * c(up))), int(round(-1000 * c(yaw_left))))


@dataclass
class ArduSubState:
    system_id: int | None = None
    armed: bool = False
    custom_mode: int | None = None
    system_status: int | None = None
    attitude_ned: tuple[float, float, float] | None = None    # roll, pitch, yaw rad
    rates_frd: tuple[float, float, float] | None = None       # rad/s
    accel_frd: tuple[float, float, float] | None = None       # m/s^2
    pressure_pa: float | None = None
    water_temperature_c: float | None = None
    battery_voltage_v: float | None = None
    battery_current_a: float | None = None
    battery_fraction: float | None = None
    messages: int = 0
    counts: dict = field(default_factory=dict)

    @property
    def kaiyo_mode(self) -> int | None:
        return SUB_TO_KAIYO.get(self.custom_mode) if self.custom_mode is not None else None

    @property
    def mode_name(self) -> str:
        return SUB_MODE_NAMES.get(self.custom_mode, f'mode {self.custom_mode}')

    def apply(self, msg) -> str:
        """Update from one pymavlink message; returns its type."""
        t = msg.get_type()
        self.messages += 1
        self.counts[t] = self.counts.get(t, 0) + 1
        if t == 'HEARTBEAT':
            if msg.type == mav.MAV_TYPE_GCS:
                return t          # another ground station, not the vehicle
            self.system_id = msg.get_srcSystem()
            self.armed = bool(msg.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED)
            self.custom_mode = msg.custom_mode
            self.system_status = msg.system_status
        elif t == 'ATTITUDE':
            self.attitude_ned = (msg.roll, msg.pitch, msg.yaw)
            self.rates_frd = (msg.rollspeed, msg.pitchspeed, msg.yawspeed)
        elif t in ('SCALED_IMU2', 'SCALED_IMU', 'RAW_IMU'):
            if t != 'RAW_IMU':   # RAW_IMU units are sensor-specific; scaled ones are mG
                self.accel_frd = (msg.xacc * G / 1000.0, msg.yacc * G / 1000.0,
                                  msg.zacc * G / 1000.0)
        elif t == 'SCALED_PRESSURE2':
            self.pressure_pa = msg.press_abs * 100.0
            self.water_temperature_c = msg.temperature / 100.0
        elif t == 'SYS_STATUS':
            self.battery_voltage_v = (msg.voltage_battery / 1000.0
                                      if msg.voltage_battery != 0xFFFF else None)
            self.battery_current_a = (msg.current_battery / 100.0
                                      if msg.current_battery >= 0 else None)
            self.battery_fraction = (msg.battery_remaining / 100.0
                                     if msg.battery_remaining >= 0 else None)
        return t


class HeartbeatWatch:
    """Detects the loss (no HEARTBEAT for timeout_s) and the return of the autopilot."""

    LOST, REGAINED = 'lost', 'regained'

    def __init__(self, timeout_s: float):
        if timeout_s <= 0:
            raise ValueError(f'heartbeat timeout must be > 0 s, got {timeout_s}')
        self.timeout_s = timeout_s
        self.last = None
        self.lost = False

    def beat(self, now: float) -> str | None:
        self.last = now
        if self.lost:
            self.lost = False
            return self.REGAINED
        return None

    def age(self, now: float) -> float:
        return math.inf if self.last is None else now - self.last

    def check(self, now: float) -> str | None:
        if self.last is not None and not self.lost and now - self.last > self.timeout_s:
            self.lost = True
            return self.LOST
        return None


def depth_from_pressure(pressure_pa: float, surface_pa: float, density_kg_m3: float) -> float:
    """Hydrostatic depth, m, positive down: (p - p_surface) / (rho g)."""
    return (pressure_pa - surface_pa) / (density_kg_m3 * G)
