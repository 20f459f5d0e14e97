"""Georeferencing camera frames on a flat seabed and aggregating them into a survey grid (pure).

Georeferencing
--------------
A pinhole camera (intrinsics fx, fy, cx, cy from CameraInfo K; lens distortion ignored) is
mounted on the vehicle at `CameraMount` (offset in base_link FLU, rotation base_link <-
camera_optical, where camera_optical is z out of the lens, x right, y down). The vehicle's
base_link pose in `map` (ENU, site datum) comes from odometry; `altitude_m` is the vertical
height of base_link above the seabed (altimeter / DVL), so the seabed is the horizontal plane
z = z_base - altitude. Each pixel's ray is intersected with that plane; the footprint is the
polygon of the image border's rays (rays that miss the plane or hit beyond `max_range_m`,
e.g. above the horizon of a tilted camera, are dropped). Flat seabed is the assumption: on
rough reef the error grows with relief / altitude.

Survey grid
-----------
Cells are `cell_size_m` squares on a lattice anchored at the map origin: cell (row, col) spans
x in [col*s, (col+1)*s) and y in [row*s, (row+1)*s); col grows east, row grows north (as in
kaiyo_interfaces/SurveyMap). Each frame contributes one sample per cell it covers: either its
frame-level values (`add_frame`: cells whose centre lies inside the footprint, or the cell
under the footprint's centroid if it covers no centre) or per-cell values from its projected
class mask (`add_cells` with `project_mask_to_cells`). Per cell and quantity the grid keeps
count, mean and the standard error of the mean over frames (sample std / sqrt(n); NaN with
fewer than 2 samples). Per-cell observations that carry the seabed area the frame saw of the
cell (`CellObservation.seabed_area_m2`, set by `project_mask_to_cells`) are weighted by it:
a frame whose edge clips a sliver of a cell counts for that sliver. Unweighted, a sliver's
urchin density (a count over a few hundredths of a m^2) swamps the cell's mean; weighted,
the cell's urchin density is its urchins over the area seen (the ratio estimator), and the
cover fractions are those of all seabed seen there. Quantities: seaweed / coralline / bare
cover (fractions of seabed pixels), urchin density (1/m^2) and the isoyake index
(kaiyo_seabed.classes).

Exports: `to_arrays()` (the SurveyMap fields), `to_geojson(datum)` (WGS-84 cell polygons via
`Datum.to_geodetic`, properties per cell), `render_png(...)` (north-up colour map, BGRA).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kaiyo_seabed.classes import CLASS_IDS, SEABED_CLASSES, CoverError, cover_class, isoyake_index

QUANTITIES = ('seaweed', 'coralline', 'bare', 'urchin_density_per_m2', 'isoyake_index')


class GeoreferenceError(ValueError):
    """A frame cannot be placed on the seabed (bad intrinsics, altitude, pose or no footprint)."""


class GridError(ValueError):
    """A survey grid argument is invalid (cell size, footprint, quantity)."""


# ---------------------------------------------------------------------------------------------
# Camera model and pose
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics in pixels; width/height of the image in pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        for name in ('fx', 'fy'):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise GeoreferenceError(f'intrinsics {name} = {v!r} px must be > 0')
        for name in ('cx', 'cy'):
            if not math.isfinite(getattr(self, name)):
                raise GeoreferenceError(f'intrinsics {name} must be finite')
        if self.width <= 0 or self.height <= 0:
            raise GeoreferenceError(f'image size {self.width}x{self.height} px must be positive')

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int) -> CameraIntrinsics:
        """From a row-major 3x3 K (sensor_msgs/CameraInfo.k)."""
        k = [float(v) for v in k]
        if len(k) != 9:
            raise GeoreferenceError(f'K must have 9 elements, got {len(k)}')
        return cls(k[0], k[4], k[2], k[5], int(width), int(height))

    @classmethod
    def from_hfov(cls, width: int, height: int, hfov_deg: float) -> CameraIntrinsics:
        """Square pixels, principal point at the centre, horizontal field of view in degrees."""
        if not 1.0 <= hfov_deg < 179.0:
            raise GeoreferenceError(f'horizontal field of view {hfov_deg!r} deg must be 1..179')
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(f, f, width / 2.0, height / 2.0, int(width), int(height))

    def scaled(self, width: int, height: int) -> CameraIntrinsics:
        """The same camera at another resolution."""
        sx, sy = width / self.width, height / self.height
        return CameraIntrinsics(self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy,
                                int(width), int(height))


def _rot_y(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


# camera_optical axes (x right, y down, z forward) of a camera looking along base_link +x.
_R_BASE_FORWARD_CAM = np.array([[0.0, 0.0, 1.0],
                                [-1.0, 0.0, 0.0],
                                [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class CameraMount:
    """Camera on the vehicle: offset in base_link (m, FLU), rotation base_link <- optical."""

    offset: tuple = (0.0, 0.0, 0.0)
    rotation: np.ndarray = field(default_factory=lambda: _R_BASE_FORWARD_CAM @ np.eye(3))

    @classmethod
    def tilted(cls, pitch_down_deg: float = 90.0, offset=(0.0, 0.0, 0.0)) -> CameraMount:
        """Camera looking forward and pitched down by `pitch_down_deg` (90 = straight down,
        image top towards the bow)."""
        if not -90.0 <= pitch_down_deg <= 90.0:
            raise GeoreferenceError(f'camera pitch {pitch_down_deg!r} deg must be in [-90, 90]')
        r = _rot_y(math.radians(pitch_down_deg)) @ _R_BASE_FORWARD_CAM
        return cls(tuple(float(v) for v in offset), r)


def quat_from_yaw(yaw: float) -> tuple:
    """ENU yaw (rad, counter-clockwise from east) -> quaternion (w, x, y, z)."""
    return (math.cos(yaw / 2.0), 0.0, 0.0, math.sin(yaw / 2.0))


def _quat_to_matrix(q) -> np.ndarray:
    w, x, y, z = (float(v) for v in q)
    n = math.sqrt(w * w + x * x + y * y + z * z)
    if not (math.isfinite(n) and n > 1e-9):
        raise GeoreferenceError(f'orientation quaternion {q!r} is not a rotation')
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


@dataclass(frozen=True)
class VehiclePose:
    """base_link pose in map (ENU): position m, orientation quaternion (w, x, y, z)."""

    x: float
    y: float
    z: float
    q_wxyz: tuple = (1.0, 0.0, 0.0, 0.0)

    @classmethod
    def from_yaw(cls, x: float, y: float, z: float, yaw: float) -> VehiclePose:
        return cls(x, y, z, quat_from_yaw(yaw))


@dataclass
class FrameGeoref:
    """A frame placed on the flat seabed: `project` maps pixels to map (x, y)."""

    intrinsics: CameraIntrinsics
    camera_position: np.ndarray     # camera centre in map, m
    camera_rotation: np.ndarray     # map <- camera_optical
    seabed_z: float                 # seabed plane height in map, m
    footprint: np.ndarray           # (N, 2) polygon in map, m (counter-clockwise)
    max_range_m: float

    @property
    def area_m2(self) -> float:
        return polygon_area(self.footprint)

    def project(self, u, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel coordinates (arrays) -> (x, y, valid) on the seabed in map, m."""
        k = self.intrinsics
        u = np.asarray(u, dtype=float)
        v = np.asarray(v, dtype=float)
        rays = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)], axis=-1)
        d = rays @ self.camera_rotation.T
        dz = d[..., 2]
        with np.errstate(divide='ignore', invalid='ignore'):
            t = (self.seabed_z - self.camera_position[2]) / dz
        x = self.camera_position[0] + t * d[..., 0]
        y = self.camera_position[1] + t * d[..., 1]
        dist = t * np.linalg.norm(d, axis=-1)
        valid = (dz < 0) & np.isfinite(t) & (t > 0) & (dist <= self.max_range_m)
        return x, y, valid

    def metres_per_pixel(self) -> float:
        """Ground sample distance at the image centre, m/px (NaN if the centre misses)."""
        k = self.intrinsics
        x, y, ok = self.project(np.array([k.cx, k.cx + 1.0]), np.array([k.cy, k.cy]))
        if not ok.all():
            return float('nan')
        return float(math.hypot(x[1] - x[0], y[1] - y[0]))


def polygon_area(poly) -> float:
    """Area of a simple polygon (N, 2), m^2 (shoelace; absolute value)."""
    p = np.asarray(poly, dtype=float)
    if p.ndim != 2 or p.shape[0] < 3 or p.shape[1] != 2:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def georeference_frame(pose: VehiclePose, altitude_m: float, intrinsics: CameraIntrinsics,
                       mount: CameraMount | None = None, border_samples: int = 8,
                       max_range_m: float = 30.0) -> FrameGeoref:
    """Place a frame on the flat seabed from pose, altitude and intrinsics (module doc).

    Raises GeoreferenceError when the altitude is not a positive finite number, the pose is
    not finite, or fewer than three border rays reach the seabed within `max_range_m`.
    """
    if altitude_m is None or not (math.isfinite(altitude_m) and altitude_m > 0.0):
        raise GeoreferenceError(f'altitude {altitude_m!r} m must be a positive number')
    if not all(math.isfinite(v) for v in (pose.x, pose.y, pose.z)):
        raise GeoreferenceError(f'pose position ({pose.x}, {pose.y}, {pose.z}) m is not finite')
    if border_samples < 1:
        raise GeoreferenceError('border_samples must be >= 1')
    mount = mount or CameraMount.tilted(90.0)
    r_map_base = _quat_to_matrix(pose.q_wxyz)
    cam_pos = np.array([pose.x, pose.y, pose.z]) + r_map_base @ np.asarray(mount.offset, float)
    r_map_cam = r_map_base @ mount.rotation
    seabed_z = pose.z - altitude_m
    if cam_pos[2] <= seabed_z:
        raise GeoreferenceError('camera is at or below the seabed plane (offset > altitude)')
    w, h = intrinsics.width, intrinsics.height
    n = border_samples
    s = np.linspace(0.0, 1.0, n, endpoint=False)
    # border walked clockwise in the image (top, right, bottom, left) = counter-clockwise on
    # the ground seen from above for a downward camera (image y flips).
    u = np.concatenate([s * w, np.full(n, w), (1 - s) * w, np.zeros(n)])
    v = np.concatenate([np.zeros(n), s * h, np.full(n, h), (1 - s) * h])
    geo = FrameGeoref(intrinsics, cam_pos, r_map_cam, seabed_z, np.zeros((0, 2)), max_range_m)
    x, y, ok = geo.project(u, v)
    if ok.sum() < 3:
        raise GeoreferenceError('fewer than 3 image border rays reach the seabed within '
                                f'{max_range_m} m (camera looking at the horizon?)')
    poly = np.stack([x[ok], y[ok]], axis=1)
    # keep counter-clockwise orientation for GeoJSON (right-hand rule)
    x, y = poly[:, 0], poly[:, 1]
    signed = np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))
    if signed < 0:
        poly = poly[::-1]
    geo.footprint = poly
    return geo


# ---------------------------------------------------------------------------------------------
# Survey grid
# ---------------------------------------------------------------------------------------------
def points_in_polygon(px, py, poly) -> np.ndarray:
    """Boolean array: which points (px, py) lie inside polygon (N, 2) (even-odd rule)."""
    px = np.asarray(px, dtype=float)
    py = np.asarray(py, dtype=float)
    poly = np.asarray(poly, dtype=float)
    inside = np.zeros(px.shape, dtype=bool)
    xj, yj = poly[-1]
    for xi, yi in poly:
        crosses = (yi > py) != (yj > py)
        with np.errstate(divide='ignore', invalid='ignore'):
            x_at = (xj - xi) * (py - yi) / (yj - yi) + xi
        inside ^= crosses & (px < x_at)
        xj, yj = xi, yi
    return inside


class _Stat:
    """Running count, weighted mean and weighted sum of squared deviations (West's weighted
    Welford; weight 1 gives the plain mean and sample variance)."""

    __slots__ = ('n', 'w', 'mean', 'm2')

    def __init__(self) -> None:
        self.n, self.w, self.mean, self.m2 = 0, 0.0, 0.0, 0.0

    def add(self, value: float, weight: float = 1.0) -> None:
        if value is None or not math.isfinite(value) or not weight > 0:
            return
        self.n += 1
        self.w += weight
        delta = value - self.mean
        self.mean += delta * weight / self.w
        self.m2 += weight * delta * (value - self.mean)

    @property
    def value(self) -> float:
        return self.mean if self.n else float('nan')

    @property
    def se(self) -> float:
        if self.n < 2:
            return float('nan')
        # weighted variance scaled to the sample variance (n / (n - 1)), over n samples
        return math.sqrt(max(0.0, self.m2) / self.w / (self.n - 1))   # m2 may round below 0


@dataclass
class CellObservation:
    """One frame's values for one cell: seabed cover fractions, urchin density, isoyake index."""

    seaweed: float
    coralline: float
    bare: float
    urchin_density_per_m2: float = float('nan')
    isoyake_index: float = float('nan')
    seabed_area_m2: float = float('nan')     # seabed of the cell this frame saw (the weight)


@dataclass
class CellStats:
    row: int
    col: int
    frame_count: int
    mean: dict          # quantity -> mean (NaN: no sample)
    se: dict            # quantity -> standard error (NaN: < 2 samples)
    count: dict         # quantity -> number of samples


@dataclass
class GridArrays:
    """The SurveyMap fields: row-major arrays of height x width cells."""

    origin_x: float
    origin_y: float
    cell_size_m: float
    width: int
    height: int
    frame_count: np.ndarray
    mean: dict          # quantity -> float array (height*width)
    se: dict


class SurveyGrid:
    """Aggregates per-frame seabed observations into square cells (module doc)."""

    def __init__(self, cell_size_m: float = 1.0):
        if not (isinstance(cell_size_m, (int, float)) and math.isfinite(cell_size_m)
                and 0.01 <= cell_size_m <= 1000.0):
            raise GridError(f'cell size {cell_size_m!r} m must be in [0.01, 1000]')
        self.cell_size_m = float(cell_size_m)
        self._cells: dict[tuple[int, int], dict] = {}
        self.frames_added = 0

    def __len__(self) -> int:
        return len(self._cells)

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """(row, col) of the cell holding map point (x, y)."""
        return int(math.floor(y / self.cell_size_m)), int(math.floor(x / self.cell_size_m))

    def cell_bounds(self, row: int, col: int) -> tuple[float, float, float, float]:
        """(x_min, y_min, x_max, y_max) of a cell in map, m."""
        s = self.cell_size_m
        return col * s, row * s, (col + 1) * s, (row + 1) * s

    def cells_in_footprint(self, footprint) -> list[tuple[int, int]]:
        """Cells whose centre lies inside the footprint (or the centroid's cell if none)."""
        poly = np.asarray(footprint, dtype=float)
        if (poly.ndim != 2 or poly.shape[1] != 2 or poly.shape[0] < 3
                or not np.all(np.isfinite(poly))):
            raise GridError(f'footprint must be >= 3 finite (x, y) points, got shape {poly.shape}')
        s = self.cell_size_m
        c0 = int(math.floor(poly[:, 0].min() / s))
        c1 = int(math.floor(poly[:, 0].max() / s))
        r0 = int(math.floor(poly[:, 1].min() / s))
        r1 = int(math.floor(poly[:, 1].max() / s))
        if (c1 - c0 + 1) * (r1 - r0 + 1) > 1_000_000:
            raise GridError('footprint spans more than a million cells; check altitude/cell size')
        rows, cols = np.mgrid[r0:r1 + 1, c0:c1 + 1]
        inside = points_in_polygon((cols + 0.5) * s, (rows + 0.5) * s, poly)
        cells = [(int(r), int(c)) for r, c in zip(rows[inside], cols[inside], strict=True)]
        if not cells:
            cx, cy = poly.mean(axis=0)
            cells = [self.cell_of(cx, cy)]
        return cells

    def _cell(self, key) -> dict:
        cell = self._cells.get(key)
        if cell is None:
            cell = {'frames': 0, **{q: _Stat() for q in QUANTITIES}}
            self._cells[key] = cell
        return cell

    @staticmethod
    def _check_obs(obs: CellObservation) -> None:
        for name in ('seaweed', 'coralline', 'bare'):
            v = getattr(obs, name)
            if not (math.isfinite(v) and -1e-9 <= v <= 1.0 + 1e-9):
                raise GridError(f'{name} cover {v!r} must be a fraction in [0, 1]')
        d = obs.urchin_density_per_m2
        if math.isfinite(d) and d < 0:
            raise GridError(f'urchin density {d!r} per m^2 must be >= 0')

    def add_cells(self, observations: dict) -> list[tuple[int, int]]:
        """Add one frame's per-cell observations {(row, col): CellObservation}."""
        for obs in observations.values():
            self._check_obs(obs)
        for key, obs in observations.items():
            cell = self._cell((int(key[0]), int(key[1])))
            cell['frames'] += 1
            a = obs.seabed_area_m2
            weight = a if math.isfinite(a) and a > 0 else 1.0
            for q in QUANTITIES:
                cell[q].add(float(getattr(obs, q)), weight)
        if observations:
            self.frames_added += 1
        return list(observations)

    def add_frame(self, footprint, seabed_cover, urchin_density_per_m2: float = float('nan'),
                  isoyake_index: float = float('nan')) -> list[tuple[int, int]]:
        """Add one frame's frame-level values to every cell its footprint covers.

        seabed_cover: {'seaweed': f, 'coralline': f, 'bare': f, ...} or an array indexed by
        class id (SeabedObservation.seabed_cover). Returns the cells updated.
        """
        if isinstance(seabed_cover, dict):
            try:
                s, c, b = (float(seabed_cover[k]) for k in ('seaweed', 'coralline', 'bare'))
            except KeyError as err:
                raise GridError(f'seabed_cover lacks key {err}') from None
        else:
            arr = np.asarray(seabed_cover, dtype=float)
            if arr.shape != (7,):
                raise GridError(f'seabed_cover array must have 7 entries, got {arr.shape}')
            s, c, b = (float(arr[CLASS_IDS[k]]) for k in ('seaweed', 'coralline', 'bare'))
        obs = CellObservation(s, c, b, float(urchin_density_per_m2), float(isoyake_index))
        self._check_obs(obs)
        return self.add_cells({key: obs for key in self.cells_in_footprint(footprint)})

    def cells(self) -> Iterable[CellStats]:
        """Observed cells, sorted by (row, col)."""
        for (row, col) in sorted(self._cells):
            cell = self._cells[(row, col)]
            yield CellStats(row, col, cell['frames'],
                            {q: cell[q].value for q in QUANTITIES},
                            {q: cell[q].se for q in QUANTITIES},
                            {q: cell[q].n for q in QUANTITIES})

    def stats(self, row: int, col: int) -> CellStats | None:
        if (row, col) not in self._cells:
            return None
        return next(c for c in self.cells() if (c.row, c.col) == (row, col))

    def to_arrays(self) -> GridArrays:
        """Dense row-major arrays over the bounding box of observed cells (SurveyMap layout)."""
        s = self.cell_size_m
        if not self._cells:
            return GridArrays(0.0, 0.0, s, 0, 0, np.zeros(0, np.uint32),
                              {q: np.zeros(0, np.float32) for q in QUANTITIES},
                              {q: np.zeros(0, np.float32) for q in QUANTITIES})
        rows = [k[0] for k in self._cells]
        cols = [k[1] for k in self._cells]
        r0, c0 = min(rows), min(cols)
        height, width = max(rows) - r0 + 1, max(cols) - c0 + 1
        count = np.zeros(height * width, np.uint32)
        mean = {q: np.full(height * width, np.nan, np.float32) for q in QUANTITIES}
        se = {q: np.full(height * width, np.nan, np.float32) for q in QUANTITIES}
        for c in self.cells():
            i = (c.row - r0) * width + (c.col - c0)
            count[i] = c.frame_count
            for q in QUANTITIES:
                mean[q][i] = c.mean[q]
                se[q][i] = c.se[q]
        return GridArrays(c0 * s, r0 * s, s, width, height, count, mean, se)

    # -- exports ---------------------------------------------------------------------------
    def to_geojson(self, datum, properties: dict | None = None) -> dict:
        """A GeoJSON FeatureCollection (WGS-84 lon/lat) of observed cells.

        datum: kaiyo_common.geodesy.Datum of the map frame. Each feature: the cell square,
        properties row, col, x_m, y_m (cell centre in map), frame_count, <q>_mean, <q>_se,
        and cover_class of the mean seaweed cover. NaN is written as null.
        """
        feats = []
        for c in self.cells():
            x0, y0, x1, y1 = self.cell_bounds(c.row, c.col)
            ring = []
            for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)):
                lat, lon, _ = datum.to_geodetic(x, y, 0.0)
                ring.append([round(lon, 8), round(lat, 8)])
            props = {'row': c.row, 'col': c.col, 'x_m': (x0 + x1) / 2, 'y_m': (y0 + y1) / 2,
                     'frame_count': c.frame_count}
            for q in QUANTITIES:
                props[f'{q}_mean'] = _json_num(c.mean[q])
                props[f'{q}_se'] = _json_num(c.se[q])
            sw = c.mean['seaweed']
            props['cover_class'] = (cover_class(min(max(sw, 0.0), 1.0)) if math.isfinite(sw)
                                    else None)
            feats.append({'type': 'Feature', 'properties': props,
                          'geometry': {'type': 'Polygon', 'coordinates': [ring]}})
        meta = {'cell_size_m': self.cell_size_m, 'frames': self.frames_added,
                'datum': {'lat': datum.lat_deg, 'lon': datum.lon_deg}}
        meta.update(properties or {})
        return {'type': 'FeatureCollection', 'properties': meta, 'features': feats}

    def write_geojson(self, path, datum, properties: dict | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + '.tmp')
        tmp.write_text(json.dumps(self.to_geojson(datum, properties), indent=1))
        tmp.replace(path)   # atomic: a reader never sees half a file
        return path

    def render_png(self, quantity: str = 'isoyake_index', px_per_cell: int = 16) -> np.ndarray:
        """North-up BGRA image of one quantity's cell means (unobserved cells transparent).

        Cover fractions and the isoyake index map 0..1 to the colour scale; urchin density
        maps 0..(max observed, at least 1/m^2). Colour scale: OpenCV VIRIDIS, low = dark
        purple, high = yellow (so for the isoyake index, yellow = barren)."""
        import cv2  # local: keeps `import kaiyo_seabed.mapping` light for pure users
        if quantity not in QUANTITIES:
            raise GridError(f'unknown quantity {quantity!r}; use one of {", ".join(QUANTITIES)}')
        if not 1 <= px_per_cell <= 256:
            raise GridError(f'px_per_cell {px_per_cell!r} must be 1..256')
        arr = self.to_arrays()
        if arr.width == 0:
            return np.zeros((px_per_cell, px_per_cell, 4), np.uint8)
        vals = arr.mean[quantity].reshape(arr.height, arr.width)[::-1]   # row 0 = north
        top = 1.0
        if quantity == 'urchin_density_per_m2':
            finite = vals[np.isfinite(vals)]
            top = max(1.0, float(finite.max())) if finite.size else 1.0
        scaled = np.clip(np.nan_to_num(vals / top, nan=0.0), 0.0, 1.0)
        rgb = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_VIRIDIS)
        alpha = np.where(np.isfinite(vals), 255, 0).astype(np.uint8)
        img = np.dstack([rgb, alpha])
        return cv2.resize(img, (arr.width * px_per_cell, arr.height * px_per_cell),
                          interpolation=cv2.INTER_NEAREST)

    def write_png(self, path, quantity: str = 'isoyake_index', px_per_cell: int = 16) -> Path:
        import cv2
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, buf = cv2.imencode('.png', self.render_png(quantity, px_per_cell))
        if not ok:
            raise GridError(f'PNG encoding failed for {path}')
        tmp = path.with_suffix(path.suffix + '.tmp')
        tmp.write_bytes(buf.tobytes())
        tmp.replace(path)
        return path


def _json_num(v: float):
    return None if v is None or not math.isfinite(v) else round(float(v), 6)


def project_mask_to_cells(georef: FrameGeoref, mask: np.ndarray, cell_size_m: float,
                          urchin_centres: Sequence[tuple[float, float]] = (),
                          step_px: int = 8) -> dict:
    """Split one frame's class mask into per-cell observations {(row, col): CellObservation}.

    The mask (class ids, any resolution; scaled to the georef's intrinsics) is sampled every
    `step_px` pixels; each sample is projected to the seabed and binned into cells. Per cell:
    seabed cover fractions of the samples, urchin density = urchin centres (pixel coordinates
    at the intrinsics' resolution) landing in the cell / seabed area the samples represent,
    and the isoyake index from those. Cells with no seabed sample are left out.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise CoverError(f'class mask must be 2-D, got shape {mask.shape}')
    k = georef.intrinsics
    sy, sx = mask.shape[0] / k.height, mask.shape[1] / k.width
    us = np.arange(step_px / 2.0, k.width, step_px)
    vs = np.arange(step_px / 2.0, k.height, step_px)
    uu, vv = np.meshgrid(us, vs)
    x, y, ok = georef.project(uu, vv)
    mi = np.clip((vv * sy).astype(int), 0, mask.shape[0] - 1)
    mj = np.clip((uu * sx).astype(int), 0, mask.shape[1] - 1)
    cls = mask[mi, mj]
    seabed = ok & np.isin(cls, SEABED_CLASSES)
    if not ok.any():
        return {}
    cols = np.floor(np.where(ok, x, 0.0) / cell_size_m).astype(np.int64)
    rows = np.floor(np.where(ok, y, 0.0) / cell_size_m).astype(np.int64)
    # ground area per sample: |det| of the local Jacobian of the projection
    x2, y2, ok2 = georef.project(uu + step_px, vv)
    x3, y3, ok3 = georef.project(uu, vv + step_px)
    area = np.abs((x2 - x) * (y3 - y) - (y2 - y) * (x3 - x))
    area = np.where(ok & ok2 & ok3, area, 0.0)
    urchin_cells: dict = {}
    if len(urchin_centres):
        uc = np.asarray(urchin_centres, dtype=float).reshape(-1, 2)
        ux, uy, uok = georef.project(uc[:, 0], uc[:, 1])
        for xx, yy, good in zip(ux, uy, uok, strict=True):
            if good:
                key = (int(math.floor(yy / cell_size_m)), int(math.floor(xx / cell_size_m)))
                urchin_cells[key] = urchin_cells.get(key, 0) + 1
    out = {}
    keys = set(zip(rows[seabed].tolist(), cols[seabed].tolist(), strict=True))
    for key in keys:
        sel = seabed & (rows == key[0]) & (cols == key[1])
        n = int(sel.sum())
        c = cls[sel]
        frac = {name: float(np.count_nonzero(c == CLASS_IDS[name])) / n
                for name in ('seaweed', 'coralline', 'bare')}
        a = float(area[sel].sum())
        dens = urchin_cells.get(key, 0) / a if a > 0 else float('nan')
        idx = isoyake_index(frac['seaweed'], frac['coralline'], frac['bare'], dens)
        out[key] = CellObservation(frac['seaweed'], frac['coralline'], frac['bare'], dens, idx,
                                   a if a > 0 else float('nan'))
    return out
