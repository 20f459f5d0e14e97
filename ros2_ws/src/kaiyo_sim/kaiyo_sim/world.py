"""Simulation world: site datum, bathymetry, tower legs, current, sea state, light, and the
seeded seabed scene with its exportable ground truth (pure: numpy + OpenCV).

Seabed scene. Two smooth random fields (white noise blurred to the patch scale, on a grid of
`field_resolution_m`) are interpolated bilinearly at any point and thresholded at quantiles
chosen so that the requested area fractions hold:

    substrate field  < q_sand              -> sand
    otherwise cover field, low .. high     -> bare rock | coralline barren | seaweed bed

Because thresholds are applied to interpolated values, class edges stay sharp and smooth at
any zoom (a camera 1 m above the seabed sees curved edges, not 25 cm blocks), and the class
of any point is a pure function of (x, y): the camera's ground-truth mask and the exported
class map agree by construction. Sea urchins are a Poisson point process, thinned by the
density of the seabed type under each point; each is a disc of `urchin_radius_m`.

Class ids are kaiyo_interfaces/SeabedObservation's: 0 unknown, 1 water, 2 seaweed,
3 coralline, 4 bare (rock and sand), 5 urchin, 6 other (the tower legs).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from kaiyo_common.geodesy import Datum, GeodesyError, datum_from_spec
from kaiyo_common.paths import data_path
from kaiyo_sim.waves import SeaState, SeaStateError

CLASS_UNKNOWN, CLASS_WATER, CLASS_SEAWEED, CLASS_CORALLINE, CLASS_BARE, CLASS_URCHIN, \
    CLASS_OTHER = range(7)
CLASS_NAMES = ('unknown', 'water', 'seaweed', 'coralline', 'bare', 'urchin', 'other')

MATERIALS = ('sand', 'bare_rock', 'coralline', 'seaweed')
SAND, BARE_ROCK, CORALLINE, SEAWEED = range(4)
URCHIN_MATERIAL, LEG_MATERIAL = 4, 5
MATERIAL_CLASS = np.array([CLASS_BARE, CLASS_BARE, CLASS_CORALLINE, CLASS_SEAWEED,
                           CLASS_URCHIN, CLASS_OTHER], dtype=np.uint8)
# Diffuse reflectance (linear RGB) per material: sand pale beige, rock grey, crustose
# coralline pinkish-lilac, brown kelp (Ecklonia), urchin near black-purple, painted steel.
ALBEDO = np.array([[0.55, 0.50, 0.40], [0.28, 0.27, 0.26], [0.55, 0.35, 0.45],
                   [0.22, 0.18, 0.07], [0.06, 0.03, 0.07], [0.35, 0.33, 0.25]], dtype=np.float32)
# Class colours for previews (RGB).
CLASS_COLOURS = np.array([[0, 0, 0], [30, 60, 120], [40, 140, 40], [230, 140, 190],
                          [170, 170, 150], [120, 0, 160], [250, 200, 0]], dtype=np.uint8)


def bilinear(field: np.ndarray, x0: float, y0: float, res: float, x, y) -> np.ndarray:
    """Bilinear interpolation of a (ny, nx[, c]) grid (cell (0, 0) at map (x0, y0), spacing
    res m) at map points; edges clamp.

    OpenCV's remap does it in C (~20x faster than numpy gathers); it quantises the
    sub-cell position to 1/32 of a cell (8 mm at 0.25 m), deterministic, so a value is
    still one pure function of (x, y) for the camera and the exports alike."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    shape = x.shape
    n = x.size
    cols = 1024
    rows = max(1, -(-n // cols))
    mx = np.empty(rows * cols, np.float32)
    my = np.empty(rows * cols, np.float32)
    mx[n:] = my[n:] = 0.0
    inv = np.float32(1.0 / res)
    np.multiply(np.subtract(x.ravel(), np.float32(x0), out=mx[:n]), inv, out=mx[:n])
    np.multiply(np.subtract(y.ravel(), np.float32(y0), out=my[:n]), inv, out=my[:n])
    out = cv2.remap(field, mx.reshape(rows, cols), my.reshape(rows, cols),
                    cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    extra = field.shape[2:]
    return out.reshape(rows * cols, *extra)[:n].reshape(*shape, *extra)


class BathymetryGrid:
    """The bathymetry sampled on a grid for fast bulk lookups (camera rays): bilinear inside
    the grid (error ~mm for the world's relief wavelengths >= 3 m at 0.25 m spacing), the
    analytic surface outside it."""

    def __init__(self, bathy: Bathymetry, extent_m, resolution_m: float = 0.25):
        w, s, e, n = extent_m
        self.bathy, self.extent = bathy, (w, s, e, n)
        self.x0, self.y0, self.res = w, s, resolution_m
        xs = np.arange(w, e + 0.5 * resolution_m, resolution_m)
        ys = np.arange(s, n + 0.5 * resolution_m, resolution_m)
        gx, gy = np.meshgrid(xs, ys)
        self.z = np.ascontiguousarray(bathy.seabed_z(gx, gy), dtype=np.float32)
        self.e_max, self.n_max = float(xs[-1]), float(ys[-1])

    def seabed_z(self, x, y) -> np.ndarray:
        z = bilinear(self.z, self.x0, self.y0, self.res, x, y)
        w, s = self.extent[0], self.extent[1]
        out = (x < w) | (x > self.e_max) | (y < s) | (y > self.n_max)
        if np.any(out):
            z[out] = self.bathy.seabed_z(np.asarray(x)[out], np.asarray(y)[out])
        return z


class WorldError(ValueError):
    """A world file is missing or has a bad key (names the file and key)."""


def _num(d: dict, key: str, where: str, default: Any = ..., lo: float | None = None) -> float:
    if key not in d:
        if default is ...:
            raise WorldError(f'{where}.{key} is required and missing')
        return float(default)
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise WorldError(f'{where}.{key} = {v!r} is not a finite number')
    if lo is not None and v < lo:
        raise WorldError(f'{where}.{key} = {v!r} must be >= {lo}')
    return float(v)


def _vec(d: dict, key: str, where: str, n: int, default: Any = ...) -> np.ndarray:
    v = d.get(key, default)
    if v is ...:
        raise WorldError(f'{where}.{key} is required and missing')
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise WorldError(f'{where}.{key} = {v!r} is not a list of numbers') from None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise WorldError(f'{where}.{key} must be {n} finite numbers, got {v!r}')
    return arr


@dataclass(frozen=True)
class Bathymetry:
    depth_at_datum_m: float
    slope_north: float
    slope_east: float
    relief_amplitude_m: float
    relief_wavelength_m: tuple
    seed: int

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        n = len(self.relief_wavelength_m)
        k = 2 * math.pi / np.asarray(self.relief_wavelength_m, dtype=float)
        ang = rng.uniform(0, 2 * math.pi, n)
        object.__setattr__(self, '_kx', k * np.cos(ang))
        object.__setattr__(self, '_ky', k * np.sin(ang))
        object.__setattr__(self, '_ph', rng.uniform(0, 2 * math.pi, n))
        # longer wavelengths carry more relief (amplitude ~ wavelength^0.5), total = amplitude
        w = np.sqrt(np.asarray(self.relief_wavelength_m, dtype=float)) if n else np.zeros(0)
        object.__setattr__(self, '_amp', self.relief_amplitude_m * w / w.sum() if n else w)
        terms = zip(self._kx, self._ky, self._ph, self._amp, strict=True)
        object.__setattr__(self, '_terms', [tuple(float(v) for v in t) for t in terms])

    def depth(self, x, y):
        """Water depth (m, positive) at map (x, y); arrays broadcast."""
        if np.ndim(x) == 0 and np.ndim(y) == 0:
            return self._depth_scalar(float(x), float(y))
        x = np.asarray(x)
        y = np.asarray(y)
        if x.dtype != np.float32:     # float32 stays float32 (camera rays: 2x faster)
            x = x.astype(float)
            y = y.astype(float)
        dt = x.dtype.type
        d = dt(self.depth_at_datum_m) + dt(self.slope_north) * y + dt(self.slope_east) * x
        for kx, ky, ph, a in self._terms:
            arg = dt(kx) * x
            arg += dt(ky) * y
            arg += dt(ph)
            np.sin(arg, out=arg)
            arg *= dt(a)
            d -= arg
        return np.maximum(d, dt(0.5))

    def _depth_scalar(self, x: float, y: float) -> float:
        # the simulator asks for single points every step: plain floats are ~10x faster
        d = self.depth_at_datum_m + self.slope_north * y + self.slope_east * x
        for kx, ky, ph, a in self._terms:
            d -= a * math.sin(kx * x + ky * y + ph)
        return max(d, 0.5)

    def seabed_z(self, x, y):
        """Seabed height in map (m, up; negative under water)."""
        return -self.depth(x, y)


@dataclass(frozen=True)
class CurrentProfile:
    surface_speed_mps: float
    direction_deg: float          # toward, compass
    tidal_amplitude_mps: float
    profile_exponent: float

    def at(self, z: float, seabed_depth_m: float, t: float) -> np.ndarray:
        """Current velocity (ENU, m/s) at height z (m, up) over water depth h, time t (s)."""
        h = max(seabed_depth_m, 0.1)
        frac = min(1.0, max(0.0, (h + z) / h))
        speed = (self.surface_speed_mps + self.tidal_amplitude_mps
                 * math.cos(2 * math.pi * t / (12.42 * 3600.0))) * frac ** self.profile_exponent
        th = math.radians(self.direction_deg)
        return np.array([speed * math.sin(th), speed * math.cos(th), 0.0])


@dataclass(frozen=True)
class Light:
    surface_irradiance: np.ndarray
    diffuse_attenuation_per_m: np.ndarray
    beam_attenuation_per_m: np.ndarray
    veiling_light: np.ndarray
    marine_snow_per_m3: float


@dataclass(frozen=True)
class SceneSpec:
    seed: int
    extent_m: tuple               # west, south, east, north
    field_resolution_m: float
    patch_scale_m: float
    fractions: dict               # material -> fraction
    urchin_density_per_m2: dict   # material -> 1/m^2
    urchin_radius_m: float


class SeabedScene:
    """The generated seabed: class/material of any point, urchin positions, export."""

    URCHIN_CELL_M = 0.2          # m, spatial-hash cell for the urchin lookup

    def __init__(self, spec: SceneSpec):
        self.spec = spec
        w, s, e, n = spec.extent_m
        res = spec.field_resolution_m
        self.x0, self.y0, self.res = w, s, res
        self.nx = int(round((e - w) / res)) + 1
        self.ny = int(round((n - s) / res)) + 1
        rng = np.random.default_rng(spec.seed)
        sigma = max(0.5, spec.patch_scale_m / res / 2.0)
        self.f_sub = self._field(rng, sigma * 1.6)   # sand areas are larger than cover patches
        self.f_cov = self._field(rng, sigma)
        self._fields = np.ascontiguousarray(np.stack([self.f_sub, self.f_cov], axis=-1))
        fr = spec.fractions
        self.q_sand = float(np.quantile(self.f_sub, fr['sand'])) if fr['sand'] > 0 else -np.inf
        rock = self.f_cov[self.f_sub >= self.q_sand]
        rock_total = max(1e-9, 1.0 - fr['sand'])
        q1 = fr['bare_rock'] / rock_total
        q2 = (fr['bare_rock'] + fr['coralline']) / rock_total
        self.q_bare = float(np.quantile(rock, min(q1, 1.0))) if rock.size else 0.0
        self.q_coral = float(np.quantile(rock, min(q2, 1.0))) if rock.size else 0.0
        if q1 <= 0:
            self.q_bare = -np.inf
        if q2 >= 1.0:
            self.q_coral = np.inf
        self._make_urchins(rng)

    def _field(self, rng, sigma_px: float) -> np.ndarray:
        noise = rng.standard_normal((self.ny, self.nx)).astype(np.float32)
        k = int(2 * round(3 * sigma_px) + 1)
        f = cv2.GaussianBlur(noise, (k, k), sigma_px, borderType=cv2.BORDER_REFLECT)
        return (f - f.mean()) / (f.std() + 1e-12)

    def _sample(self, field: np.ndarray, x, y) -> np.ndarray:
        return bilinear(field, self.x0, self.y0, self.res, x, y)

    def base_material(self, x, y) -> np.ndarray:
        """Material id (sand, bare_rock, coralline, seaweed) ignoring urchins."""
        both = self._sample(self._fields, x, y)         # both fields in one gather
        sub, cov = both[..., 0], both[..., 1]
        # uint8 throughout, later classes overwriting (np.where on Python ints builds int64)
        m = np.full(cov.shape, SEAWEED, np.uint8)
        np.copyto(m, CORALLINE, where=cov < self.q_coral)
        np.copyto(m, BARE_ROCK, where=cov < self.q_bare)
        np.copyto(m, SAND, where=sub < self.q_sand)
        return m

    def _make_urchins(self, rng) -> None:
        sp = self.spec
        dens = np.array([sp.urchin_density_per_m2.get(m, 0.0) for m in MATERIALS])
        w, s, e, n = sp.extent_m
        dmax = float(dens.max())
        count = rng.poisson(dmax * (e - w) * (n - s)) if dmax > 0 else 0
        pts = np.column_stack([rng.uniform(w, e, count), rng.uniform(s, n, count)])
        keep = rng.uniform(0, 1, count) * dmax < dens[self.base_material(pts[:, 0], pts[:, 1])] \
            if count else np.zeros(0, bool)
        self.urchins = pts[keep]
        # spatial hash (CSR): each urchin listed in every cell its disc touches
        c = self.URCHIN_CELL_M
        self._ucx = int(math.ceil((e - w) / c)) + 1
        self._ucy = int(math.ceil((n - s) / c)) + 1
        r = sp.urchin_radius_m
        entries = []
        for dx in (-r, r):
            for dy in (-r, r):
                ci = np.floor((self.urchins[:, 0] + dx - w) / c).astype(np.int64)
                cj = np.floor((self.urchins[:, 1] + dy - s) / c).astype(np.int64)
                entries.append(np.column_stack([np.clip(cj, 0, self._ucy - 1) * self._ucx
                                                + np.clip(ci, 0, self._ucx - 1),
                                                np.arange(len(self.urchins))]))
        ent = np.unique(np.concatenate(entries), axis=0) if len(self.urchins) else \
            np.zeros((0, 2), np.int64)          # sorted by cell, then urchin
        counts = np.bincount(ent[:, 0], minlength=self._ucx * self._ucy)
        self._ustart = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        self._uids = ent[:, 1].astype(np.int32)
        self._umax = int(counts.max()) if counts.size else 0
        # per-cell count, small: the lookup's first gather runs over every point
        self._ucount = counts.astype(np.uint8 if self._umax < 256 else np.int32)
        self._upts = self.urchins.astype(np.float32)

    def urchin_mask(self, x, y) -> np.ndarray:
        """True where (x, y) lies on an urchin."""
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(y, dtype=np.float32)
        shape = x.shape
        x, y = x.ravel(), y.ravel()
        inside = np.zeros(x.shape, bool)
        if len(self.urchins) == 0:
            return inside.reshape(shape)
        c = np.float32(1.0 / self.URCHIN_CELL_M)
        w, s, e, n = self.spec.extent_m
        ci = np.clip(((x - np.float32(w)) * c).astype(np.int32), 0, self._ucx - 1)
        cj = np.clip(((y - np.float32(s)) * c).astype(np.int32), 0, self._ucy - 1)
        cells = cj * np.int32(self._ucx) + ci
        count = self._ucount[cells]
        r2 = np.float32(self.spec.urchin_radius_m ** 2)
        # only the points whose cell lists an urchin (most cells list none); pass k tests the
        # k-th urchin of each such point's cell
        occ = np.flatnonzero(count != 0)     # (a bool mask: ~5x faster than on the counts)
        px, py, count = x[occ], y[occ], count[occ]
        start = self._ustart[cells[occ]]
        ux, uy = self._upts[:, 0], self._upts[:, 1]
        for k in range(self._umax):
            idx = np.flatnonzero(count > k)
            if idx.size == 0:
                break
            u = self._uids[start[idx] + k]
            hit = (ux[u] - px[idx]) ** 2 + (uy[u] - py[idx]) ** 2 <= r2
            inside[occ[idx[hit]]] = True
        on = np.flatnonzero(inside)           # the cells clamp at the edges: drop points outside
        xo, yo = x[on], y[on]
        inside[on] = (xo >= w) & (xo <= e) & (yo >= s) & (yo <= n)
        return inside.reshape(shape)

    def material(self, x, y) -> np.ndarray:
        m = self.base_material(x, y)
        return np.where(self.urchin_mask(x, y), np.uint8(URCHIN_MATERIAL), m)

    def classify(self, x, y) -> np.ndarray:
        """SeabedObservation class id of seabed points (x, y) in map metres."""
        return MATERIAL_CLASS[self.material(x, y)]

    # -- ground truth export ---------------------------------------------------------------
    def class_grid(self, resolution_m: float, extent_m=None) -> tuple[np.ndarray, tuple]:
        """Class ids on a north-up grid (row 0 = north edge), sampled at cell centres.
        Returns (grid uint8, (west, south, east, north))."""
        if not resolution_m > 0:
            raise WorldError(f'export resolution {resolution_m!r} m must be > 0')
        w, s, e, n = extent_m if extent_m is not None else self.spec.extent_m
        nx, ny = int(round((e - w) / resolution_m)), int(round((n - s) / resolution_m))
        if nx * ny > 64_000_000:
            raise WorldError(f'export grid {nx} x {ny} is too large; use a coarser resolution')
        xs = w + (np.arange(nx) + 0.5) * resolution_m
        out = np.empty((ny, nx), np.uint8)
        for r in range(ny):
            y = n - (r + 0.5) * resolution_m
            out[r] = self.classify(xs, np.full(nx, y))
        return out, (w, s, e, n)

    def export_ground_truth(self, out_dir: str | Path, datum: Datum,
                            resolution_m: float = 0.1, extent_m=None) -> dict:
        """Write class_map.png (mono8 class ids), class_map_preview.png (colours),
        class_map.yaml (georeference), urchins.csv; return the paths."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        grid, (w, s, e, n) = self.class_grid(resolution_m, extent_m)
        paths = {'class_map': out / 'class_map.png', 'preview': out / 'class_map_preview.png',
                 'georeference': out / 'class_map.yaml', 'urchins': out / 'urchins.csv'}
        cv2.imwrite(str(paths['class_map']), grid)
        cv2.imwrite(str(paths['preview']), CLASS_COLOURS[grid][:, :, ::-1])
        counts = np.bincount(grid.ravel(), minlength=7) / grid.size
        lat_nw, lon_nw, _ = datum.to_geodetic(w, n, 0.0)
        meta = {
            'description': 'kaiyo_sim seabed ground truth: pixel value = SeabedObservation class '
                           'id; row 0 is the north edge, column 0 the west edge; each pixel is '
                           'a square cell sampled at its centre. Synthetic data generated by '
                           'kaiyo_sim (Apache-2.0), no third-party licence applies.',
            'classes': {i: name for i, name in enumerate(CLASS_NAMES)},
            'frame': 'map (ENU metres from the datum)',
            'datum': {'name': datum.name, 'lat_deg': datum.lat_deg, 'lon_deg': datum.lon_deg},
            'resolution_m': float(resolution_m),
            'extent_m': {'west': float(w), 'south': float(s), 'east': float(e), 'north': float(n)},
            'north_west_corner': {'lat_deg': lat_nw, 'lon_deg': lon_nw},
            'size_px': {'width': int(grid.shape[1]), 'height': int(grid.shape[0])},
            'cover_fraction': {CLASS_NAMES[i]: float(counts[i]) for i in range(7)},
            'scene_seed': int(self.spec.seed),
            'urchin_count': int(len(self.urchins)),
            'urchin_radius_m': float(self.spec.urchin_radius_m),
        }
        paths['georeference'].write_text(yaml.safe_dump(meta, sort_keys=False))
        with open(paths['urchins'], 'w', newline='') as f:
            wr = csv.writer(f)
            wr.writerow(['east_m', 'north_m', 'lat_deg', 'lon_deg', 'radius_m'])
            for x, y in self.urchins:
                if w <= x <= e and s <= y <= n:
                    lat, lon, _ = datum.to_geodetic(float(x), float(y), 0.0)
                    wr.writerow([f'{x:.3f}', f'{y:.3f}', f'{lat:.8f}', f'{lon:.8f}',
                                 self.spec.urchin_radius_m])
        return {k: str(v) for k, v in paths.items()}


@dataclass(frozen=True)
class World:
    name: str
    source: str
    datum: Datum
    density_kg_m3: float
    atmospheric_pressure_pa: float
    temperature_c: float
    bathymetry: Bathymetry
    legs_enu_m: np.ndarray        # (L, 2)
    leg_diameter_m: float
    deck_height_m: float
    current: CurrentProfile
    sea_state: SeaState
    light: Light
    scene_spec: SceneSpec
    start: dict                   # vehicle -> (east, north, depth, heading_deg)

    def current_at(self, position, t: float) -> np.ndarray:
        return self.current.at(float(position[2]),
                               self.bathymetry.depth(float(position[0]), float(position[1])), t)

    def build_scene(self) -> SeabedScene:
        return SeabedScene(self.scene_spec)


def world_path(name_or_path: str | Path) -> Path:
    s = str(name_or_path)
    if '/' in s or s.endswith(('.yaml', '.yml')):
        return Path(s)
    return data_path('sim', 'worlds', f'{s}.yaml')


def load_world(name_or_path: str | Path) -> World:
    """Read and check a world YAML (sim/worlds/<name>.yaml). Raises WorldError naming the
    file and key."""
    path = world_path(name_or_path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise WorldError(f'{path}: cannot read ({err.strerror})') from None
    except yaml.YAMLError as err:
        raise WorldError(f'{path}: not valid YAML: {err}') from None
    try:
        return world_from_dict(data, str(path))
    except WorldError as err:
        raise WorldError(f'{path}: {err}') from None


def _section(d: dict, key: str) -> dict:
    v = d.get(key)
    if not isinstance(v, dict):
        raise WorldError(f'{key} must be a mapping')
    return v


def world_from_dict(d: Any, source: str = '<dict>') -> World:
    if not isinstance(d, dict):
        raise WorldError('top level must be a mapping')
    try:
        datum = datum_from_spec(d.get('datum', 'tower'))
    except GeodesyError as err:
        raise WorldError(f'datum: {err}') from None
    water = _section(d, 'water')
    b = _section(d, 'bathymetry')
    wl = b.get('relief_wavelength_m', [])
    if not isinstance(wl, list) or not all(isinstance(v, (int, float)) and v > 0 for v in wl):
        raise WorldError(f'bathymetry.relief_wavelength_m = {wl!r} must be a list of numbers > 0')
    bathy = Bathymetry(_num(b, 'depth_at_datum_m', 'bathymetry', lo=0.5),
                       _num(b, 'slope_north', 'bathymetry', 0.0),
                       _num(b, 'slope_east', 'bathymetry', 0.0),
                       _num(b, 'relief_amplitude_m', 'bathymetry', 0.0, lo=0.0),
                       tuple(float(v) for v in wl), int(_num(b, 'seed', 'bathymetry', 0)))
    t = _section(d, 'tower')
    legs = np.asarray(t.get('legs_enu_m', []), dtype=float).reshape(-1, 2)
    c = _section(d, 'current')
    current = CurrentProfile(_num(c, 'surface_speed_mps', 'current', lo=0.0),
                             _num(c, 'direction_deg', 'current'),
                             _num(c, 'tidal_amplitude_mps', 'current', 0.0, lo=0.0),
                             _num(c, 'profile_exponent', 'current', 1 / 7, lo=0.0))
    ss = _section(d, 'sea_state')
    try:
        sea = SeaState(_num(ss, 'hs_m', 'sea_state', lo=0.0), _num(ss, 'tp_s', 'sea_state'),
                       _num(ss, 'direction_deg', 'sea_state'), _num(ss, 'gamma', 'sea_state', 3.3),
                       _num(ss, 'spreading_s', 'sea_state', 10.0),
                       int(_num(ss, 'components', 'sea_state', 256)), bathy.depth_at_datum_m,
                       int(_num(ss, 'seed', 'sea_state', 1)))
    except SeaStateError as err:
        raise WorldError(str(err)) from None
    li = _section(d, 'light')
    light = Light(_vec(li, 'surface_irradiance', 'light', 3),
                  _vec(li, 'diffuse_attenuation_per_m', 'light', 3),
                  _vec(li, 'beam_attenuation_per_m', 'light', 3),
                  _vec(li, 'veiling_light', 'light', 3),
                  _num(li, 'marine_snow_per_m3', 'light', 0.0, lo=0.0))
    sc = _section(d, 'scene')
    ext = _vec(sc, 'extent_m', 'scene', 4)
    if not (ext[0] < ext[2] and ext[1] < ext[3]):
        raise WorldError(f'scene.extent_m {ext.tolist()} must be [west, south, east, north] '
                         'with west < east and south < north')
    fr = sc.get('fractions', {})
    if not isinstance(fr, dict) or set(fr) - set(MATERIALS):
        raise WorldError(f'scene.fractions keys must be among {", ".join(MATERIALS)}')
    fractions = {m: _num(fr, m, 'scene.fractions', 0.0, lo=0.0) for m in MATERIALS}
    if abs(sum(fractions.values()) - 1.0) > 1e-6:
        raise WorldError(f'scene.fractions sum to {sum(fractions.values()):.4f}, must be 1')
    ud = sc.get('urchin_density_per_m2', {})
    if not isinstance(ud, dict) or set(ud) - set(MATERIALS):
        raise WorldError(f'scene.urchin_density_per_m2 keys must be among {", ".join(MATERIALS)}')
    scene = SceneSpec(int(_num(sc, 'seed', 'scene')), tuple(float(v) for v in ext),
                      _num(sc, 'field_resolution_m', 'scene', 0.25, lo=0.01),
                      _num(sc, 'patch_scale_m', 'scene', 4.0, lo=0.05), fractions,
                      {m: _num(ud, m, 'scene.urchin_density_per_m2', 0.0, lo=0.0)
                       for m in MATERIALS},
                      _num(sc, 'urchin_radius_m', 'scene', 0.05, lo=0.005))
    start = {}
    for name in (d.get('start') or {}):
        start[name] = tuple(_vec(d['start'], name, 'start', 4))
    return World(str(d.get('name', Path(source).stem)), source, datum,
                 _num(water, 'density_kg_m3', 'water', 1025.0, lo=900.0),
                 _num(water, 'atmospheric_pressure_pa', 'water', 101325.0, lo=0.0),
                 _num(water, 'temperature_c', 'water', 18.0),
                 bathy, legs, _num(t, 'leg_diameter_m', 'tower', 1.0, lo=0.0),
                 _num(t, 'deck_height_m', 'tower', 10.0, lo=0.0), current, sea, light, scene,
                 start)
