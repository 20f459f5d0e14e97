"""Thruster allocation: body wrench -> thrust per thruster (pure numpy).

B (6 x N) from the vehicle YAML maps thrusts to the body wrench [Fx Fy Fz Mx My Mz] (FLU).
Only the degrees of freedom the thrusters can actually move independently are allocated
(`controllable_dofs`: greedy rank test in priority order), so a DOF that is only coupled
(e.g. the roll moment of a sway thruster mounted 10 cm high) does not distort the others.

Weighted pseudo-inverse: u = W^-1 Bc^T (Bc W^-1 Bc^T)^-1 tau_c minimises sum w_i u_i^2 (a
large w_i spares thruster i). Saturation handling is prioritised: the demand is split into
groups (default: heave, then yaw, then roll/pitch, then surge/sway); each group's solution
is added scaled by the largest s in [0, 1] that keeps every thruster within its own
(asymmetric) limits given what the groups before it already use. Because Bc Bc^+ = I, each
group's wrench is achieved exactly (times s) without disturbing the others: when thrust runs
out the vehicle slows down in surge/sway, but keeps its depth and heading authority.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

DOF_NAMES = ('surge', 'sway', 'heave', 'roll', 'pitch', 'yaw')
DEFAULT_PRIORITY = ((2,), (5,), (3, 4), (0, 1))


class AllocationError(ValueError):
    """A bad allocation matrix, limits, weights or wrench."""


class AllocationStatus(enum.Enum):
    OK = 'ok'                       # every group achieved in full
    SCALED = 'scaled'               # some lower-priority group was scaled down
    PRIORITY_SCALED = 'priority_scaled'  # even the first group could not be achieved in full


@dataclass
class AllocationResult:
    thrust_n: np.ndarray            # (N,) per thruster, YAML order
    achieved: np.ndarray            # (6,) body wrench B @ thrust
    group_scale: tuple[float, ...]  # scale per priority group (1 = in full)
    status: AllocationStatus


def controllable_dofs(b: np.ndarray, order=(2, 5, 0, 1, 4, 3),
                      tol: float = 1e-6) -> tuple[int, ...]:
    """DOFs that add rank to B, tried in `order` (heave, yaw, surge, sway, pitch, roll)."""
    chosen: list[int] = []
    rank = 0
    for d in order:
        trial = chosen + [d]
        r = np.linalg.matrix_rank(b[trial, :], tol=tol) if b.shape[1] else 0
        if r > rank:
            chosen, rank = trial, r
    return tuple(sorted(chosen))


class Allocator:
    def __init__(self, b, min_thrust_n, max_thrust_n, weights=None,
                 priority=DEFAULT_PRIORITY, dofs: tuple[int, ...] | None = None):
        b = np.asarray(b, dtype=float)
        if b.ndim != 2 or b.shape[0] != 6 or b.shape[1] == 0 or not np.all(np.isfinite(b)):
            raise AllocationError(f'allocation matrix must be 6 x N (N >= 1) and finite, '
                                  f'got shape {b.shape}')
        n = b.shape[1]
        lo = np.asarray(min_thrust_n, dtype=float)
        hi = np.asarray(max_thrust_n, dtype=float)
        if lo.shape != (n,) or hi.shape != (n,):
            raise AllocationError(f'thrust limits must have {n} values each')
        if np.any(lo > 0) or np.any(hi <= 0) or np.any(lo >= hi):
            raise AllocationError('each thruster needs min_thrust_n <= 0 < max_thrust_n')
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise AllocationError(f'weights must be {n} positive numbers, got {weights!r}')
        self.b, self.lo, self.hi, self.w = b, lo, hi, w
        self.dofs = controllable_dofs(b) if dofs is None else tuple(dofs)
        if not self.dofs:
            raise AllocationError('the thrusters control no degree of freedom')
        bc = b[list(self.dofs), :]
        if np.linalg.matrix_rank(bc) < len(self.dofs):
            raise AllocationError(f'DOFs {[DOF_NAMES[d] for d in self.dofs]} are not '
                                  'independently controllable by these thrusters')
        w_inv = np.diag(1.0 / w)
        self.pinv = w_inv @ bc.T @ np.linalg.inv(bc @ w_inv @ bc.T)   # N x len(dofs)
        groups = []
        for g in priority:
            g = tuple(d for d in g if d in self.dofs)
            if g:
                groups.append(g)
        missing = set(self.dofs) - {d for g in groups for d in g}
        if missing:
            groups.append(tuple(sorted(missing)))
        self.groups = tuple(groups)

    @classmethod
    def for_vehicle(cls, params, weights=None, priority=DEFAULT_PRIORITY) -> Allocator:
        """From kaiyo_common.vehicles.VehicleParams."""
        return cls(params.allocation_matrix(), [t.min_thrust_n for t in params.thrusters],
                   [t.max_thrust_n for t in params.thrusters], weights, priority)

    def allocate(self, tau) -> AllocationResult:
        tau = np.asarray(tau, dtype=float)
        if tau.shape != (6,) or not np.all(np.isfinite(tau)):
            raise AllocationError(f'wrench must be 6 finite numbers (N, N m), got {tau!r}')
        u = np.zeros(self.b.shape[1])
        scales = []
        idx = {d: i for i, d in enumerate(self.dofs)}
        for g in self.groups:
            tau_c = np.zeros(len(self.dofs))
            for d in g:
                tau_c[idx[d]] = tau[d]
            du = self.pinv @ tau_c
            s = 1.0
            for i in np.flatnonzero(np.abs(du) > 1e-12):
                room = (self.hi[i] - u[i]) if du[i] > 0 else (self.lo[i] - u[i])
                s = min(s, max(0.0, room / du[i]))
            u = u + s * du
            scales.append(s)
        u = np.clip(u, self.lo, self.hi)
        if scales[0] < 1.0 - 1e-9:
            status = AllocationStatus.PRIORITY_SCALED
        elif min(scales) < 1.0 - 1e-9:
            status = AllocationStatus.SCALED
        else:
            status = AllocationStatus.OK
        return AllocationResult(u, self.b @ u, tuple(scales), status)
