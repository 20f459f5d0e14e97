"""Fossen 6-DOF marine-craft model in numpy (pure: no rclpy, no MuJoCo).

Equations of motion (Fossen, "Handbook of Marine Craft Hydrodynamics and Motion Control",
2nd ed., Wiley 2021: the 6-DOF vector form with an irrotational ocean current):

    M_RB nu_dot + C_RB(nu) nu + M_A nu_r_dot + C_A(nu_r) nu_r + D(nu_r) nu_r + g(eta) = tau

    nu   = [u v w p q r]   body velocities at the body origin (linear m/s, angular rad/s)
    nu_c = [R^T V_c, 0]    ocean current in the body frame; nu_r = nu - nu_c
    nu_c_dot = [-omega x v_c, 0] for a current constant in the world frame
    D(nu_r) = D_l + D_n |nu_r|   (diagonal linear + quadratic damping)
    C(nu) from M (Fossen's Thm 3.2 parametrisation): with [a; b] = M nu,
        C(nu) nu = [v2 x a;  v1 x a + v2 x b]
    g(eta): weight at the CG and buoyancy at the CB (their moments give roll/pitch
    stability); buoyancy fades linearly as the hull breaks the surface.

kaiyo's conventions throughout (no NED here): position in `map` ENU (m), attitude as a
quaternion (w, x, y, z) rotating body FLU vectors into ENU, velocities in body FLU. The
equations are frame-agnostic; the coefficients in the vehicle YAML are diagonal magnitudes,
which are identical in FLU and FRD.

The numpy path integrates with classic RK4 (the reference). The MuJoCo path
(`kaiyo_sim.mujoco_world`) lets MuJoCo do the rigid body and applies
`hydro_wrench(...)` each step; `acceleration(...)` supplies the predicted nu_dot for the
added-mass term, so the explicit scheme stays stable even when M_A exceeds M_RB.

    model = FossenModel(load_vehicle('hover_auv'))
    s = VehicleState.at_rest(position_enu=[0, 0, -5])
    for _ in range(1000):
        s = model.step(s, tau_body=np.zeros(6), current_enu=[0.2, 0, 0], dt=0.01)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kaiyo_common.vehicles import GRAVITY, RHO_SEAWATER, Thruster, VehicleParams


class FossenError(ValueError):
    """Bad input to the Fossen model (shape, non-finite value, bad time step)."""


@dataclass
class VehicleState:
    """Rigid-body state in kaiyo's conventions."""

    position: np.ndarray        # (3,) map ENU, m
    quaternion: np.ndarray      # (4,) w, x, y, z: body FLU -> ENU
    velocity: np.ndarray        # (6,) body FLU [u v w p q r], m/s and rad/s
    time_s: float = 0.0

    @classmethod
    def at_rest(cls, position_enu=(0.0, 0.0, 0.0), yaw_rad: float = 0.0) -> VehicleState:
        h = 0.5 * yaw_rad
        return cls(np.asarray(position_enu, dtype=float).copy(),
                   np.array([math.cos(h), 0.0, 0.0, math.sin(h)]), np.zeros(6))

    def copy(self) -> VehicleState:
        return VehicleState(self.position.copy(), self.quaternion.copy(), self.velocity.copy(),
                            self.time_s)

    def rotation(self) -> np.ndarray:
        """Body FLU -> ENU rotation matrix (cached: states are not mutated in place by
        the simulator; code that edits `quaternion` in place must use quat_to_matrix)."""
        r = self.__dict__.get('_rot')
        if r is None or self.__dict__.get('_rot_q') is not self.quaternion:
            r = quat_to_matrix(self.quaternion)
            self.__dict__['_rot'], self.__dict__['_rot_q'] = r, self.quaternion
        return r

    @property
    def depth_m(self) -> float:
        return -float(self.position[2])


def quat_to_matrix(q) -> np.ndarray:
    """Unit quaternion (w, x, y, z) -> 3x3 rotation matrix."""
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def quat_derivative(q, omega) -> np.ndarray:
    """dq/dt for body angular rate omega (rad/s): 0.5 q (x) [0, omega]."""
    w, x, y, z = q
    p, qq, r = omega
    return 0.5 * np.array([-x * p - y * qq - z * r,
                           w * p + y * r - z * qq,
                           w * qq + z * p - x * r,
                           w * r + x * qq - y * p])


def _cross(a, b) -> np.ndarray:
    a0, a1, a2 = float(a[0]), float(a[1]), float(a[2])
    b0, b1, b2 = float(b[0]), float(b[1]), float(b[2])
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def coriolis_times_nu(m: np.ndarray, nu: np.ndarray) -> np.ndarray:
    """C(nu) nu for a symmetric 6x6 mass matrix m (Fossen 2021, Thm 3.2)."""
    a0, a1, a2, b0, b1, b2 = (m @ nu).tolist()
    u, v, w, p, q, r = nu.tolist()
    # [v2 x a;  v1 x a + v2 x b] written out (small-array numpy calls dominate otherwise)
    return np.array([q * a2 - r * a1, r * a0 - p * a2, p * a1 - q * a0,
                     v * a2 - w * a1 + q * b2 - r * b1,
                     w * a0 - u * a2 + r * b0 - p * b2,
                     u * a1 - v * a0 + p * b1 - q * b0])


class FossenModel:
    """Hydrodynamics and rigid-body dynamics of one vehicle (see module docstring)."""

    def __init__(self, params: VehicleParams, rho: float = RHO_SEAWATER, g: float = GRAVITY):
        if not (rho > 0 and g > 0):
            raise FossenError(f'rho {rho} kg/m^3 and g {g} m/s^2 must be > 0')
        self.params = params
        self.rho, self.g = float(rho), float(g)
        self.m_rb = params.rigid_body_mass_matrix()
        self.m_a = np.asarray(params.added_mass, dtype=float)
        self.m_total = self.m_rb + self.m_a
        self.m_inv = np.linalg.inv(self.m_total)
        self.d_lin = np.asarray(params.damping_linear, dtype=float)
        self.d_quad = np.asarray(params.damping_quadratic, dtype=float)
        self.weight = params.mass_kg * g
        self.buoyancy = rho * g * params.volume_m3
        self.cg = np.asarray(params.cg_m, dtype=float)
        self.cb = np.asarray(params.cb_m, dtype=float)
        self.surface_vessel = params.kind == 'surface'
        # Height over which buoyancy fades as a submerged hull breaks the surface, m.
        self.hull_height_m = max(float(params.collision_box_m[2]), 0.05)

    # -- forces ----------------------------------------------------------------------------
    def submerged_fraction(self, position, rot) -> float:
        """0..1 of the displaced volume under water (linear across the hull height)."""
        z_cb = position[2] + rot[2] @ self.cb
        return min(1.0, max(0.0, 0.5 - z_cb / self.hull_height_m))

    def weight_wrench(self, rot) -> np.ndarray:
        """Body wrench of gravity acting at the CG (MuJoCo applies this itself)."""
        f = rot[2] * -self.weight           # R^T [0, 0, -W]
        return np.concatenate([f, _cross(self.cg, f)])

    def buoyancy_wrench(self, position, rot) -> np.ndarray:
        """Body wrench of buoyancy at the CB. Surface vessels get theirs from the hull model."""
        if self.surface_vessel:
            return np.zeros(6)
        f = rot[2] * (self.buoyancy * self.submerged_fraction(position, rot))
        return np.concatenate([f, _cross(self.cb, f)])

    def current_body(self, rot, current_enu) -> np.ndarray:
        return rot.T @ np.asarray(current_enu, dtype=float)

    def damping_times_nu(self, nu_r) -> np.ndarray:
        return (self.d_lin + self.d_quad * np.abs(nu_r)) * nu_r

    def acceleration(self, position, rot, nu, tau_body, current_enu,
                     include_weight: bool = True) -> np.ndarray:
        """nu_dot from the full equation with every force known at this instant
        (tau_body: thrusters + any external wrench, body FLU, N and N m)."""
        v_c = self.current_body(rot, current_enu)
        nu_r = nu.copy()
        nu_r[:3] -= v_c
        nu_c_dot = np.concatenate([-_cross(nu[3:], v_c), np.zeros(3)])
        rhs = (tau_body + self.buoyancy_wrench(position, rot)
               - coriolis_times_nu(self.m_rb, nu) - coriolis_times_nu(self.m_a, nu_r)
               - self.damping_times_nu(nu_r) + self.m_a @ nu_c_dot)
        if include_weight:
            rhs = rhs + self.weight_wrench(rot)
        return self.m_inv @ rhs

    def hydro_wrench(self, position, rot, nu, nu_dot, current_enu) -> np.ndarray:
        """Everything but the rigid body and gravity: buoyancy, added-mass inertia and
        Coriolis, damping, all current-relative. Body FLU wrench about the body origin."""
        v_c = self.current_body(rot, current_enu)
        nu_r = nu.copy()
        nu_r[:3] -= v_c
        nu_r_dot = nu_dot.copy()
        nu_r_dot[:3] += _cross(nu[3:], v_c)
        return (self.buoyancy_wrench(position, rot) - self.m_a @ nu_r_dot
                - coriolis_times_nu(self.m_a, nu_r) - self.damping_times_nu(nu_r))

    def applied_wrench(self, position, rot, nu, tau_body, current_enu) -> np.ndarray:
        """tau_body + hydro_wrench(nu_dot predicted by `acceleration`), in one pass: what
        the MuJoCo path applies each step (MuJoCo adds the rigid body and gravity)."""
        v_c = rot.T @ current_enu
        nu_r = nu.copy()
        nu_r[:3] -= v_c
        w_c = _cross(nu[3:], v_c)                        # = -nu_c_dot (linear part)
        ext = tau_body + self.buoyancy_wrench(position, rot) \
            - coriolis_times_nu(self.m_a, nu_r) - self.damping_times_nu(nu_r)
        rhs = ext - coriolis_times_nu(self.m_rb, nu) + self.weight_wrench(rot)
        rhs[:3] -= self.m_a[:3, :3] @ w_c
        rhs[3:] -= self.m_a[3:, :3] @ w_c
        nu_dot = self.m_inv @ rhs
        nu_r_dot = nu_dot.copy()
        nu_r_dot[:3] += w_c
        return ext - self.m_a @ nu_r_dot

    def fluid_inertia_wrench(self, position, rot, fluid_accel_enu) -> np.ndarray:
        """Body wrench of an accelerating surrounding fluid (wave orbital motion): the
        Froude-Krylov force rho V a at the CB plus the added-mass part M_A a (Morison's
        inertia term; completes nu_c_dot = R^T a_c - omega x v_c for a time-varying current).
        A neutrally buoyant body with no damping then moves exactly with the water."""
        a_b = rot.T @ np.asarray(fluid_accel_enu, dtype=float)
        vol = self.params.volume_m3 * (1.0 if self.surface_vessel
                                       else self.submerged_fraction(position, rot))
        f = self.rho * vol * a_b
        out = self.m_a[:, :3] @ a_b
        out[:3] += f
        out[3:] += _cross(self.cb, f)
        return out

    # -- integration -----------------------------------------------------------------------
    def derivative(self, position, quat, nu, tau_fn, current_enu, t):
        rot = quat_to_matrix(quat)
        tau = tau_fn(position, rot, nu, t) if callable(tau_fn) else tau_fn
        nu_dot = self.acceleration(position, rot, nu, tau, current_enu)
        return rot @ nu[:3], quat_derivative(quat, nu[3:]), nu_dot

    def step(self, state: VehicleState, tau_body, current_enu=(0.0, 0.0, 0.0),
             dt: float = 0.01) -> VehicleState:
        """Advance one RK4 step of dt seconds. tau_body: a (6,) body wrench (N, N m) held
        over the step, or a function (position, rot, nu, t) -> wrench evaluated at each
        RK4 stage (for state-dependent forces such as waves). Returns a new state."""
        if not (math.isfinite(dt) and dt > 0.0):
            raise FossenError(f'time step dt={dt!r} s must be a positive finite number')
        if not callable(tau_body):
            tau_body = np.asarray(tau_body, dtype=float)
            if tau_body.shape != (6,) or not np.all(np.isfinite(tau_body)):
                raise FossenError(f'tau_body must be 6 finite numbers (N, N m), got {tau_body!r}')
        current = np.asarray(current_enu, dtype=float)
        if current.shape != (3,) or not np.all(np.isfinite(current)):
            raise FossenError(f'current_enu must be 3 finite numbers (m/s), got {current_enu!r}')
        p, q, nu, t = state.position, state.quaternion, state.velocity, state.time_s
        k1 = self.derivative(p, q, nu, tau_body, current, t)
        h = 0.5 * dt
        k2 = self.derivative(p + h * k1[0], q + h * k1[1], nu + h * k1[2], tau_body, current, t + h)
        k3 = self.derivative(p + h * k2[0], q + h * k2[1], nu + h * k2[2], tau_body, current, t + h)
        k4 = self.derivative(p + dt * k3[0], q + dt * k3[1], nu + dt * k3[2], tau_body, current,
                             t + dt)
        s6 = dt / 6.0
        p2 = p + s6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        q2 = q + s6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        nu2 = nu + s6 * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
        q2 /= np.linalg.norm(q2)
        return VehicleState(p2, q2, nu2, t + dt)

    # -- analytic checks -------------------------------------------------------------------
    def steady_speed(self, axis: int, force: float) -> float:
        """Speed (m/s or rad/s) where linear + quadratic damping balance a constant force on
        one axis: d_l v + d_q v|v| = F."""
        dl, dq = self.d_lin[axis], self.d_quad[axis]
        f = abs(force)
        v = f / dl if dq == 0 else (-dl + math.sqrt(dl * dl + 4.0 * dq * f)) / (2.0 * dq)
        return math.copysign(v, force)


@dataclass
class ThrusterBank:
    """Delivered thrust of a vehicle's thrusters: saturation, then a first-order lag
    (exact discretisation), times a health factor (1 = healthy, 0 = failed)."""

    thrusters: tuple[Thruster, ...]
    thrust_n: np.ndarray = field(default=None)
    health: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        n = len(self.thrusters)
        self.thrust_n = np.zeros(n) if self.thrust_n is None else np.asarray(self.thrust_n, float)
        self.health = np.ones(n) if self.health is None else np.asarray(self.health, float)
        self._max = np.array([t.max_thrust_n for t in self.thrusters])
        self._min = np.array([t.min_thrust_n for t in self.thrusters])
        self._tau = np.array([t.time_constant_s for t in self.thrusters])
        self.command_n = np.zeros(n)

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.thrusters]

    def set_command(self, command_n) -> np.ndarray:
        """Store a demand (N per thruster, YAML order); returns it saturated."""
        cmd = np.asarray(command_n, dtype=float)
        if cmd.shape != self._max.shape:
            raise FossenError(f'thruster command has {cmd.size} values, '
                              f'vehicle has {self._max.size} thrusters ({", ".join(self.names)})')
        if not np.all(np.isfinite(cmd)):
            raise FossenError(f'thruster command has a non-finite value: {cmd.tolist()}')
        self.command_n = np.clip(cmd, self._min, self._max)
        return self.command_n

    def step(self, dt: float) -> np.ndarray:
        target = self.command_n * self.health
        if dt != getattr(self, '_alpha_dt', None):
            self._alpha = np.where(self._tau > 0,
                                   1.0 - np.exp(-dt / np.maximum(self._tau, 1e-12)), 1.0)
            self._alpha_dt = dt
        self.thrust_n = self.thrust_n + self._alpha * (target - self.thrust_n)
        return self.thrust_n

    def electrical_power_w(self, coeff_w_per_n15: float) -> float:
        return float(coeff_w_per_n15 * np.sum(np.abs(self.thrust_n) ** 1.5))
