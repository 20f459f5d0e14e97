"""Irregular sea from a JONSWAP spectrum, and the wave boat's hull and foil forces (pure).

Sea: the JONSWAP spectrum (DNV-RP-C205, section 3.5.5)

    S(w) = A_g * 5/16 Hs^2 wp^4 w^-5 exp(-5/4 (w/wp)^-4) * g^exp(-(w-wp)^2 / (2 s^2 wp^2))
    A_g = 1 - 0.287 ln(g)   (normalises m0 = Hs^2/16),  s = 0.07 (w <= wp) / 0.09

is split into N components with frequencies drawn at random inside equal bins over
[0.5 wp, 5 wp] (random frequencies avoid the record repeating after 2 pi / dw), amplitudes
a_i = sqrt(2 S(w_i) dw), random phases and a cos^2s directional spread about the mean
direction, all from one seed. Wave numbers follow the finite-depth dispersion relation
w^2 = g k tanh(k h). Linear (Airy) superposition gives the elevation, its time derivative and
slopes at any point; a 30-minute record is cheap in numpy. Below the surface `orbital`
gives the water particle velocity and acceleration (finite-depth Airy theory), which the
simulator feeds to submerged vehicles as a time-varying current plus the Froude-Krylov and
added-mass inertia force.

Wave boat (a Wave Glider-like float on an umbilical to a wing rack):
- heave/roll/pitch hydrostatics from the waterplane area and metacentric heights, with the
  float's immersion and tilt measured against the local wave surface (Froude-Krylov);
- foil thrust T = 0.5 rho A C w^2 forward, w the float's vertical speed (the wings ~6 m
  down barely move with the waves, so the umbilical drags them up and down at the float's
  heave speed and their passive pitch turns that into forward lift);
- rudder lift 0.5 rho A C_L(delta) U^2 with C_L = 2 pi delta (AR 1 reduction ~ 0.5),
  stall capped at the max angle, acting at a lever behind the body origin;
- heave power take-off between float and wings: electrical power eta c w^2 (harvest).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kaiyo_common.vehicles import GRAVITY, RHO_SEAWATER, SurfaceHull


class SeaStateError(ValueError):
    """Bad sea-state parameters (names the parameter and value)."""


def jonswap(omega, hs_m: float, tp_s: float, gamma: float = 3.3) -> np.ndarray:
    """One-sided JONSWAP spectral density S(omega), m^2 s/rad."""
    w = np.asarray(omega, dtype=float)
    wp = 2.0 * math.pi / tp_s
    sigma = np.where(w <= wp, 0.07, 0.09)
    with np.errstate(divide='ignore', over='ignore', invalid='ignore'):
        pm = 5.0 / 16.0 * hs_m ** 2 * wp ** 4 * w ** -5.0 * np.exp(-1.25 * (w / wp) ** -4.0)
        peak = gamma ** np.exp(-((w - wp) ** 2) / (2.0 * sigma ** 2 * wp ** 2))
    out = (1.0 - 0.287 * math.log(gamma)) * pm * peak
    return np.where(w > 0, np.nan_to_num(out), 0.0)


def wave_number(omega, depth_m: float, g: float = GRAVITY) -> np.ndarray:
    """Solve w^2 = g k tanh(k h) for k (rad/m), Newton iterations from the deep-water k."""
    w = np.asarray(omega, dtype=float)
    k = w ** 2 / g
    if not math.isfinite(depth_m):
        return k
    for _ in range(30):
        th = np.tanh(k * depth_m)
        f = g * k * th - w ** 2
        df = g * th + g * k * depth_m * (1.0 - th ** 2)
        k = k - f / df
    return k


@dataclass(frozen=True)
class SeaState:
    hs_m: float = 1.0             # significant wave height, m
    tp_s: float = 8.0             # peak period, s
    direction_deg: float = 200.0  # compass direction the waves come FROM, deg
    gamma: float = 3.3            # JONSWAP peak enhancement
    spreading_s: float = 10.0     # cos^2s spreading exponent (0: long-crested, 1: broad)
    components: int = 256
    depth_m: float = 20.0         # water depth for the dispersion relation, m
    seed: int = 1

    def __post_init__(self) -> None:
        for name, lo in (('hs_m', 0.0), ('tp_s', 1.0), ('gamma', 1.0), ('spreading_s', 0.0)):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= lo):
                raise SeaStateError(f'sea_state.{name} = {v!r} must be a number >= {lo}')
        if not 1 <= self.components <= 4096:
            raise SeaStateError(f'sea_state.components = {self.components} must be 1..4096')
        if not self.depth_m > 0:
            raise SeaStateError(f'sea_state.depth_m = {self.depth_m!r} must be > 0')


class Sea:
    """A seeded realisation of a SeaState: elevation and kinematics anywhere, any time."""

    def __init__(self, state: SeaState, g: float = GRAVITY):
        self.state = state
        rng = np.random.default_rng(state.seed)
        wp = 2.0 * math.pi / state.tp_s
        edges = np.linspace(0.5 * wp, 5.0 * wp, state.components + 1)
        dw = np.diff(edges)
        self.omega = edges[:-1] + rng.uniform(0.0, 1.0, state.components) * dw
        self.amplitude = np.sqrt(2.0 * jonswap(self.omega, state.hs_m, state.tp_s,
                                               state.gamma) * dw)
        self.phase = rng.uniform(0.0, 2.0 * math.pi, state.components)
        k = wave_number(self.omega, state.depth_m, g)
        # propagation direction: opposite to where the waves come from; ENU angle
        mean_to = math.radians(90.0 - (state.direction_deg + 180.0))
        spread = _sample_cos2s(rng, state.spreading_s, state.components)
        theta = mean_to + spread
        self.kx, self.ky = k * np.cos(theta), k * np.sin(theta)
        self.k = k
        self.dir_x, self.dir_y = np.cos(theta), np.sin(theta)
        aw = self.amplitude * self.omega
        aww = aw * self.omega
        # weights of [vx, vy, vz, ax, ay, az] on [ch c, ch c, sh s, ch s, ch s, sh c]
        self._orb_w = np.stack([aw * self.dir_x, aw * self.dir_y, -aw,
                                -aww * self.dir_x, -aww * self.dir_y, -aww])
        self._orb_h = None

    @property
    def variance_m2(self) -> float:
        return float(np.sum(self.amplitude ** 2) / 2.0)

    def _arg(self, x, y, t):
        return self.omega * t - self.kx * x - self.ky * y + self.phase

    def elevation(self, x: float, y: float, t: float) -> float:
        """Sea surface elevation eta (m, up) at map (x, y) and time t (s)."""
        return float(self.amplitude @ np.cos(self._arg(x, y, t)))

    def kinematics(self, x: float, y: float, t: float) -> tuple[float, float, float, float]:
        """(eta m, d eta/dt m/s, d eta/dx, d eta/dy) at one point."""
        a = self._arg(x, y, t)
        c, s = np.cos(a), np.sin(a)
        am = self.amplitude
        return (float(am @ c), float(-(am * self.omega) @ s), float((am * self.kx) @ s),
                float((am * self.ky) @ s))

    def orbital(self, x: float, y: float, z: float, t: float,
                depth_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Water particle velocity (m/s) and acceleration (m/s^2), ENU, at (x, y, z<=0) under
        the waves, linear finite-depth (Airy) theory over water depth h:
            u_h = a w cosh(k(z+h))/sinh(kh) cos(arg),  w = -a w sinh(k(z+h))/sinh(kh) sin(arg)
        (written with exponentials so deep water does not overflow)."""
        h = max(float(depth_m), 0.1)
        z = min(0.0, max(float(z), -h))
        k = self.k
        if h != self._orb_h:                  # depth-only terms, cached (h rarely changes much)
            self._orb_h = h
            self._orb_e2 = np.exp(-2.0 * k * h)
            self._orb_inv = 1.0 / (1.0 - self._orb_e2)
        ez = np.exp(k * z)
        ezz = np.exp(-k * (z + 2.0 * h))        # (not e2 / ez: 0/0 in deep water)
        ch = (ez + ezz) * self._orb_inv         # cosh(k(z+h)) / sinh(kh)
        sh = (ez - ezz) * self._orb_inv         # sinh(k(z+h)) / sinh(kh)
        a = self._arg(x, y, t)
        c, s = np.cos(a), np.sin(a)
        # eta = a cos(arg) with arg = w t - k.x: w = d eta/dt at the surface = -a w sin(arg)
        z6 = np.stack([ch * c, ch * c, sh * s, ch * s, ch * s, sh * c])
        out = np.einsum('ij,ij->i', self._orb_w, z6)
        return out[:3], out[3:]

    def record(self, x: float, y: float, t) -> np.ndarray:
        """Elevation time series at one point (t: array of times, s)."""
        t = np.asarray(t, dtype=float)
        out = np.empty_like(t)
        chunk = 4096
        for i in range(0, t.size, chunk):
            tt = t[i:i + chunk, None]
            out[i:i + chunk] = np.cos(self.omega * tt - self.kx * x - self.ky * y
                                      + self.phase) @ self.amplitude
        return out


def _sample_cos2s(rng, s: float, n: int) -> np.ndarray:
    """Angles (rad) about 0 drawn from D(theta) ~ cos^2s(theta/2) by rejection."""
    if s <= 0:          # long-crested: every component along the mean direction
        return np.zeros(n)
    out = np.empty(0)
    while out.size < n:
        th = rng.uniform(-math.pi, math.pi, 4 * n)
        keep = rng.uniform(0.0, 1.0, th.size) < np.cos(th / 2.0) ** (2.0 * s)
        out = np.concatenate([out, th[keep]])
    return out[:n]


def significant_wave_height(eta) -> float:
    """Hs = 4 sqrt(m0) from an elevation record (m)."""
    eta = np.asarray(eta, dtype=float)
    return 4.0 * float(np.std(eta))


# -- wave boat -----------------------------------------------------------------------------

@dataclass
class HullForces:
    wrench: np.ndarray           # (6,) body FLU, N and N m (buoyancy, foil, rudder)
    immersion_m: float           # keel depth below the local wave surface, m
    heave_speed_mps: float       # float vertical speed over ground (vs the wing rack), m/s
    foil_thrust_n: float
    harvest_w: float             # electrical power harvested (PTO + solar), W


class WaveBoatHull:
    """Forces on the wave boat's float and wing rack; see the module docstring."""

    def __init__(self, hull: SurfaceHull, mass_kg: float, hull_height_m: float,
                 rho: float = RHO_SEAWATER, g: float = GRAVITY):
        self.hull, self.rho, self.g = hull, rho, g
        self.hull_height_m = hull_height_m
        self.mass_kg = mass_kg
        self.rudder_rad = 0.0

    def step_rudder(self, command_deg: float, dt: float) -> float:
        lim = self.hull.rudder_max_angle_deg
        target = math.radians(min(lim, max(-lim, command_deg)))
        tau = self.hull.rudder_time_constant_s
        alpha = 1.0 if tau <= 0 else 1.0 - math.exp(-dt / tau)
        self.rudder_rad += alpha * (target - self.rudder_rad)
        return self.rudder_rad

    def forces(self, position, rot, nu, sea: Sea | None, t: float,
               current_enu=(0.0, 0.0, 0.0)) -> HullForces:
        h = self.hull
        if sea is not None:
            eta, _, dx, dy = sea.kinematics(position[0], position[1], t)
        else:
            eta = dx = dy = 0.0
        # immersion of the keel (origin at the design waterline, keel draft_m below it)
        immersion = min(self.hull_height_m, max(0.0, eta - position[2] + h.draft_m))
        displaced = h.waterplane_area_m2 * immersion
        buoy = self.rho * self.g * displaced
        # restoring tilt against the local wave surface normal (Froude-Krylov)
        up_body = rot[2]                                 # world up in body axes
        n_world = np.array([-dx, -dy, 1.0]) / math.sqrt(1.0 + dx * dx + dy * dy)
        n_body = rot.T @ n_world
        f = n_body * buoy
        # n_body[1] ~ sin(roll), -n_body[0] ~ sin(pitch) relative to the surface (FLU)
        m_roll = -buoy * h.gm_transverse_m * n_body[1]
        m_pitch = buoy * h.gm_longitudinal_m * n_body[0]
        # heave speed of the float relative to the wing rack, which hangs ~6 m down where
        # the wave orbital motion is small: the float's vertical speed over ground, m/s
        w_rel = (rot @ nu[:3])[2]
        wet = 1.0 if immersion > 0 else 0.0
        thrust = 0.5 * self.rho * h.foil_area_m2 * h.foil_thrust_coeff * w_rel * w_rel * wet
        # heave PTO damping force and harvest
        f_pto = -h.pto_damping_ns_m * w_rel * wet
        harvest = h.pto_efficiency * h.pto_damping_ns_m * w_rel * w_rel * wet + h.solar_w
        # rudder lift on the wing rack, speed through water
        u_r = nu[0] - float(rot[:, 0] @ np.asarray(current_enu, dtype=float))
        # positive rudder pushes the stern to starboard (-y): the bow turns to port (+yaw)
        lift = -0.5 * self.rho * h.rudder_area_m2 * (math.pi * self.rudder_rad) * u_r * abs(u_r)
        wrench = np.zeros(6)
        wrench[:3] = f
        wrench[0] += thrust
        wrench[1] += lift
        wrench[:3] += f_pto * up_body            # PTO force acts along world vertical
        wrench[3] = m_roll
        wrench[4] = m_pitch
        wrench[5] = -lift * h.rudder_lever_m   # lift at the stern, lever behind the origin
        return HullForces(wrench, immersion, w_rel, thrust, harvest)
