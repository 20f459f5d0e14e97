"""Physics back-ends: MuJoCo rigid bodies + contacts with the Fossen wrench, or numpy alone.

MuJoCo path. The MJCF model has the seabed as a height field sampled from the world's
bathymetry, the tower legs as cylinders, and one free body per vehicle (mass and inertia at
the CG from the vehicle YAML, a collision box). MuJoCo's own fluid model is off
(density = viscosity = 0); MuJoCo integrates the rigid body, gravity and contacts. Every
step kaiyo applies, through mj_applyFT at the body origin,

    tau_ext + buoyancy - M_A (nu_dot - nu_c_dot) - C_A(nu_r) nu_r - D(nu_r) nu_r

where nu_dot is predicted from the full Fossen equation (rigid body + added mass) with the
forces known at the start of the step. Without contacts MuJoCo's acceleration then equals
Fossen's exactly; the explicit added-mass term stays stable even when M_A > M_RB (heave of
the ROV), which a previous-step acceleration would not. During contact the contact force
does not see the added mass (a small error only while touching).

Numpy path: each vehicle integrated alone by FossenModel.step (RK4), no contacts; fast and
used by the long physics tests.

Both expose the same small API: `state(name) -> VehicleState`, `nu_dot(name)`,
`step(wrenches, currents)`, `set_state(name, state)`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from kaiyo_common.vehicles import VehicleParams
from kaiyo_sim.fossen import FossenModel, VehicleState, quat_to_matrix
from kaiyo_sim.world import World


class PhysicsError(ValueError):
    """Bad physics configuration (time step, vehicle names)."""


class NumpyPhysics:
    """Fossen RK4 per vehicle, no contacts."""

    name = 'numpy'

    def __init__(self, world: World | None, vehicles: Iterable[tuple[str, VehicleParams,
                                                                      VehicleState]],
                 dt: float, rho: float = 1025.0):
        if not (math.isfinite(dt) and 0 < dt <= 0.1):
            raise PhysicsError(f'physics time step {dt!r} s must be in (0, 0.1]')
        self.dt = dt
        self.models: dict[str, FossenModel] = {}
        self.states: dict[str, VehicleState] = {}
        self._nu_dot: dict[str, np.ndarray] = {}
        for name, params, state in vehicles:
            self.models[name] = FossenModel(params, rho=rho)
            self.states[name] = state.copy()
            self._nu_dot[name] = np.zeros(6)

    def state(self, name: str) -> VehicleState:
        return self.states[name]

    def nu_dot(self, name: str) -> np.ndarray:
        return self._nu_dot[name]

    def set_state(self, name: str, state: VehicleState) -> None:
        self.states[name] = state.copy()

    def step(self, wrenches: dict, currents: dict) -> None:
        for name, model in self.models.items():
            s0 = self.states[name]
            s1 = model.step(s0, wrenches[name], currents[name], self.dt)
            self._nu_dot[name] = (s1.velocity - s0.velocity) / self.dt
            self.states[name] = s1


def _mjcf(world: World | None, vehicles, dt: float, hfield_res_m: float) -> tuple[str, dict]:
    parts = ['<mujoco model="kaiyo">',
             # RK4: MuJoCo's Euler mis-integrates the gyroscopic roll/yaw coupling of these
             # lightly damped, lightly inertial bodies (tens of cm per 10 s at 100 Hz)
             f'<option timestep="{dt}" gravity="0 0 -9.81" density="0" viscosity="0" '
             'integrator="RK4"/>',
             '<visual><quality shadowsize="0"/></visual>',
             # contacts soft enough for a 20 ms step (time constant >= 2 steps): hulls
             # bumping rock or steel legs, not precision grasping
             f'<default><geom solref="{max(0.02, 2.5 * dt)} 1"/></default>']
    hf = {}
    if world is not None:
        w, s, e, n = world.scene_spec.extent_m
        nx = int(round((e - w) / hfield_res_m)) + 1
        ny = int(round((n - s) / hfield_res_m)) + 1
        xs, ys = np.linspace(w, e, nx), np.linspace(s, n, ny)
        gx, gy = np.meshgrid(xs, ys)
        z = world.bathymetry.seabed_z(gx, gy)
        zmin, zmax = float(z.min()) - 0.5, float(z.max())
        hf = {'data': ((z - zmin) / (zmax - zmin)).astype(np.float32).ravel(), 'nrow': ny,
              'ncol': nx}
        parts.append(f'<asset><hfield name="seabed" nrow="{ny}" ncol="{nx}" '
                     f'size="{(e - w) / 2} {(n - s) / 2} {zmax - zmin} 1.0"/></asset>')
    parts.append('<worldbody>')
    if world is not None:
        parts.append(f'<geom name="seabed" type="hfield" hfield="seabed" '
                     f'pos="{(w + e) / 2} {(s + n) / 2} {zmin}"/>')
        r = 0.5 * world.leg_diameter_m
        for i, (lx, ly) in enumerate(world.legs_enu_m):
            zb = float(world.bathymetry.seabed_z(lx, ly))
            half = 0.5 * (world.deck_height_m - zb)
            parts.append(f'<geom name="tower_leg_{i}" type="cylinder" size="{r} {half}" '
                         f'pos="{lx} {ly} {zb + half}"/>')
    for name, p, st in vehicles:
        q = st.quaternion
        box = np.maximum(np.asarray(p.collision_box_m) / 2.0, 0.01)
        i = p.inertia_kg_m2
        parts.append(
            f'<body name="{name}" pos="{st.position[0]} {st.position[1]} {st.position[2]}" '
            f'quat="{q[0]} {q[1]} {q[2]} {q[3]}"><freejoint name="{name}_free"/>'
            f'<inertial pos="{p.cg_m[0]} {p.cg_m[1]} {p.cg_m[2]}" mass="{p.mass_kg}" '
            f'fullinertia="{i[0, 0]} {i[1, 1]} {i[2, 2]} {i[0, 1]} {i[0, 2]} {i[1, 2]}"/>'
            f'<geom name="{name}_hull" type="box" size="{box[0]} {box[1]} {box[2]}" '
            f'friction="0.6 0.01 0.001"/></body>')
    parts.append('</worldbody></mujoco>')
    return '\n'.join(parts), hf


class MujocoPhysics:
    """MuJoCo rigid bodies and contacts + the Fossen hydrodynamic wrench (module docstring)."""

    name = 'mujoco'

    def __init__(self, world: World | None, vehicles: Iterable[tuple[str, VehicleParams,
                                                                      VehicleState]],
                 dt: float, rho: float = 1025.0, hfield_res_m: float = 0.5):
        import mujoco  # imported here so the numpy path works without it
        self._mj = mujoco
        if not (math.isfinite(dt) and 0 < dt <= 0.05):
            raise PhysicsError(f'MuJoCo time step {dt!r} s must be in (0, 0.05]')
        vehicles = list(vehicles)
        self.dt = dt
        xml, hf = _mjcf(world, vehicles, dt, hfield_res_m)
        self.xml = xml
        self.model = mujoco.MjModel.from_xml_string(xml)
        if hf:
            self.model.hfield_data[:] = hf['data']
        self.data = mujoco.MjData(self.model)
        self.models: dict[str, FossenModel] = {}
        self._adr: dict[str, tuple[int, int, int]] = {}
        self._nu_dot: dict[str, np.ndarray] = {}
        self._prev_nu: dict[str, np.ndarray] = {}
        self._cache: dict[str, VehicleState] = {}    # states of the current step
        for name, params, state in vehicles:
            self.models[name] = FossenModel(params, rho=rho)
            jid = self.model.joint(f'{name}_free').id
            self._adr[name] = (int(self.model.jnt_qposadr[jid]), int(self.model.jnt_dofadr[jid]),
                               int(self.model.body(name).id))
            self._nu_dot[name] = np.zeros(6)
            self.set_state(name, state)
        mujoco.mj_forward(self.model, self.data)

    def set_state(self, name: str, state: VehicleState) -> None:
        qa, da, _ = self._adr[name]
        self.data.qpos[qa:qa + 3] = state.position
        self.data.qpos[qa + 3:qa + 7] = state.quaternion
        rot = quat_to_matrix(state.quaternion)
        self.data.qvel[da:da + 3] = rot @ state.velocity[:3]
        self.data.qvel[da + 3:da + 6] = state.velocity[3:]
        self._prev_nu[name] = state.velocity.copy()
        self._cache.pop(name, None)

    def state(self, name: str) -> VehicleState:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        qa, da, _ = self._adr[name]
        q = self.data.qpos[qa + 3:qa + 7].copy()
        rot = quat_to_matrix(q)
        nu = np.concatenate([rot.T @ self.data.qvel[da:da + 3], self.data.qvel[da + 3:da + 6]])
        st = VehicleState(self.data.qpos[qa:qa + 3].copy(), q, nu, float(self.data.time))
        self._cache[name] = st
        return st

    def nu_dot(self, name: str) -> np.ndarray:
        return self._nu_dot[name]

    def contacts(self, name: str) -> int:
        """Number of active contacts touching this vehicle's hull."""
        gid = self.model.geom(f'{name}_hull').id
        c = self.data.contact[:self.data.ncon]
        return int(np.sum((c.geom1 == gid) | (c.geom2 == gid))) if self.data.ncon else 0

    def step(self, wrenches: dict, currents: dict) -> None:
        mj = self._mj
        d = self.data
        d.qfrc_applied[:] = 0.0
        for name, model in self.models.items():
            s = self.state(name)
            rot = s.rotation()
            tau = wrenches[name]
            if callable(tau):
                tau = tau(s.position, rot, s.velocity, s.time_s)
            w = model.applied_wrench(s.position, rot, s.velocity, tau, currents[name])
            mj.mj_applyFT(self.model, d, rot @ w[:3], rot @ w[3:], s.position,
                          self._adr[name][2], d.qfrc_applied)
        mj.mj_step(self.model, d)
        self._cache.clear()
        for name in self.models:
            nu = self.state(name).velocity
            self._nu_dot[name] = (nu - self._prev_nu[name]) / self.dt
            self._prev_nu[name] = nu

    def raw_step_rate(self, steps: int = 2000) -> float:
        """MuJoCo steps per second of this model with no Python forces (the ceiling)."""
        import time
        mj = self._mj
        d = mj.MjData(self.model)
        d.qpos[:] = self.data.qpos
        mj.mj_forward(self.model, d)
        t0 = time.perf_counter()
        for _ in range(steps):
            mj.mj_step(self.model, d)
        return steps / (time.perf_counter() - t0)


def make_physics(backend: str, world, vehicles, dt: float, rho: float = 1025.0):
    if backend == 'mujoco':
        return MujocoPhysics(world, vehicles, dt, rho)
    if backend == 'numpy':
        return NumpyPhysics(world, vehicles, dt, rho)
    raise PhysicsError(f"physics backend {backend!r} must be 'mujoco' or 'numpy'")
