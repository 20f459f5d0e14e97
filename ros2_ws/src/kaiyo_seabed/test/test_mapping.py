"""Tier 1: classes, isoyake index, georeferencing and the survey grid (no ROS)."""
import json
import math

import cv2
import numpy as np
import pytest

from kaiyo_common.geodesy import TOWER
from kaiyo_seabed.classes import (
    CLASS_NAMES,
    CoverError,
    cover_class,
    cover_counts,
    cover_fractions,
    isoyake_index,
)
from kaiyo_seabed.mapping import (
    CameraIntrinsics,
    CameraMount,
    GeoreferenceError,
    GridError,
    SurveyGrid,
    VehiclePose,
    georeference_frame,
    polygon_area,
    project_mask_to_cells,
)


def test_class_table_matches_issue():
    assert CLASS_NAMES == {0: 'unknown', 1: 'water', 2: 'seaweed', 3: 'coralline', 4: 'bare',
                           5: 'urchin', 6: 'other'}


@pytest.mark.parametrize('f, expected', [
    (0.0, '0'), (0.001, '<5'), (0.0499, '<5'), (0.05, '5-25'), (0.2499, '5-25'),
    (0.25, '25-50'), (0.5, '50-75'), (0.75, '75-100'), (0.999, '75-100'), (1.0, '100')])
def test_cover_class_levels(f, expected):
    assert cover_class(f) == expected


def test_cover_class_rejects_out_of_range():
    with pytest.raises(CoverError, match='seaweed fraction'):
        cover_class(1.5)
    with pytest.raises(CoverError):
        cover_class(float('nan'))


def test_isoyake_index_extremes_and_urchins():
    assert isoyake_index(1.0, 0.0, 0.0) == 0.0
    assert isoyake_index(0.0, 0.7, 0.3) == 1.0
    assert isoyake_index(0.0, 0.7, 0.3, 50.0) == 1.0
    half = isoyake_index(0.5, 0.5, 0.0)
    assert half == pytest.approx(0.5)
    # urchins raise a vegetated bed's index, monotonically, never past W_URCHIN on a full bed
    a, b = isoyake_index(1.0, 0, 0, 1.0), isoyake_index(1.0, 0, 0, 10.0)
    assert 0.0 < a < b < 0.5
    assert isoyake_index(1.0, 0, 0, 2.0) == pytest.approx(0.25)   # D_HALF: grazing term 1/2
    assert math.isnan(isoyake_index(0.0, 0.0, 0.0))
    with pytest.raises(CoverError, match='urchin density'):
        isoyake_index(0.5, 0.5, 0.0, -1.0)
    with pytest.raises(CoverError, match='coralline'):
        isoyake_index(0.5, 1.5, 0.0)


def test_cover_fractions_from_mask():
    mask = np.array([[1, 1, 2, 2], [3, 4, 5, 6]], np.uint8)
    cover, seabed = cover_fractions(cover_counts(mask))
    assert cover.sum() == pytest.approx(1.0)
    assert cover[1] == pytest.approx(0.25)
    assert seabed[1] == 0.0 and seabed[2] == pytest.approx(2 / 6)
    with pytest.raises(CoverError, match='ids are 0..6'):
        cover_counts(np.array([[9]], np.uint8))


# --------------------------------------------------------------------------------------------
K640 = CameraIntrinsics.from_hfov(640, 480, 90.0)     # f = 320 px


def test_downward_footprint_at_known_pose():
    # yaw 0: bow east; downward camera: image top = east, image right = south
    pose = VehiclePose.from_yaw(10.3, 20.7, -15.0, 0.0)
    geo = georeference_frame(pose, 2.0, K640)
    assert geo.seabed_z == pytest.approx(-17.0)
    # footprint 2 m * 640/320 = 4 m across (north-south), 3 m along (east-west)
    xs, ys = geo.footprint[:, 0], geo.footprint[:, 1]
    assert xs.min() == pytest.approx(10.3 - 1.5) and xs.max() == pytest.approx(10.3 + 1.5)
    assert ys.min() == pytest.approx(20.7 - 2.0) and ys.max() == pytest.approx(20.7 + 2.0)
    assert geo.area_m2 == pytest.approx(12.0)
    x, y, ok = geo.project(np.array([320.0, 640.0]), np.array([0.0, 240.0]))
    assert ok.all()
    assert (x[0], y[0]) == pytest.approx((11.8, 20.7))      # top centre: 1.5 m ahead (east)
    assert (x[1], y[1]) == pytest.approx((10.3, 18.7))      # right edge: 2 m to starboard
    assert geo.metres_per_pixel() == pytest.approx(2.0 / 320.0)


def test_yaw_and_tilt_move_the_footprint():
    # heading north (yaw pi/2): image top = north
    geo = georeference_frame(VehiclePose.from_yaw(0, 0, -10, math.pi / 2), 2.0, K640)
    x, y, _ = geo.project(np.array([320.0]), np.array([0.0]))
    assert (x[0], y[0]) == pytest.approx((0.0, 1.5), abs=1e-9)
    # camera pitched 45 deg down from forward: the centre ray hits 2 m ahead
    geo = georeference_frame(VehiclePose.from_yaw(0, 0, -10, 0.0), 2.0, K640,
                             CameraMount.tilted(45.0))
    x, y, _ = geo.project(np.array([320.0]), np.array([240.0]))
    assert (x[0], y[0]) == pytest.approx((2.0, 0.0), abs=1e-9)


def test_georeference_rejects_bad_input():
    pose = VehiclePose.from_yaw(0, 0, -10, 0)
    with pytest.raises(GeoreferenceError, match='altitude'):
        georeference_frame(pose, float('nan'), K640)
    with pytest.raises(GeoreferenceError, match='altitude'):
        georeference_frame(pose, -1.0, K640)
    with pytest.raises(GeoreferenceError, match='horizon'):
        georeference_frame(pose, 2.0, K640, CameraMount.tilted(-60.0))  # looking up
    with pytest.raises(GeoreferenceError, match='fx'):
        CameraIntrinsics(0.0, 1.0, 1.0, 1.0, 10, 10)
    with pytest.raises(GeoreferenceError, match='quaternion'):
        georeference_frame(VehiclePose(0, 0, -10, (0, 0, 0, 0)), 2.0, K640)


def test_synthetic_frame_lands_on_the_right_cells():
    """A frame at a known pose/altitude: the seaweed half and bare half go to the right cells."""
    pose = VehiclePose.from_yaw(10.5, 20.5, -15.0, 0.0)   # centre of cell (20, 10)
    geo = georeference_frame(pose, 2.0, K640)
    mask = np.full((480, 640), 4, np.uint8)       # bare...
    mask[:240] = 2                                # ...seaweed ahead (east half of footprint)
    obs = project_mask_to_cells(geo, mask, 1.0, step_px=8)
    # footprint x 9.0..12.0, y 18.5..22.5 -> cols 9..11, rows 18..22
    assert {r for r, _ in obs} == {18, 19, 20, 21, 22}
    assert {c for _, c in obs} == {9, 10, 11}
    for (_r, c), o in obs.items():
        if c == 11:       # x 11..12: entirely ahead -> seaweed
            assert o.seaweed == pytest.approx(1.0) and o.isoyake_index == pytest.approx(0.0)
        if c == 9:        # x 9..10: entirely behind -> bare
            assert o.bare == pytest.approx(1.0) and o.isoyake_index == pytest.approx(1.0)
        if c == 10:       # x 10..11: split at x = 10.5
            assert o.seaweed == pytest.approx(0.5, abs=0.05)
    grid = SurveyGrid(1.0)
    grid.add_cells(obs)
    assert grid.stats(20, 11).mean['seaweed'] == pytest.approx(1.0)
    assert grid.stats(20, 8) is None


def test_urchin_density_per_cell():
    geo = georeference_frame(VehiclePose.from_yaw(0.5, 0.5, -10.0, 0.0), 2.0, K640)
    mask = np.full((480, 640), 3, np.uint8)
    # 3 urchins at the image centre (cell (0, 0), fully covered: 1 m^2)
    obs = project_mask_to_cells(geo, mask, 1.0, [(320, 240)] * 3, step_px=4)
    assert obs[(0, 0)].urchin_density_per_m2 == pytest.approx(3.0, rel=0.05)
    assert obs[(1, 0)].urchin_density_per_m2 == 0.0


def test_grid_mean_and_standard_error():
    grid = SurveyGrid(1.0)
    square = [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)]
    for sw in (0.2, 0.4, 0.6):
        grid.add_frame(square, {'seaweed': sw, 'coralline': 1 - sw, 'bare': 0.0}, 1.0, 0.5)
    st = grid.stats(0, 0)
    assert st.frame_count == 3
    assert st.mean['seaweed'] == pytest.approx(0.4)
    assert st.se['seaweed'] == pytest.approx(0.2 / math.sqrt(3))
    assert st.se['urchin_density_per_m2'] == 0.0
    grid.add_frame([(5, 5), (7, 5), (7, 7), (5, 7)], np.array([0, 0, 1, 0, 0, 0, 0.0]))
    st = grid.stats(5, 5)             # centre (5.5, 5.5) inside
    assert st.frame_count == 1 and math.isnan(st.se['seaweed'])
    assert math.isnan(st.mean['urchin_density_per_m2'])     # NaN density is skipped
    assert grid.stats(6, 6) is not None and grid.stats(7, 7) is None
    arr = grid.to_arrays()
    assert (arr.width, arr.height, arr.origin_x, arr.origin_y) == (7, 7, 0.0, 0.0)
    assert arr.frame_count[0] == 3 and arr.frame_count[5 * 7 + 5] == 1
    assert math.isnan(arr.mean['seaweed'][1])


def test_grid_rejects_bad_input():
    with pytest.raises(GridError, match='cell size'):
        SurveyGrid(0.0)
    grid = SurveyGrid()
    with pytest.raises(GridError, match='footprint'):
        grid.add_frame([(0, 0), (1, 1)], {'seaweed': 0.5, 'coralline': 0.5, 'bare': 0})
    with pytest.raises(GridError, match='seaweed cover'):
        grid.add_frame([(0, 0), (1, 0), (1, 1)], {'seaweed': 2.0, 'coralline': 0, 'bare': 0})
    with pytest.raises(GridError, match='lacks key'):
        grid.add_frame([(0, 0), (1, 0), (1, 1)], {'seaweed': 0.5})
    assert len(grid) == 0


def test_negative_coordinates_and_geojson(tmp_path):
    grid = SurveyGrid(2.0)
    grid.add_frame([(-3.9, -3.9), (-2.1, -3.9), (-2.1, -2.1), (-3.9, -2.1)],
                   {'seaweed': 0.3, 'coralline': 0.7, 'bare': 0.0}, float('nan'), 0.7)
    assert [(c.row, c.col) for c in grid.cells()] == [(-2, -2)]
    path = grid.write_geojson(tmp_path / 'map.geojson', TOWER, {'vehicle': 'hover_auv'})
    doc = json.loads(path.read_text())
    feat = doc['features'][0]
    assert feat['properties']['cover_class'] == '25-50'
    assert feat['properties']['urchin_density_per_m2_mean'] is None
    ring = feat['geometry']['coordinates'][0]
    lat0, lon0, _ = TOWER.to_geodetic(-4.0, -4.0)
    assert ring[0] == pytest.approx([lon0, lat0], abs=1e-8)
    assert ring[0] == ring[-1] and len(ring) == 5
    # south-west corner is south-west of the tower
    assert lat0 < TOWER.lat_deg and lon0 < TOWER.lon_deg
    assert doc['properties']['vehicle'] == 'hover_auv'


def sq(x, y):
    return [(x + .1, y + .1), (x + .9, y + .1), (x + .9, y + .9), (x + .1, y + .9)]


def test_png_is_north_up(tmp_path):
    grid = SurveyGrid(1.0)
    grid.add_frame(sq(0, 0), {'seaweed': 1.0, 'coralline': 0, 'bare': 0}, 0.0, 0.0)
    grid.add_frame(sq(0, 2), {'seaweed': 0.0, 'coralline': 1, 'bare': 0}, 0.0, 1.0)
    img = grid.render_png('isoyake_index', px_per_cell=4)
    assert img.shape == (12, 4, 4)
    assert img[1, 1, 3] == 255 and img[5, 1, 3] == 0    # middle row unobserved: transparent
    # the north cell (barren, 1.0) is on top and brighter (viridis yellow) than the south one
    assert int(img[1, 1, :3].sum()) > int(img[10, 1, :3].sum())
    path = grid.write_png(tmp_path / 'm.png')
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape == (48, 16, 4)
    with pytest.raises(GridError, match='unknown quantity'):
        grid.render_png('kelp')


def test_polygon_area():
    assert polygon_area([(0, 0), (2, 0), (2, 3), (0, 3)]) == pytest.approx(6.0)
    assert polygon_area([(0, 0), (1, 1)]) == 0.0


def test_cell_values_are_weighted_by_the_area_each_frame_saw():
    from kaiyo_seabed.mapping import CellObservation
    g = SurveyGrid(1.0)
    # a full view of the cell without urchins, then a frame whose edge clips 0.02 m^2 of it
    # and holds one urchin: the cell has 1 urchin in 1.02 m^2, not (0 + 50) / 2 per m^2
    g.add_cells({(0, 0): CellObservation(0.0, 1.0, 0.0, 0.0, 1.0, 1.0)})
    g.add_cells({(0, 0): CellObservation(1.0, 0.0, 0.0, 50.0, 0.0, 0.02)})
    c = next(iter(g.cells()))
    assert c.mean['urchin_density_per_m2'] == pytest.approx(1.0 / 1.02)
    assert c.mean['seaweed'] == pytest.approx(0.02 / 1.02)
    assert c.count['seaweed'] == 2 and math.isfinite(c.se['seaweed'])
    # without areas (add_frame, old callers): the plain mean and standard error
    h = SurveyGrid(1.0)
    h.add_cells({(0, 0): CellObservation(0.0, 1.0, 0.0, 0.0)})
    h.add_cells({(0, 0): CellObservation(1.0, 0.0, 0.0, 2.0)})
    c = next(iter(h.cells()))
    assert c.mean['urchin_density_per_m2'] == pytest.approx(1.0)
    assert c.se['urchin_density_per_m2'] == pytest.approx(1.0)     # std sqrt(2) / sqrt(2)
