"""Dead-reckoning check of the EKF with simulated sensors (pure: numpy only).

A survey-like truth trajectory (lawn-mower legs at depth, wave-induced roll/pitch, a little
sway from current) is sampled by simulated sensors with realistic noise and bias, fed to
`NavEkf` in time order, and the estimate is compared to the truth. Sensor figures (the
defaults of `SensorModel`, documented so the result can be judged):

- IMU / AHRS, FOG-class heading: yaw white noise 0.1 deg, constant yaw bias 0.2 deg; roll and
  pitch noise 0.1 deg; gyro noise 0.003 rad/s; 25 Hz. A MEMS AHRS with a magnetometer near
  thrusters is more like 1-2 deg of heading bias: since cross-track error grows as
  sin(heading bias) x distance, 1 % of distance needs heading bias below ~0.5 deg.
- DVL, DVL-A50-class: white noise 1 cm/s per axis, scale-factor error 0.3 % (about a 5 m/s
  sound-speed error), 8 Hz, bottom lock below 40 m altitude; optional dropout window.
- Pressure: noise 20 Pa (~2 mm, Bar30-class resolution plus wave pressure at depth), 10 Hz,
  converted with the same density/gravity/atmosphere the filter is configured with.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kaiyo_navigation.ekf import (
    EkfConfig,
    NavEkf,
    UpdateResult,
    depth_from_pressure,
    normal_gravity,
    rotation_rpy,
)

RHO = 1025.0            # kg/m^3 sea water
P_ATM = 101325.0        # Pa
G_TOWER = normal_gravity(35.305)


@dataclass
class SensorModel:
    imu_rate_hz: float = 25.0
    attitude_noise_deg: float = 0.1
    yaw_noise_deg: float = 0.1
    yaw_bias_deg: float = 0.2
    gyro_noise_rps: float = 0.003
    dvl_rate_hz: float = 8.0
    dvl_noise_mps: float = 0.01
    dvl_scale_error: float = 0.003
    depth_rate_hz: float = 10.0
    pressure_noise_pa: float = 20.0


@dataclass
class Scenario:
    duration_s: float = 300.0
    depth_m: float = 10.0
    speed_mps: float = 0.5
    pattern: str = 'transit'            # 'transit': one way, heading wandering +-20 deg
                                        # (errors add up: the hard case); 'lawnmower':
                                        # back-and-forth legs (errors partly cancel)
    leg_s: float = 60.0                 # lawn mower: straight leg length in time, s
    turn_s: float = 15.0                # lawn mower: 180 deg turn duration, s
    sway_mps: float = 0.05              # crab from current
    dropout_start_s: float | None = None
    dropout_length_s: float = 20.0


@dataclass
class DeadReckoningResult:
    distance_m: float
    horizontal_error_m: float           # at the end
    horizontal_error_pct: float         # of distance travelled
    max_depth_error_m: float
    vertical_drift_m: float             # mean z error over the last 10 s minus the first 10 s
    max_jump_m: float                   # largest step of (estimate - truth) between samples
    dvl_rejected_gate: int
    samples: int


def truth(t: float, sc: Scenario):
    """Truth roll, pitch (rad) and yaw rate (rad/s) at time t."""
    roll = math.radians(2.0) * math.sin(2 * math.pi * t / 7.0)
    pitch = math.radians(1.5) * math.sin(2 * math.pi * t / 9.0 + 1.0)
    if sc.pattern == 'transit':
        w = 2 * math.pi / 120.0
        return roll, pitch, math.radians(20.0) * w * math.cos(w * t)
    cycle = sc.leg_s + sc.turn_s
    n, tc = divmod(t, cycle)
    yaw_rate = math.pi / sc.turn_s if tc >= sc.leg_s else 0.0
    sign = 1.0 if int(n) % 2 == 0 else -1.0       # alternate turn direction: lawn mower
    return roll, pitch, sign * yaw_rate


def run_dead_reckoning(sc: Scenario | None = None, sm: SensorModel | None = None,
                       seed: int = 1, dt: float = 0.01) -> DeadReckoningResult:
    sc = sc or Scenario()
    sm = sm or SensorModel()
    if sc.pattern not in ('transit', 'lawnmower'):
        raise ValueError(f"Scenario.pattern {sc.pattern!r}: must be 'transit' or 'lawnmower'")
    rng = np.random.default_rng(seed)
    cfg = EkfConfig(initial_position_m=(0.0, 0.0, -sc.depth_m),
                    initial_position_std_m=(0.1, 0.1, 1.0),
                    accel_noise_mps2=0.05, gyro_noise_rps=sm.gyro_noise_rps)
    ekf = NavEkf(cfg)
    pos = np.array([0.0, 0.0, -sc.depth_m])
    yaw = 0.3
    body_v = np.array([sc.speed_mps, sc.sway_mps, 0.0])
    next_imu = next_dvl = next_depth = 0.0
    errs, z_err, t_err = [], [], []
    dist = 0.0
    dvl_gate = 0
    deg = math.radians
    t = 0.0
    steps = int(round(sc.duration_s / dt))
    for k in range(steps + 1):
        t = k * dt
        roll, pitch, yaw_rate = truth(t, sc)
        rot = rotation_rpy(roll, pitch, yaw)
        # sensors
        if t >= next_imu:
            next_imu += 1.0 / sm.imu_rate_hz
            omega = np.array([0.0, 0.0, yaw_rate]) + rng.normal(0, sm.gyro_noise_rps, 3)
            ekf.set_rates(omega)
            meas = np.array([roll + rng.normal(0, deg(sm.attitude_noise_deg)),
                             pitch + rng.normal(0, deg(sm.attitude_noise_deg)),
                             yaw + deg(sm.yaw_bias_deg) + rng.normal(0, deg(sm.yaw_noise_deg))])
            std = np.array([deg(sm.attitude_noise_deg), deg(sm.attitude_noise_deg),
                            deg(sm.yaw_noise_deg)])
            ekf.update_attitude(t, meas, std)
        if t >= next_depth:
            next_depth += 1.0 / sm.depth_rate_hz
            p = P_ATM + RHO * G_TOWER * (-pos[2]) + rng.normal(0, sm.pressure_noise_pa)
            std = sm.pressure_noise_pa / (RHO * G_TOWER)
            ekf.update_depth(t, depth_from_pressure(p, P_ATM, RHO, G_TOWER), std)
        if t >= next_dvl:
            next_dvl += 1.0 / sm.dvl_rate_hz
            dropped = sc.dropout_start_s is not None and \
                sc.dropout_start_s <= t < sc.dropout_start_s + sc.dropout_length_s
            v_meas = body_v * (1.0 + sm.dvl_scale_error) + rng.normal(0, sm.dvl_noise_mps, 3)
            out = ekf.update_dvl(t, v_meas, [sm.dvl_noise_mps ** 2] * 3, valid=not dropped)
            if out.result is UpdateResult.REJECTED_GATE:
                dvl_gate += 1
        ekf.predict_to(t)
        if k % 10 == 0:
            est = ekf.state().position_m
            errs.append(est[:2] - pos[:2])
            z_err.append(est[2] - pos[2])
            t_err.append(t)
        # truth integration
        step = rot @ body_v * dt
        dist += float(np.linalg.norm(step[:2]))
        pos = pos + step
        yaw = yaw + yaw_rate * dt
    errs = np.array(errs)
    z_err = np.array(z_err)
    t_arr = np.array(t_err)
    h_end = float(np.linalg.norm(errs[-1]))
    full = np.column_stack([errs, z_err])
    jumps = np.linalg.norm(np.diff(full, axis=0), axis=1)
    first, last = t_arr < 10.0, t_arr > t_arr[-1] - 10.0
    return DeadReckoningResult(
        distance_m=dist, horizontal_error_m=h_end,
        horizontal_error_pct=100.0 * h_end / dist if dist > 0 else float('nan'),
        max_depth_error_m=float(np.max(np.abs(z_err))),
        vertical_drift_m=float(abs(np.mean(z_err[last]) - np.mean(z_err[first]))),
        max_jump_m=float(np.max(jumps)), dvl_rejected_gate=dvl_gate, samples=len(z_err))
