"""A rudder-type (pendulor) wave-energy converter driven by a JONSWAP sea (pure numpy).

Physics, linear and one degree of freedom: a plate hanging from a hinge above the water in a
caisson chamber swings with angle θ (positive seaward):

    I θ'' = M_exc(t) - (B_rad + B_pto) θ' - C θ

- M_exc: wave excitation moment about the hinge. Each wave component of amplitude a gives a
  dynamic pressure 2 ρ g a K(z) on the plate (×2: the chamber's back wall reflects, so the
  plate sits in a standing wave), K(z) = cosh(k(h+z))/cosh(kh); integrated over the plate
  (width b, from the surface down to depth d) with lever arm (z_hinge - z), times an
  `excitation_efficiency` (< 1) for diffraction and 3-D losses.
- I: plate inertia including added inertia; C: gravity restoring of the pendulum;
  B_pto: the power take-off (a rectifying gearbox driving the generator, so the generator
  turns one way whichever way the plate swings).
- B_rad: radiation damping, tied to the excitation by the 2-D Haskind relation for a
  device absorbing across its width: B_rad = |M_exc/a|² / (4 ρ g c_g b), taken at the
  design period. With it the capture-width ratio can reach 1 only at resonance with
  optimal PTO damping B_pto = √(B_rad² + ((C - Iω²)/ω)²) (the default), as theory says.
- Mechanical power out of the gearbox is η_gear B_pto θ'². The flywheel on the generator shaft
  smooths it (first-order lag, `flywheel_time_constant_s`); generator speed follows the
  rectified plate speed × gear ratio through the same lag.
- Electrical power = efficiency × smoothed mechanical power - no-load loss (∝ speed),
  limited to the power limit (excess goes to the dump resistor). Line voltage of the
  permanent-magnet generator ∝ speed; current = P / (√3 V pf).
- Winding temperature: first-order thermal model, ambient + R_th × losses with time
  constant τ_th.
- Generator state: RUNNING above the cut-in speed with the breaker closed, STOPPED below
  it, FAULT when injected (breaker opens, no power).

The default numbers (config/plant_sim.yaml) are a plausible small plant, not the Hiratsuka
plant's design data; they give capture-width ratios of 0.1-0.4 in Hs 0.5-2 m seas.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kaiyo_plant.waves import RHO_SEAWATER, G, WaveComponents, group_velocity, wavenumber

STOPPED, RUNNING, FAULT = 0, 1, 2


class PlantModelError(ValueError):
    """A plant-model parameter is out of its physical range."""


@dataclass(frozen=True)
class PlantConfig:
    water_depth_m: float = 6.0            # water depth at the chamber mouth, m
    plate_width_m: float = 5.0            # b, m
    plate_depth_m: float = 4.0            # submerged plate depth d, m
    hinge_height_m: float = 1.5           # hinge above mean water level, m
    excitation_efficiency: float = 1.0    # diffraction / 3-D loss factor, 0..1
    inertia_kgm2: float = 2.0e5           # I incl. added inertia, kg m²
    restoring_nm_per_rad: float = 1.6e5   # C, N m/rad (natural period 2π√(I/C) ≈ 7 s)
    design_period_s: float = 7.0          # wave period the plant is tuned to, s
    pto_damping_nms: float = 0.0          # B_pto, N m s/rad (0: optimal at the design period)
    gear_ratio: float = 400.0             # generator / plate speed
    gearbox_efficiency: float = 0.8       # rectifying gears and one-way clutches, 0..1
    flywheel_time_constant_s: float = 3.0
    generator_efficiency: float = 0.9     # at load, 0..1
    no_load_loss_kw: float = 0.5          # iron + friction loss at rated speed, kW
    rated_speed_rpm: float = 1500.0
    max_current_a: float = 300.0          # converter current limit, A
    rated_voltage_v: float = 400.0        # line voltage at rated speed, V
    power_factor: float = 0.95
    cut_in_rpm: float = 100.0
    power_limit_kw: float = 45.0
    thermal_resistance_k_per_kw: float = 8.0
    thermal_time_constant_s: float = 900.0
    ambient_temperature_c: float = 20.0
    max_angle_deg: float = 35.0           # end stops: the plate cannot swing further

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            if not math.isfinite(v):
                raise PlantModelError(f'{name} must be finite, got {v!r}')
            if name != 'ambient_temperature_c' and v < 0:
                raise PlantModelError(f'{name} must be >= 0, got {v!r}')
        for name in ('water_depth_m', 'plate_width_m', 'plate_depth_m', 'inertia_kgm2',
                     'gear_ratio', 'rated_speed_rpm', 'rated_voltage_v', 'power_factor',
                     'flywheel_time_constant_s', 'thermal_time_constant_s', 'max_angle_deg',
                     'design_period_s', 'max_current_a'):
            if getattr(self, name) <= 0:
                raise PlantModelError(f'{name} must be > 0, got {getattr(self, name)!r}')
        if self.plate_depth_m > self.water_depth_m:
            raise PlantModelError(f'plate depth {self.plate_depth_m} m exceeds water depth '
                                  f'{self.water_depth_m} m')
        for name in ('excitation_efficiency', 'generator_efficiency', 'power_factor',
                     'gearbox_efficiency'):
            if getattr(self, name) > 1:
                raise PlantModelError(f'{name} must be <= 1, got {getattr(self, name)!r}')


def excitation_coefficients(freqs_hz: np.ndarray, cfg: PlantConfig,
                            rho: float = RHO_SEAWATER) -> np.ndarray:
    """Excitation moment per metre of wave amplitude at each frequency, N m / m."""
    k = wavenumber(freqs_hz, cfg.water_depth_m)
    z = np.linspace(-cfg.plate_depth_m, 0.0, 41)          # along the plate, m (up positive)
    h = cfg.water_depth_m
    kz = np.exp(np.outer(k, z + h) - (k * h)[:, None])     # cosh ratio, overflow-safe form
    kz *= (1 + np.exp(-2 * np.outer(k, z + h))) / (1 + np.exp(-2 * k * h))[:, None]
    arm = cfg.hinge_height_m - z
    integrand = 2.0 * rho * G * cfg.plate_width_m * kz * arm
    return cfg.excitation_efficiency * np.trapezoid(integrand, z, axis=1)


def damping(cfg: PlantConfig, rho: float = RHO_SEAWATER) -> tuple[float, float]:
    """(B_rad, B_pto) in N m s/rad at the design period (see the module docstring)."""
    f = np.array([1.0 / cfg.design_period_s])
    m = float(excitation_coefficients(f, cfg, rho)[0])
    cg = float(group_velocity(f, cfg.water_depth_m)[0])
    b_rad = m ** 2 / (4.0 * rho * G * cg * cfg.plate_width_m)
    w = 2.0 * math.pi * f[0]
    b_pto = cfg.pto_damping_nms or math.hypot(
        b_rad, (cfg.restoring_nm_per_rad - cfg.inertia_kgm2 * w ** 2) / w)
    return b_rad, b_pto


class RudderPlant:
    """Time-stepped plant. `step(dt)` advances; `readings()` gives the PLC's values."""

    DT_MAX = 0.05   # integration step, s (the natural period is ~7 s)

    def __init__(self, waves: WaveComponents, cfg: PlantConfig = PlantConfig(),
                 energy_total_kwh: float = 0.0):
        self.cfg = cfg
        self.waves = waves
        self._exc = excitation_coefficients(waves.freqs_hz, cfg) * waves.amplitudes_m
        self.radiation_damping_nms, self.pto_damping_nms = damping(cfg)
        self.t = 0.0
        self.theta = 0.0
        self.omega = 0.0
        self.p_in_kw = 0.0          # flywheel-smoothed mechanical power, kW
        self.speed_rpm = 0.0
        self.temperature_c = cfg.ambient_temperature_c
        self.energy_total_kwh = float(energy_total_kwh)
        self.power_kw = 0.0
        self.fault = False
        self.eta = 0.0

    def excitation(self, t: float) -> float:
        w = 2.0 * np.pi * self.waves.freqs_hz
        return float(np.cos(w * t + self.waves.phases_rad) @ self._exc)

    def _accel(self, t: float, theta: float, omega: float, m_exc: float) -> float:
        c = self.cfg
        b_pto = 0.0 if self.fault else self.pto_damping_nms
        return (m_exc - (self.radiation_damping_nms + b_pto) * omega
                - c.restoring_nm_per_rad * theta) / c.inertia_kgm2

    def step(self, dt: float) -> None:
        """Advance by dt seconds (split into steps of at most DT_MAX)."""
        if not (math.isfinite(dt) and dt >= 0):
            raise PlantModelError(f'time step must be finite and >= 0 s, got {dt!r}')
        n = max(1, math.ceil(dt / self.DT_MAX)) if dt > 0 else 0
        for _ in range(n):
            self._rk4(dt / n)

    def _rk4(self, h: float) -> None:
        c = self.cfg
        t, th, om = self.t, self.theta, self.omega
        m0, m1, m2 = self.excitation(t), self.excitation(t + h / 2), self.excitation(t + h)
        k1t, k1o = om, self._accel(t, th, om, m0)
        k2t, k2o = om + h / 2 * k1o, self._accel(t, th + h / 2 * k1t, om + h / 2 * k1o, m1)
        k3t, k3o = om + h / 2 * k2o, self._accel(t, th + h / 2 * k2t, om + h / 2 * k2o, m1)
        k4t, k4o = om + h * k3o, self._accel(t, th + h * k3t, om + h * k3o, m2)
        self.theta = th + h / 6 * (k1t + 2 * k2t + 2 * k3t + k4t)
        self.omega = om + h / 6 * (k1o + 2 * k2o + 2 * k3o + k4o)
        lim = math.radians(c.max_angle_deg)
        if abs(self.theta) > lim:   # inelastic end stop
            self.theta = math.copysign(lim, self.theta)
            self.omega = 0.0
        self.t = t + h
        self._drive_train(h)

    def _drive_train(self, h: float) -> None:
        c = self.cfg
        a = min(1.0, h / c.flywheel_time_constant_s)
        p_mech = (0.0 if self.fault else
                  c.gearbox_efficiency * self.pto_damping_nms * self.omega ** 2 / 1000.0)
        self.p_in_kw += a * (p_mech - self.p_in_kw)
        target_rpm = abs(self.omega) * c.gear_ratio * 60.0 / (2.0 * math.pi)
        self.speed_rpm += a * (target_rpm - self.speed_rpm)
        no_load = c.no_load_loss_kw * self.speed_rpm / c.rated_speed_rpm
        p = c.generator_efficiency * self.p_in_kw - no_load
        if self.fault or self.speed_rpm < c.cut_in_rpm:
            p = 0.0
        self.power_kw = min(max(p, 0.0), c.power_limit_kw)
        losses = (1.0 - c.generator_efficiency) * self.p_in_kw + no_load
        target_t = c.ambient_temperature_c + c.thermal_resistance_k_per_kw * losses
        self.temperature_c += min(1.0, h / c.thermal_time_constant_s) * (target_t
                                                                          - self.temperature_c)
        self.energy_total_kwh += self.power_kw * h / 3600.0
        self.eta = float(self.waves.elevation(self.t)[0])

    @property
    def state(self) -> int:
        if self.fault:
            return FAULT
        return RUNNING if self.speed_rpm >= self.cfg.cut_in_rpm else STOPPED

    def readings(self) -> dict[str, float]:
        """Values by register name of hardware/plant.yaml (engineering units)."""
        c = self.cfg
        volts = c.rated_voltage_v * self.speed_rpm / c.rated_speed_rpm
        running = self.state == RUNNING
        amps = (min(c.max_current_a,
                    self.power_kw * 1000.0 / (math.sqrt(3.0) * volts * c.power_factor))
                if running and volts > 1.0 else 0.0)
        return {
            'generator_speed_rpm': self.speed_rpm,
            'generator_voltage_v': volts,
            'generator_current_a': amps,
            'power_kw': self.power_kw,
            'rudder_angle_deg': math.degrees(self.theta),
            'generator_temperature_c': self.temperature_c,
            'generator_state': float(self.state),
            'wave_elevation_m': self.eta,
            'energy_total_kwh': self.energy_total_kwh,
            'breaker_closed': 0.0 if self.fault else 1.0,
            'power_limit_kw': c.power_limit_kw,
        }
