"""Survey reports: statistics, inputs (results.json and MCAP), outputs, and the page itself
rendered in headless Chromium (texts, map, gallery, zero network requests, screenshot)."""
import csv
import json
import math
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from geometry_msgs.msg import Point32
from rclpy.serialization import serialize_message
from sensor_msgs.msg import Image

from kaiyo_interfaces.msg import ImageBox, SeabedObservation, SurveyMap
from kaiyo_report import browser
from kaiyo_report.bag import BagWriter
from kaiyo_report.demo_data import make_results
from kaiyo_report.report import Stat, build_report, pick_gallery, verdict
from kaiyo_report.survey import Frame, ReportError, image_msg_to_bgr, load_results

KAIYO = Path(sys.executable).with_name('kaiyo')
# Chromium is a declared system package (scripts/system-packages.txt): its absence fails
# these tests unless KAIYO_SKIP_BROWSER=1 says so explicitly.
needs_chromium = pytest.mark.skipif(
    os.environ.get('KAIYO_SKIP_BROWSER') == '1' and not browser.available(),
    reason='KAIYO_SKIP_BROWSER=1 and no Chromium')


@pytest.fixture(scope='module')
def surveys(tmp_path_factory):
    base = tmp_path_factory.mktemp('surveys')
    now = make_results(base / 'now', n_frames=60, seed=0)
    prev = make_results(base / 'prev', n_frames=60, seed=1, barren_shift_m=15.0,
                        start=datetime(2025, 6, 3, 1, 0, tzinfo=UTC))
    return base, now, prev


@pytest.fixture(scope='module')
def report(surveys):
    base, now, prev = surveys
    prev_report = build_report([prev], base / 'prev_report', site='St.1')
    result = build_report([now], base / 'report', compare=str(prev_report.out_dir),
                          site='St.1', masks_dir=str(now.parent / 'masks'))
    return result, prev_report


def test_stat_mean_and_standard_error():
    s = Stat.of([0.1, 0.2, 0.3, float('nan'), None])
    assert s.n == 3 and s.mean == pytest.approx(0.2)
    assert s.se == pytest.approx(0.1 / math.sqrt(3))
    assert math.isnan(Stat.of([0.5]).se) and Stat.of([]).n == 0


def test_verdict_needs_twice_the_standard_error():
    assert verdict(0.10, 0.04) == 'up'
    assert verdict(-0.10, 0.04) == 'down'
    assert verdict(0.05, 0.04) == 'same'
    assert verdict(0.05, float('nan')) == 'unknown'


def test_gallery_spans_healthy_to_barren():
    frames = [Frame(f'{i}', isoyake_index=i / 10, image_ref=('file', 'x')) for i in range(11)]
    frames.append(Frame('bad', usable=False, isoyake_index=0.5, image_ref=('file', 'x')))
    picks = pick_gallery(frames, 3)
    assert [frames[i].isoyake_index for i in picks] == [0.0, 0.5, 1.0]
    assert pick_gallery(frames, 0) == []


def test_outputs_hold_every_frame_and_the_grid(report, surveys):
    result, _ = report
    out = result.out_dir
    assert {p.name for p in out.iterdir()} >= {'report.html', 'frames.csv', 'cells.csv',
                                               'cells.geojson', 'report.json'}
    rows = list(csv.DictReader(open(out / 'frames.csv', encoding='utf-8')))
    assert len(rows) == 60                      # used, rejected and unreadable all listed
    unreadable = [r for r in rows if r['reason'] == 'truncated JPEG file']
    assert len(unreadable) == 1 and unreadable[0]['usable'] == '0'
    assert result.frames_used + result.frames_rejected == 60
    cells = list(csv.DictReader(open(out / 'cells.csv', encoding='utf-8')))
    gj = json.loads((out / 'cells.geojson').read_text())
    assert len(gj['features']) == len(cells) > 50
    lon, lat = gj['features'][0]['geometry']['coordinates'][0][0]
    assert abs(lat - 35.305) < 0.002 and abs(lon - 139.345) < 0.002   # near the tower
    # the bed is in the west, the barren in the east
    west = [float(c['isoyake_index_mean']) for c in cells if float(c['x_center_m']) < 30]
    east = [float(c['isoyake_index_mean']) for c in cells if float(c['x_center_m']) > 60]
    assert np.mean(west) < 0.3 < 0.7 < np.mean(east)
    summary = json.loads((out / 'report.json').read_text())['summary']
    assert summary['vehicles'] == ['hover_auv']
    assert summary['frames_rejected'] == result.frames_rejected
    assert 0.0 < summary['stats']['seaweed']['se'] < 0.1


def test_trend_against_the_previous_report(report):
    result, _ = report
    html = result.html.read_text(encoding='utf-8')
    assert 'id="trend"' in html
    assert '前回の調査との比較' in html and 'Change since the previous survey' in html
    # the barren edge moved 15 m west since last year: less seaweed, clearly
    assert 'seaweed cover changed by -' in html and 'decreased' in html
    # the change map: shared cells, mostly worse (red) where the barren advanced
    assert 'id="change-map"' in html
    changes = [float(x) for x in re.findall(r'<title>([+-][0-9.]+)</title>', html)]
    assert len(changes) > 20 and sum(1 for d in changes if d > 0.1) > len(changes) / 4


def test_plain_photos_without_position_or_time(surveys, tmp_path):
    """Diver photos analysed from a folder: no stamp, pose or footprint."""
    _, now, _ = surveys
    doc = json.loads(now.read_text())
    for entry in doc['images']:
        for key in ('stamp', 'pose', 'footprint', 'vehicle'):
            entry.pop(key, None)
    doc.pop('datum')
    plain = now.parent / 'plain.json'
    plain.write_text(json.dumps(doc))
    result = build_report([plain], tmp_path / 'out', lang='both')
    html = result.html.read_text(encoding='utf-8')
    assert '画像の位置情報がないため' in html and 'id="detail-map"' not in html
    assert 'ウニの密度（個/m²）は計算できません' in html
    assert result.frames_used > 40
    summary = json.loads((tmp_path / 'out' / 'report.json').read_text())['summary']
    assert summary['start'] is None and summary['cells'] == 0


def test_bad_inputs_name_the_file_and_entry(tmp_path):
    with pytest.raises(ReportError, match='no such file'):
        build_report([tmp_path / 'missing.json'], tmp_path / 'o')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [')
    with pytest.raises(ReportError, match='bad.json: not valid JSON'):
        load_results(bad)
    bad.write_text('{"frames": []}')
    with pytest.raises(ReportError, match='no "images" list'):
        load_results(bad)
    entry = {'image': 'a.jpg', 'cover': {}, 'seabed_cover': {'seaweed': 0.5}}
    bad.write_text(json.dumps({'images': [{'image': 'x.jpg', 'error': 'unreadable'}, entry,
                                          {'image': 'b.jpg', 'cover': {}}]}))
    with pytest.raises(ReportError, match=r'images\[2\]: "seabed_cover" missing'):
        load_results(bad)
    entry['seabed_cover']['seaweed'] = 1.7
    bad.write_text(json.dumps({'images': [entry]}))
    with pytest.raises(ReportError, match=r'images\[0\].seabed_cover.seaweed: 1.7 is outside'):
        load_results(bad)
    entry['seabed_cover']['seaweed'] = 0.5
    entry['cover_class'] = '30'
    bad.write_text(json.dumps({'images': [entry]}))
    with pytest.raises(ReportError, match='cover_class'):
        load_results(bad)
    with pytest.raises(ReportError, match="lang 'fr'"):
        build_report([bad], tmp_path / 'o', lang='fr')
    with pytest.raises(ReportError, match='cell size'):
        build_report([bad], tmp_path / 'o', cell_size_m=0.0)
    (tmp_path / 'notes.txt').write_text('x')
    with pytest.raises(ReportError, match='not a results.json'):
        build_report([tmp_path / 'notes.txt'], tmp_path / 'o')


def test_cli_reports_bad_input_with_exit_code_2(tmp_path):
    p = subprocess.run([str(KAIYO), 'report', str(tmp_path / 'nope.json'), '--out',
                        str(tmp_path / 'o')], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert 'kaiyo report:' in p.stderr and 'nope.json: no such file' in p.stderr


def _observation(i, x):
    o = SeabedObservation(vehicle='hover_auv', cover_class='25-50', urchin_count=1)
    o.image_stamp.sec = 1_780_000_000 + i
    o.vehicle_pose.position.x, o.vehicle_pose.position.y = x, -30.0
    o.footprint = [Point32(x=x - 1, y=-31.0), Point32(x=x + 1, y=-31.0),
                   Point32(x=x + 1, y=-29.0), Point32(x=x - 1, y=-29.0)]
    o.footprint_area_m2 = 4.0
    o.urchins = [ImageBox(x=4.0, y=4.0, width=8.0, height=8.0, score=0.9)]
    o.urchin_density_per_m2 = 0.25
    sw = 0.8 - 0.1 * i
    o.seabed_cover[2], o.seabed_cover[3], o.seabed_cover[4] = sw, 1 - sw - 0.1, 0.1
    o.isoyake_index = 1 - sw
    o.quality.usable = i != 3
    o.quality.reason = '' if i != 3 else 'dark'
    return o


def test_report_from_a_survey_recording(tmp_path):
    w = BagWriter(tmp_path / 'survey')
    w.add_topic('/hover_auv/seabed/observations', 'kaiyo_interfaces/msg/SeabedObservation')
    w.add_topic('/hover_auv/camera/image_raw', 'sensor_msgs/msg/Image')
    w.add_topic('/hover_auv/seabed/map', 'kaiyo_interfaces/msg/SurveyMap')
    t0 = 1_780_000_000 * 10**9
    for i in range(6):
        img = Image(height=24, width=32, encoding='rgb8', step=96)
        img.header.stamp.sec = 1_780_000_000 + i
        img.data = bytes([200, 10 * i, 0]) * (24 * 32)
        w.write('/hover_auv/camera/image_raw', serialize_message(img), t0 + i * 10**9)
        w.write('/hover_auv/seabed/observations', serialize_message(_observation(i, 2.0 * i)),
                t0 + i * 10**9 + 5)
    # the analyser's overlay of frame 5 (classes already painted) wins over the raw image
    w.add_topic('/hover_auv/seabed/overlay', 'sensor_msgs/msg/Image')
    over = Image(height=24, width=32, encoding='bgr8', step=96)
    over.header.stamp.sec = 1_780_000_000 + 5
    over.data = bytes([0, 255, 0]) * (24 * 32)
    w.write('/hover_auv/seabed/overlay', serialize_message(over), t0 + 5 * 10**9 + 9)
    w.write('/hover_auv/seabed/map', serialize_message(SurveyMap(cell_size_m=2.0)), t0 + 10**10)
    w.close()
    result = build_report([tmp_path / 'survey'], tmp_path / 'out', lang='ja', gallery_size=3)
    assert (result.frames_used, result.frames_rejected) == (5, 1)
    summary = json.loads((tmp_path / 'out' / 'report.json').read_text())['summary']
    assert summary['cell_size_m'] == 2.0                        # from the recorded SurveyMap
    assert summary['rejected_reasons'] == {'dark': 1}
    assert summary['stats']['urchin_density_per_m2']['mean'] == pytest.approx(0.25)
    html = result.html.read_text(encoding='utf-8')
    assert html.count('<figure class="frame">') == 3              # pixels came from the bag
    assert 'Seabed survey report' not in html                     # Japanese only


def test_gallery_prefers_the_analyser_overlay(tmp_path):
    from kaiyo_report.survey import load_bag, load_images
    test_report_from_a_survey_recording(tmp_path)
    survey = load_bag(tmp_path / 'survey')
    frames = [f for f in survey.frames if f.image.endswith(str(1_780_000_005 * 10**9))] + \
        [f for f in survey.frames if f.image.endswith(str(1_780_000_000 * 10**9))]
    pixels = load_images(frames)
    assert frames[0].overlay_drawn and pixels[0][0, 0].tolist() == [0, 255, 0]
    assert not frames[1].overlay_drawn and pixels[1][0, 0].tolist() == [0, 0, 200]  # rgb8 -> bgr


def test_image_messages_convert_to_bgr():
    img = Image(height=1, width=2, encoding='rgb8', step=6, data=bytes([1, 2, 3, 4, 5, 6]))
    assert image_msg_to_bgr(img)[0, 0].tolist() == [3, 2, 1]
    mono = Image(height=1, width=2, encoding='mono8', step=2, data=bytes([7, 9]))
    assert image_msg_to_bgr(mono)[0, 1].tolist() == [9, 9, 9]
    with pytest.raises(ReportError, match='encoding'):
        image_msg_to_bgr(Image(height=1, width=1, encoding='bayer_rggb8', step=1, data=b'\0'))


@needs_chromium
def test_request_detector_sees_an_external_load(tmp_path):
    page = tmp_path / 'leaky.html'
    page.write_text('<!doctype html><img src="http://127.0.0.1:9/x.png">'
                    '<script>fetch("https://example.invalid/a").catch(()=>0)</script>')
    with browser.Chromium() as b:
        p = b.open(page.as_uri())
        p.wait_for('performance.getEntriesByType("resource").length >= 1 || true')
        b.pump(0.3)
        found = browser.external_requests(p.requests)
    assert 'http://127.0.0.1:9/x.png' in found


@needs_chromium
def test_report_renders_offline_in_chromium(report, tmp_path):
    result, _ = report
    with browser.Chromium(width=1100, height=900) as b:
        page = b.open(result.html.as_uri())
        text = page.evaluate('document.body.innerText')
        assert '海底調査レポート' in text and 'Seabed survey report' in text
        assert '海藻' in text and 'Seaweed' in text and '個/m²' in text and 'per m²' in text
        n_cells = len(list(csv.DictReader(open(result.out_dir / 'cells.csv'))))
        assert page.evaluate('document.querySelectorAll("#detail-map rect.cell").length') == n_cells
        assert page.evaluate('!!document.querySelector("#overview-map #tower")')
        assert page.evaluate('document.querySelectorAll("#overview-map polyline").length') == 1
        loaded = page.evaluate('Array.from(document.querySelectorAll("#gallery img"))'
                               '.filter(i => i.complete && i.naturalWidth > 0).length')
        assert loaded == 6
        page.evaluate("kaiyoLang('only-en')")
        assert '海底調査レポート' not in page.evaluate('document.body.innerText')
        page.evaluate("kaiyoLang('both')")
        shot = page.screenshot(tmp_path / 'report.png')
        b.pump(0.2)
        assert browser.external_requests(page.requests) == [], page.requests
        assert page.evaluate('window.kaiyoBlocked') == []
        assert page.console == []
    png = shot.read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 50_000
