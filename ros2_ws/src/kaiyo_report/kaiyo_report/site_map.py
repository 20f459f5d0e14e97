"""Map context for reports and the live view: the tower and the Hiratsuka coastline (pure).

HIRATSUKA_COAST is a small hand-made polyline of the shore from Oiso (west) past the
Hiratsuka new fishing port (平塚新港) and the Sagami River mouth to Chigasaki (east), drawn
from the general shape of the coast. It is APPROXIMATE (errors of the order of 100 m) and
is only there so readers can orient themselves; it is not survey data and must not be used
for navigation. Replace it with a surveyed shoreline (e.g. from the GSI base map) when one
is available offline.
"""
from __future__ import annotations

from kaiyo_common.geodesy import TOWER, Datum

#: (lat deg, lon deg), west to east; approximate (see module docstring).
HIRATSUKA_COAST = (
    (35.3098, 139.3150), (35.3118, 139.3250), (35.3138, 139.3350), (35.3150, 139.3410),
    # new fishing port breakwaters, drawn as a small bump
    (35.3152, 139.3432), (35.3140, 139.3440), (35.3138, 139.3462), (35.3150, 139.3472),
    (35.3160, 139.3480),
    (35.3178, 139.3530), (35.3186, 139.3560),   # Sagami River mouth near here
    (35.3198, 139.3620), (35.3215, 139.3720), (35.3230, 139.3820),
)

#: Named places for labels: (ja, en, lat, lon).
PLACES = (
    ('平塚新港', 'Hiratsuka new fishing port', 35.3150, 139.3455),
    ('相模川', 'Sagami River', 35.3200, 139.3560),
)


def coast_enu(datum: Datum = TOWER) -> list[tuple[float, float]]:
    """The coastline as (east, north) metres from `datum`."""
    return [datum.to_enu(lat, lon)[:2] for lat, lon in HIRATSUKA_COAST]


def tower_enu(datum: Datum = TOWER) -> tuple[float, float]:
    """The tower as (east, north) metres from `datum` ((0, 0) when the datum is the tower)."""
    return datum.to_enu(TOWER.lat_deg, TOWER.lon_deg)[:2]


def places_enu(datum: Datum = TOWER) -> list[tuple[str, str, float, float]]:
    return [(ja, en, *datum.to_enu(lat, lon)[:2]) for ja, en, lat, lon in PLACES]
