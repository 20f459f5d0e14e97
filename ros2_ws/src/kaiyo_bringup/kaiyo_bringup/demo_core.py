"""The pure parts of `kaiyo demo` (no rclpy): stage bookkeeping, survey-map error against the
simulator's ground truth, urchin density error, vehicle outcomes and the run summary.

Definitions (also in docs/demo.md):
- A map cell is compared when its centre lies inside the survey polygon of the mission (the
  area the survey is for; frames of the descent and the transit also land on the map around
  it), the map has >= 1 frame in it and its estimate is finite.
- Truth cover of a cell = fraction of the cell's *seabed* samples (classes seaweed, coralline,
  bare, urchin, other; the truth raster has no water) of each class, from the simulator's
  class raster sampled at `truth_resolution_m` (default 0.1 m: 100 samples per 1 m cell).
- Seaweed error = |map seaweed mean - truth seaweed| per cell, in percentage points; the
  "barren" error is the same for the coralline class (the crustose coralline barren of
  isoyake); bare rock/sand is reported beside it. MAE = mean over compared cells.
- Urchin density: estimate = mean of the per-cell densities over cells with a finite
  estimate; truth = urchins whose centre lies in those same cells / their area. Error =
  (estimate - truth) / truth (signed fraction).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from enum import Enum

import numpy as np

CLASS_SEAWEED, CLASS_CORALLINE, CLASS_BARE = 2, 3, 4
SEABED_CLASSES = (2, 3, 4, 5, 6)       # seaweed, coralline, bare, urchin, other
GOAL_MAE_POINTS = 5.0                  # per-cell MAE goal for seaweed and barren, points
GOAL_URCHIN_ERROR = 0.15               # urchin density goal, fraction of the truth


class DemoError(RuntimeError):
    """A demo stage cannot go on; str() says why in plain words."""


class StageStatus(Enum):
    OK = 'ok'
    FAILED = 'failed'
    SKIPPED = 'skipped'


@dataclass
class StageResult:
    name: str
    status: StageStatus
    detail: str = ''
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        return {'name': self.name, 'status': self.status.value, 'detail': self.detail,
                'wall_s': round(self.wall_s, 2)}


class StageLog:
    """Which stages ran, in order, how they ended and how long they took (wall clock)."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.results: list[StageResult] = []
        self._open: tuple[str, float] | None = None

    def begin(self, name: str) -> None:
        if self._open is not None:
            raise RuntimeError(f"stage '{self._open[0]}' is still open")
        self._open = (name, self.clock())

    def _close(self, name: str, status: StageStatus, detail: str) -> StageResult:
        if self._open is None or self._open[0] != name:
            start = self.clock()
        else:
            start = self._open[1]
            self._open = None
        r = StageResult(name, status, detail, self.clock() - start)
        self.results.append(r)
        return r

    def ok(self, name: str, detail: str = '') -> StageResult:
        return self._close(name, StageStatus.OK, detail)

    def fail(self, name: str, reason: str) -> StageResult:
        return self._close(name, StageStatus.FAILED, reason)

    def skip(self, name: str, reason: str) -> StageResult:
        return self._close(name, StageStatus.SKIPPED, reason)

    @property
    def failed(self) -> list[StageResult]:
        return [r for r in self.results if r.status is StageStatus.FAILED]

    @property
    def succeeded(self) -> bool:
        return not self.failed and bool(self.results)


# -- ground truth per cell ------------------------------------------------------------------

@dataclass(frozen=True)
class Lattice:
    """The survey map's cells: (row, col) spans x in [x0 + col*s, +s), y in [y0 + row*s, +s)."""

    origin_x: float
    origin_y: float
    cell_size_m: float
    width: int
    height: int

    @property
    def extent_m(self) -> tuple[float, float, float, float]:
        """west, south, east, north, m."""
        return (self.origin_x, self.origin_y, self.origin_x + self.width * self.cell_size_m,
                self.origin_y + self.height * self.cell_size_m)


def samples_per_cell(cell_size_m: float, truth_resolution_m: float) -> int:
    k = cell_size_m / truth_resolution_m
    if not (k >= 1 and abs(k - round(k)) < 1e-6):
        raise DemoError(f'truth resolution {truth_resolution_m} m must divide the map cell '
                        f'size {cell_size_m} m')
    return int(round(k))


def truth_cover_per_cell(raster_north_up: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-cell truth from a class raster (row 0 = north edge, as kaiyo_sim.world.class_grid
    returns it) with k x k samples per cell. Returns arrays (height, width), row 0 = south
    (the SurveyMap layout): 'seaweed', 'coralline', 'bare' fractions of seabed samples and
    'seabed' (seabed sample count)."""
    r = np.asarray(raster_north_up)
    if r.ndim != 2 or r.shape[0] % k or r.shape[1] % k:
        raise DemoError(f'truth raster {r.shape} is not a whole number of {k} x {k} cells')
    h, w = r.shape[0] // k, r.shape[1] // k
    south_up = r[::-1]
    blocks = south_up.reshape(h, k, w, k).swapaxes(1, 2).reshape(h, w, k * k)
    counts = {c: (blocks == c).sum(axis=2) for c in range(7)}
    seabed = sum(counts[c] for c in SEABED_CLASSES)
    with np.errstate(invalid='ignore', divide='ignore'):
        out = {name: np.where(seabed > 0, counts[c] / np.maximum(seabed, 1), np.nan)
               for name, c in (('seaweed', CLASS_SEAWEED), ('coralline', CLASS_CORALLINE),
                               ('bare', CLASS_BARE))}
    out['seabed'] = seabed
    return out


def urchins_per_cell(points_xy: np.ndarray, lattice: Lattice) -> np.ndarray:
    """Count of urchin centres in each cell, (height, width), row 0 = south."""
    counts = np.zeros((lattice.height, lattice.width), np.int64)
    pts = np.asarray(points_xy, dtype=float).reshape(-1, 2)
    if len(pts) == 0:
        return counts
    col = np.floor((pts[:, 0] - lattice.origin_x) / lattice.cell_size_m).astype(np.int64)
    row = np.floor((pts[:, 1] - lattice.origin_y) / lattice.cell_size_m).astype(np.int64)
    ok = (col >= 0) & (col < lattice.width) & (row >= 0) & (row < lattice.height)
    np.add.at(counts, (row[ok], col[ok]), 1)
    return counts


# -- map error ------------------------------------------------------------------------------

@dataclass
class MapError:
    cells_observed: int = 0                 # map cells with >= 1 frame, anywhere
    cells_in_area: int = 0                  # cells of the survey polygon
    cells_compared: int = 0                 # polygon cells observed and compared
    seaweed_mae_pts: float = math.nan
    barren_mae_pts: float = math.nan        # coralline barren crust
    bare_mae_pts: float = math.nan
    seaweed_bias_pts: float = math.nan      # mean(map - truth): + = map shows too much
    barren_bias_pts: float = math.nan
    truth_seaweed_pct: float = math.nan     # mean truth cover over compared cells
    truth_barren_pct: float = math.nan
    urchin_estimate_per_m2: float = math.nan
    urchin_truth_per_m2: float = math.nan
    urchin_error_fraction: float = math.nan  # signed: (estimate - truth) / truth
    urchin_cells: int = 0
    area_observed_m2: float = 0.0           # observed part of the survey polygon, m^2

    def to_dict(self) -> dict:
        return {k: _json_number(v) for k, v in asdict(self).items()}


def _grid(values, lattice: Lattice, name: str) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    n = lattice.width * lattice.height
    if a.size != n:
        raise DemoError(f'survey map {name} has {a.size} values, expected {lattice.width} x '
                        f'{lattice.height} = {n}')
    return a.reshape(lattice.height, lattice.width)


def area_mask(lattice: Lattice, polygon_xy) -> np.ndarray:
    """(height, width) bool: cells whose centre is inside the polygon (map ENU, m)."""
    poly = np.asarray(polygon_xy, dtype=float).reshape(-1, 2)
    if len(poly) < 3:
        raise DemoError(f'survey polygon needs at least 3 points, got {len(poly)}')
    s = lattice.cell_size_m
    xs = lattice.origin_x + (np.arange(lattice.width) + 0.5) * s
    ys = lattice.origin_y + (np.arange(lattice.height) + 0.5) * s
    x, y = np.meshgrid(xs, ys)
    inside = np.zeros(x.shape, bool)
    j = len(poly) - 1
    for i in range(len(poly)):       # even-odd rule
        xi, yi = poly[i]
        xj, yj = poly[j]
        crosses = (yi > y) != (yj > y)
        with np.errstate(divide='ignore', invalid='ignore'):
            x_at = (xj - xi) * (y - yi) / (yj - yi) + xi
        inside ^= crosses & (x < x_at)
        j = i
    return inside


def map_error(lattice: Lattice, survey: dict, truth: dict[str, np.ndarray],
              urchin_counts: np.ndarray, area: np.ndarray | None = None) -> MapError:
    """Compare a survey map (SurveyMap fields as lists: frame_count, seaweed_mean,
    coralline_mean, bare_mean, urchin_density_per_m2) with the per-cell truth on the same
    lattice (`truth_cover_per_cell`, `urchins_per_cell`), over the cells in `area` (bool
    (height, width); None: every cell). `cells_observed` counts the whole map."""
    frames = _grid(survey['frame_count'], lattice, 'frame_count')
    sw = _grid(survey['seaweed_mean'], lattice, 'seaweed_mean')
    co = _grid(survey['coralline_mean'], lattice, 'coralline_mean')
    ba = _grid(survey['bare_mean'], lattice, 'bare_mean')
    ur = _grid(survey['urchin_density_per_m2'], lattice, 'urchin_density_per_m2')
    for key in ('seaweed', 'coralline', 'bare'):
        if truth[key].shape != frames.shape:
            raise DemoError(f'truth {key} grid {truth[key].shape} does not match the survey '
                            f'map {frames.shape}')
    observed = frames > 0
    if area is None:
        area = np.ones(frames.shape, bool)
    elif area.shape != frames.shape:
        raise DemoError(f'area mask {area.shape} does not match the survey map {frames.shape}')
    in_area = observed & area
    cmp = in_area & np.isfinite(sw) & np.isfinite(co) & np.isfinite(ba) \
        & np.isfinite(truth['seaweed']) & np.isfinite(truth['coralline'])
    e = MapError(cells_observed=int(observed.sum()), cells_compared=int(cmp.sum()),
                 cells_in_area=int(area.sum()),
                 area_observed_m2=float(in_area.sum() * lattice.cell_size_m ** 2))
    if cmp.any():
        d_sw = (sw - truth['seaweed'])[cmp] * 100.0
        d_co = (co - truth['coralline'])[cmp] * 100.0
        d_ba = (ba - truth['bare'])[cmp] * 100.0
        e.seaweed_mae_pts = float(np.mean(np.abs(d_sw)))
        e.barren_mae_pts = float(np.mean(np.abs(d_co)))
        e.bare_mae_pts = float(np.mean(np.abs(d_ba)))
        e.seaweed_bias_pts = float(np.mean(d_sw))
        e.barren_bias_pts = float(np.mean(d_co))
        e.truth_seaweed_pct = float(np.mean(truth['seaweed'][cmp]) * 100.0)
        e.truth_barren_pct = float(np.mean(truth['coralline'][cmp]) * 100.0)
    ucells = in_area & np.isfinite(ur)
    e.urchin_cells = int(ucells.sum())
    if ucells.any():
        e.urchin_estimate_per_m2 = float(np.mean(ur[ucells]))
        e.urchin_truth_per_m2 = float(urchin_counts[ucells].sum()
                                      / (ucells.sum() * lattice.cell_size_m ** 2))
        if e.urchin_truth_per_m2 > 0:
            e.urchin_error_fraction = (e.urchin_estimate_per_m2 - e.urchin_truth_per_m2) \
                / e.urchin_truth_per_m2
    return e


# -- vehicles -------------------------------------------------------------------------------

@dataclass
class VehicleRun:
    """One vehicle's mission in the demo. `expected` names the outcomes that count as the
    vehicle having done its job (the relay boat's hold is released by the demo: CANCELED)."""

    vehicle: str
    mission_file: str
    expected: tuple[str, ...] = ('SUCCEEDED',)
    outcome: str = 'NOT_RUN'
    reason: str = ''
    steps_completed: int = 0
    duration_s: float = math.nan
    progress: float = 0.0
    step_name: str = ''

    @property
    def ok(self) -> bool:
        return self.outcome in self.expected

    def to_dict(self) -> dict:
        d = asdict(self)
        d['expected'] = list(self.expected)
        d['ok'] = self.ok
        d['duration_s'] = _json_number(self.duration_s)
        return d


def real_time_factor(sim_s: float, wall_s: float) -> float:
    return sim_s / wall_s if wall_s > 0 and math.isfinite(sim_s) else math.nan


def _json_number(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def goals(err: MapError) -> dict:
    """Each goal: the figure, the goal and whether it is met (None: no figure)."""
    def check(value, limit):
        return None if value is None or not math.isfinite(value) else bool(abs(value) <= limit)
    return {
        'seaweed_mae_pts': {'value': _json_number(err.seaweed_mae_pts), 'goal': GOAL_MAE_POINTS,
                            'met': check(err.seaweed_mae_pts, GOAL_MAE_POINTS)},
        'barren_mae_pts': {'value': _json_number(err.barren_mae_pts), 'goal': GOAL_MAE_POINTS,
                           'met': check(err.barren_mae_pts, GOAL_MAE_POINTS)},
        'urchin_error_fraction': {'value': _json_number(err.urchin_error_fraction),
                                  'goal': GOAL_URCHIN_ERROR,
                                  'met': check(err.urchin_error_fraction, GOAL_URCHIN_ERROR)},
    }


@dataclass
class Summary:
    """Everything summary.json holds (see docs/demo.md for each field)."""

    run_dir: str
    seed: int
    world: str
    survey_mission: str
    mode: str
    camera_rate_hz: float
    stages: list = field(default_factory=list)
    vehicles: dict = field(default_factory=dict)
    frames_received: int = 0
    frames_analysed: int = 0
    frames_mapped: int = 0
    map: MapError = field(default_factory=MapError)
    sim_time_s: float = math.nan
    wall_time_s: float = math.nan
    survey_wall_time_s: float = math.nan
    paths: dict = field(default_factory=dict)
    cpu_s: dict = field(default_factory=dict)     # node -> CPU seconds used by the run
    plant: dict = field(default_factory=dict)     # last plant status seen during the run
    seabed_model: dict = field(default_factory=dict)   # the survey classifier (model_path, file)

    def to_dict(self, stage_log: StageLog) -> dict:
        failed = stage_log.failed
        sim_wall = self.survey_wall_time_s
        return {
            'ok': stage_log.succeeded and all(v.ok for v in self.vehicles.values()),
            'failed_stage': failed[0].name if failed else None,
            'failure': failed[0].detail if failed else None,
            'run_dir': self.run_dir,
            'seed': self.seed,
            'world': self.world,
            'survey_mission': self.survey_mission,
            'mode': self.mode,
            'camera_rate_hz': self.camera_rate_hz,
            'vehicles': {k: v.to_dict() for k, v in self.vehicles.items()},
            'frames_received': self.frames_received,
            'frames_analysed': self.frames_analysed,
            'frames_mapped': self.frames_mapped,
            'map': self.map.to_dict(),
            'seabed_model': self.seabed_model,
            'goals': goals(self.map),
            'sim_time_s': _json_number(round(self.sim_time_s, 3)
                                       if math.isfinite(self.sim_time_s) else math.nan),
            'wall_time_s': _json_number(round(self.wall_time_s, 2)
                                        if math.isfinite(self.wall_time_s) else math.nan),
            'simulated_wall_time_s': _json_number(round(sim_wall, 2)
                                                  if math.isfinite(sim_wall) else math.nan),
            'real_time_factor': _json_number(round(real_time_factor(self.sim_time_s, sim_wall), 3)
                                             if math.isfinite(real_time_factor(
                                                 self.sim_time_s, sim_wall)) else math.nan),
            'plant': self.plant,
            'cpu_s': dict(sorted(self.cpu_s.items(), key=lambda kv: -kv[1])),
            'cpu_s_total': round(sum(self.cpu_s.values()), 1),
            'stages': [r.to_dict() for r in stage_log.results],
            'paths': self.paths,
        }


def progress_line(sim_s: float, wall_s: float, vehicles: dict[str, VehicleRun],
                  frames: int) -> str:
    """One terminal line: sim time, real-time factor, each vehicle's step and progress."""
    rtf = real_time_factor(sim_s, wall_s)
    parts = [f'sim {sim_s:7.1f} s', f'x{rtf:4.1f}' if math.isfinite(rtf) else 'x  - ']
    for name, v in vehicles.items():
        state = v.step_name or v.outcome.lower()
        parts.append(f'{name} {state} {v.progress * 100:3.0f}%')
    parts.append(f'frames {frames}')
    return ' | '.join(parts)
