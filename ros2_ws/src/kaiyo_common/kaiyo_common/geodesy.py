"""Site datum and geodesy: WGS-84 latitude/longitude <-> local ENU metres.

kaiyo's `map` frame is ENU (x east, y north, z up) with its origin at a site datum, by
default the offshore experiment tower about 1 km off Hiratsuka in Sagami Bay. Conversions
go through Earth-centred Earth-fixed (ECEF) coordinates on the WGS-84 ellipsoid, so they are
exact at any range (no flat-Earth approximation); over a survey area of a few km the
difference from a tangent-plane approximation is millimetres, but exact costs nothing.

Depth is positive down as a scalar; z in `map` is up, so z = -depth at the sea surface
datum (altitude 0 = mean sea level at the datum).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# WGS-84 ellipsoid
WGS84_A = 6378137.0                      # semi-major axis, m
WGS84_F = 1.0 / 298.257223563            # flattening
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)     # first eccentricity squared


class GeodesyError(ValueError):
    """A coordinate is outside its valid range."""


def _check_lat_lon(lat_deg: float, lon_deg: float) -> None:
    if not (math.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0):
        raise GeodesyError(f'latitude {lat_deg!r} deg is outside [-90, 90]')
    if not (math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0):
        raise GeodesyError(f'longitude {lon_deg!r} deg is outside [-180, 180]')


def geodetic_to_ecef(lat_deg: float, lon_deg: float, alt_m: float = 0.0) -> np.ndarray:
    """WGS-84 geodetic (deg, deg, m above ellipsoid) -> ECEF (m)."""
    _check_lat_lon(lat_deg, lon_deg)
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    sin_lat = math.sin(lat)
    n = WGS84_A / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    return np.array([
        (n + alt_m) * math.cos(lat) * math.cos(lon),
        (n + alt_m) * math.cos(lat) * math.sin(lon),
        (n * (1.0 - WGS84_E2) + alt_m) * sin_lat,
    ])


def ecef_to_geodetic(xyz: np.ndarray) -> tuple[float, float, float]:
    """ECEF (m) -> WGS-84 geodetic (deg, deg, m). Bowring's method, sub-mm near the surface."""
    x, y, z = (float(v) for v in xyz)
    b = WGS84_A * (1.0 - WGS84_F)
    ep2 = (WGS84_A ** 2 - b ** 2) / b ** 2
    p = math.hypot(x, y)
    theta = math.atan2(z * WGS84_A, p * b)
    lat = math.atan2(z + ep2 * b * math.sin(theta) ** 3,
                     p - WGS84_E2 * WGS84_A * math.cos(theta) ** 3)
    lon = math.atan2(y, x)
    sin_lat = math.sin(lat)
    n = WGS84_A / math.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    if abs(math.cos(lat)) > 1e-12:
        alt = p / math.cos(lat) - n
    else:
        alt = abs(z) - b
    return math.degrees(lat), math.degrees(lon), alt


@dataclass(frozen=True)
class Datum:
    """Origin of a site's `map` frame (ENU)."""

    lat_deg: float
    lon_deg: float
    alt_m: float = 0.0
    name: str = ''

    def __post_init__(self) -> None:
        _check_lat_lon(self.lat_deg, self.lon_deg)

    def _rotation(self) -> np.ndarray:
        lat, lon = math.radians(self.lat_deg), math.radians(self.lon_deg)
        sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
        # rows: east, north, up unit vectors in ECEF
        return np.array([[-so, co, 0.0],
                         [-sl * co, -sl * so, cl],
                         [cl * co, cl * so, sl]])

    def to_enu(self, lat_deg: float, lon_deg: float,
               alt_m: float = 0.0) -> tuple[float, float, float]:
        """Geodetic point -> (east, north, up) metres from this datum."""
        d = geodetic_to_ecef(lat_deg, lon_deg, alt_m) - geodetic_to_ecef(
            self.lat_deg, self.lon_deg, self.alt_m)
        e, n, u = self._rotation() @ d
        return float(e), float(n), float(u)

    def to_geodetic(self, east_m: float, north_m: float,
                    up_m: float = 0.0) -> tuple[float, float, float]:
        """(east, north, up) metres from this datum -> (lat deg, lon deg, alt m)."""
        ecef = geodetic_to_ecef(self.lat_deg, self.lon_deg, self.alt_m) + \
            self._rotation().T @ np.array([east_m, north_m, up_m], dtype=float)
        return ecef_to_geodetic(ecef)


#: The offshore experiment tower ~1 km off Hiratsuka, Sagami Bay (water depth ~20 m).
#: Position to ~10 m; use a surveyed value from the site for real georeferencing.
TOWER = Datum(35.3050, 139.3450, 0.0, 'tower')

#: Named datums usable in mission files (`datum: tower`) and world files.
SITE_DATUMS = {'tower': TOWER}


def datum_from_spec(spec) -> Datum:
    """A datum from a name ('tower') or a mapping {lat: deg, lon: deg[, alt: m]}."""
    if isinstance(spec, str):
        try:
            return SITE_DATUMS[spec]
        except KeyError:
            raise GeodesyError(
                f'unknown datum {spec!r}; known: {", ".join(sorted(SITE_DATUMS))}, '
                'or give {lat: <deg>, lon: <deg>}') from None
    if isinstance(spec, dict) and 'lat' in spec and 'lon' in spec:
        try:
            return Datum(float(spec['lat']), float(spec['lon']), float(spec.get('alt', 0.0)))
        except (TypeError, ValueError) as err:
            raise GeodesyError(f'datum {spec!r}: lat/lon/alt must be numbers ({err})') from None
    raise GeodesyError(f'datum {spec!r} must be a name or {{lat: <deg>, lon: <deg>}}')
