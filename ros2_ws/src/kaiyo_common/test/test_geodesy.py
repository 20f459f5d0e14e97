import math

import pytest

from kaiyo_common.geodesy import (
    TOWER,
    Datum,
    GeodesyError,
    datum_from_spec,
    ecef_to_geodetic,
    geodetic_to_ecef,
)


def test_datum_origin_is_zero():
    assert TOWER.to_enu(TOWER.lat_deg, TOWER.lon_deg) == pytest.approx((0, 0, 0), abs=1e-6)


def test_known_offsets_near_the_tower():
    # 1 arc-minute of latitude is 1852 m by definition of the nautical mile (to ~0.5% on WGS-84)
    e, n, _ = TOWER.to_enu(TOWER.lat_deg + 1 / 60, TOWER.lon_deg)
    assert abs(e) < 1e-3 and n == pytest.approx(1849.5, abs=2.0)
    # one degree of longitude at 35.305 N is ~90.9 km
    e, n, _ = TOWER.to_enu(TOWER.lat_deg, TOWER.lon_deg + 0.01)
    assert e == pytest.approx(909.4, abs=1.0) and abs(n) < 0.1


@pytest.mark.parametrize('e, n, u', [(0, 0, 0), (120.5, -40.25, -18.0), (-2500, 3000, 5)])
def test_round_trip_is_millimetre_exact(e, n, u):
    lat, lon, alt = TOWER.to_geodetic(e, n, u)
    assert TOWER.to_enu(lat, lon, alt) == pytest.approx((e, n, u), abs=1e-3)


def test_ecef_round_trip():
    lat, lon, alt = ecef_to_geodetic(geodetic_to_ecef(35.3, 139.3, -20.0))
    assert (lat, lon, alt) == pytest.approx((35.3, 139.3, -20.0), abs=1e-8)


@pytest.mark.parametrize('lat, lon', [(91, 0), (0, 181), (math.nan, 0)])
def test_bad_coordinates_raise(lat, lon):
    with pytest.raises(GeodesyError):
        Datum(lat, lon)


def test_datum_from_spec():
    assert datum_from_spec('tower') is TOWER
    assert datum_from_spec({'lat': 35.0, 'lon': 139.0}).lat_deg == 35.0
    with pytest.raises(GeodesyError, match="unknown datum 'pier'"):
        datum_from_spec('pier')
    with pytest.raises(GeodesyError, match='must be numbers'):
        datum_from_spec({'lat': 'north', 'lon': 139.0})
